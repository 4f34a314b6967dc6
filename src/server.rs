//! Connections: the accept loop that serves the router through hyper under the configured
//! limits, and a guard that reads each connection's requests as hyper frames them, to refuse
//! what hyper's request heads no longer show.

use std::collections::BTreeSet;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::api;

/// Accepts connections until `stop`, each served by hyper under `limits`, then lets the requests
/// in flight finish (for at most one request timeout).
pub async fn serve(
    listener: TcpListener,
    app: axum::Router,
    limits: api::Limits,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) -> std::io::Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use hyper_util::service::TowerToHyperService;

    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    // The header timer also runs while a kept-alive connection waits for its next request, so
    // it closes idle connections as well as slow ones.
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.map_err(std::io::Error::other)?,
            _ = &mut stop => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors, or a connection reset before it was accepted:
                    // the listener itself is fine; wait a little rather than spin.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        let _ = stream.set_nodelay(true);
        let guarded = FramingGuard::new(stream);
        let framing = guarded.report.clone();
        let requests = Arc::new(AtomicU64::new(0));
        let service = tower::ServiceExt::map_request(
            app.clone(),
            move |mut req: axum::extract::Request<hyper::body::Incoming>| {
                // The peer address reaches handlers for the audit log of invite acceptances.
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                let index = requests.fetch_add(1, Ordering::Relaxed);
                if framing.was_doubly_framed(index) {
                    req.extensions_mut().insert(api::DoublyFramed);
                }
                req
            },
        );
        let connection = graceful
            .watch(http.serve_connection(TokioIo::new(guarded), TowerToHyperService::new(service)));
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.request_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight at shutdown were abandoned");
    }
    Ok(())
}

/// A connection's bytes on their way to hyper, read as hyper frames them. hyper serves a request
/// that announces its body by both `Content-Length` and `Transfer-Encoding` by the latter alone
/// and drops the former from the head it hands on (RFC 9112 6.1 allows that, or refusal): this
/// guard notes such requests, by their place on the connection, so that they can be refused.
struct FramingGuard<IO> {
    io: IO,
    framing: Framing,
    report: Arc<FramingReport>,
}

impl<IO> FramingGuard<IO> {
    fn new(io: IO) -> Self {
        FramingGuard {
            io,
            framing: Framing::default(),
            report: Arc::default(),
        }
    }
}

/// Which requests of a connection (0 for the first) announced their body twice.
#[derive(Debug, Default)]
struct FramingReport(Mutex<BTreeSet<u64>>);

impl FramingReport {
    fn was_doubly_framed(&self, index: u64) -> bool {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&index)
    }
}

impl<IO: AsyncRead + Unpin> AsyncRead for FramingGuard<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            let report = &this.report;
            this.framing.feed(&buf.filled()[before..], |index| {
                report
                    .0
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .insert(index);
            });
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for FramingGuard<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

/// Heads (and chunk-size lines, and trailers) longer than this are hyper's to refuse; the guard
/// stops reading the connection.
const MAX_HEAD_BYTES: usize = 64 * 1024;

/// Where a connection's byte stream is, and how many request heads it has read.
#[derive(Debug, Default)]
struct Framing {
    state: State,
    heads: u64,
}

#[derive(Debug)]
enum State {
    Head(Vec<u8>),
    /// A body of `Content-Length` bytes, this many left.
    Fixed(u64),
    ChunkSize(Vec<u8>),
    /// A chunk's data and the CRLF that ends it, this many bytes left.
    ChunkData(u64),
    Trailers(Vec<u8>),
    /// Bytes hyper will refuse: it serves nothing after them, and the guard reads no further.
    Lost,
}

impl Default for State {
    fn default() -> Self {
        State::Head(Vec::new())
    }
}

/// What a parser made of the bytes gathered so far: `None` when they are malformed.
type Parsed<T> = Option<httparse::Status<(usize, T)>>;

impl Framing {
    /// Reads `bytes`, calling `doubly_framed(index)` for each request head (0 for the first on
    /// the connection) that has both `Content-Length` and `Transfer-Encoding`.
    fn feed(&mut self, mut bytes: &[u8], mut doubly_framed: impl FnMut(u64)) {
        while !bytes.is_empty() {
            let (taken, next) = match &mut self.state {
                State::Lost => return,
                State::Head(head) => match gather(head, bytes, parse_head) {
                    (taken, Some(Some((both, body)))) => {
                        if both {
                            doubly_framed(self.heads);
                        }
                        self.heads += 1;
                        (taken, Some(body))
                    }
                    (taken, Some(None)) => (taken, Some(State::Lost)),
                    (taken, None) => (taken, None),
                },
                State::Fixed(left) | State::ChunkData(left) => {
                    let taken = bytes
                        .len()
                        .min(usize::try_from(*left).unwrap_or(usize::MAX));
                    *left -= taken as u64;
                    let next = match (*left, &self.state) {
                        (0, State::Fixed(_)) => Some(State::Head(Vec::new())),
                        (0, _) => Some(State::ChunkSize(Vec::new())),
                        _ => None,
                    };
                    (taken, next)
                }
                State::ChunkSize(line) => {
                    match gather(line, bytes, |line| httparse::parse_chunk_size(line).ok()) {
                        (taken, Some(Some(0))) => (taken, Some(State::Trailers(Vec::new()))),
                        (taken, Some(Some(size))) => {
                            (taken, Some(State::ChunkData(size.saturating_add(2))))
                        }
                        (taken, Some(None)) => (taken, Some(State::Lost)),
                        (taken, None) => (taken, None),
                    }
                }
                State::Trailers(trailers) => match gather(trailers, bytes, end_of_trailers) {
                    (taken, Some(_)) => (taken, Some(State::Head(Vec::new()))),
                    (taken, None) => (taken, None),
                },
            };
            if let Some(next) = next {
                self.state = next;
            }
            bytes = &bytes[taken..];
        }
    }
}

/// Adds `bytes` to `gathered` and parses it: how many of `bytes` were used, and what was parsed
/// (`None` until it is complete; `Some(None)` when it is malformed or too long).
fn gather<T>(
    gathered: &mut Vec<u8>,
    bytes: &[u8],
    parse: impl FnOnce(&[u8]) -> Parsed<T>,
) -> (usize, Option<Option<T>>) {
    let before = gathered.len();
    gathered.extend_from_slice(bytes);
    match parse(gathered) {
        Some(httparse::Status::Complete((used, value))) => {
            gathered.clear();
            (used - before, Some(Some(value)))
        }
        Some(httparse::Status::Partial) if gathered.len() <= MAX_HEAD_BYTES => (bytes.len(), None),
        _ => (bytes.len(), Some(None)),
    }
}

/// A request head: whether it announces its body twice, and how its body is framed.
fn parse_head(head: &[u8]) -> Parsed<(bool, State)> {
    let mut headers = [httparse::EMPTY_HEADER; 128];
    let mut request = httparse::Request::new(&mut headers);
    let used = match request.parse(head).ok()? {
        httparse::Status::Complete(used) => used,
        httparse::Status::Partial => return Some(httparse::Status::Partial),
    };
    let mut lengths: Vec<u64> = Vec::new();
    let mut encodings: Vec<&[u8]> = Vec::new();
    for header in request.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            lengths.push(
                std::str::from_utf8(header.value)
                    .ok()?
                    .trim()
                    .parse()
                    .ok()?,
            );
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            encodings.push(header.value);
        }
    }
    let body = if let Some(last) = encodings.last() {
        // As hyper: chunked must be the final encoding, or the request is refused.
        let chunked = last
            .rsplit(|&b| b == b',')
            .next()
            .is_some_and(|coding| coding.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        if !chunked {
            return None;
        }
        State::ChunkSize(Vec::new())
    } else {
        match lengths.first() {
            Some(&length) if lengths.iter().any(|&l| l != length) => return None,
            Some(&length) if length > 0 => State::Fixed(length),
            _ => State::Head(Vec::new()),
        }
    };
    let both = !lengths.is_empty() && !encodings.is_empty();
    Some(httparse::Status::Complete((used, (both, body))))
}

/// The end of a chunked body's trailer section: the first empty line.
fn end_of_trailers(trailers: &[u8]) -> Parsed<()> {
    let end = if trailers.starts_with(b"\r\n") {
        Some(2)
    } else {
        trailers
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|at| at + 4)
    };
    Some(end.map_or(httparse::Status::Partial, |end| {
        httparse::Status::Complete((end, ()))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The indexes of the doubly framed requests in `stream`, fed in pieces of `piece` bytes,
    /// and how many heads were read.
    fn doubly_framed(stream: &[u8], piece: usize) -> (Vec<u64>, u64) {
        let mut framing = Framing::default();
        let mut found = Vec::new();
        for part in stream.chunks(piece) {
            framing.feed(part, |index| found.push(index));
        }
        (found, framing.heads)
    }

    const PLAIN: &[u8] = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n";
    const SIZED: &[u8] =
        b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 27\r\n\r\nTransfer-Encoding: chunked\n";
    const CHUNKED: &[u8] =
        b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n\
        5;ext=1\r\nhello\r\n19\r\n\r\nContent-Length: 5\r\n\r\nab\r\n0\r\nX-Trailer: 1\r\n\r\n";
    const BOTH: &[u8] = b"POST /d HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\
        Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n";
    const BOTH_REVERSED: &[u8] = b"POST /e HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\
        content-length: 7\r\n\r\n0\r\n\r\n";

    #[test]
    fn only_requests_that_announce_their_body_twice_are_reported_wherever_they_stand() {
        let stream = [PLAIN, SIZED, CHUNKED, BOTH, PLAIN, BOTH_REVERSED, SIZED].concat();
        for piece in [1, 2, 3, 7, 64, stream.len()] {
            // Seven heads read: the bodies, whose bytes look like headers, were skipped whole.
            assert_eq!(
                doubly_framed(&stream, piece),
                (vec![3, 5], 7),
                "pieces of {piece}"
            );
        }
        assert_eq!(
            doubly_framed(&[PLAIN, SIZED, CHUNKED].concat(), 5),
            (vec![], 3)
        );
    }

    #[test]
    fn what_hyper_refuses_ends_the_reading() {
        // Not chunked last: hyper answers 400 and serves nothing after it.
        let refused = b"POST /f HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n";
        assert_eq!(
            doubly_framed(&[refused.as_slice(), BOTH].concat(), 4),
            (vec![], 0)
        );
        let mut framing = Framing::default();
        framing.feed(b"\x00\x01 nonsense\r\n\r\n", |_| panic!());
        assert!(matches!(framing.state, State::Lost));
    }
}
