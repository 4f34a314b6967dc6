//! What bounds a client's hold on the server: slow or idle connections are closed, a body that
//! never comes or a request that never ends is answered 503, and other clients do not notice.

use std::time::{Duration, Instant};

use roster::api::Limits;
use roster::store::StoreOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{BOOTSTRAP_KEY, TestServer};

const HEADER_TIMEOUT: Duration = Duration::from_secs(1);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);

async fn server(max_connections: usize) -> TestServer {
    TestServer::start_with(StoreOptions::default(), |settings| {
        settings.limits = Limits {
            request_timeout: REQUEST_TIMEOUT,
            header_timeout: HEADER_TIMEOUT,
            max_connections,
        }
    })
    .await
}

async fn connect(s: &TestServer) -> TcpStream {
    TcpStream::connect(s.root.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (or `within` passes, which fails the test);
/// returns what it sent and how long it took.
async fn read_to_close(stream: &mut TcpStream, within: Duration) -> (String, Duration) {
    let started = Instant::now();
    let mut received = Vec::new();
    tokio::time::timeout(within, stream.read_to_end(&mut received))
        .await
        .unwrap_or_else(|_| panic!("the server kept the connection open past {within:?}"))
        .ok();
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

const GET: &str =
    "GET /v1/organization/projects HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer ";

#[tokio::test]
async fn slow_headers_and_idle_connections_are_closed_while_others_are_served() {
    let s = server(1024).await;
    // Twenty connections that never finish their headers, twenty that go idle after a request.
    let mut slow = Vec::new();
    let mut idle = Vec::new();
    for _ in 0..20 {
        let mut stream = connect(&s).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: roster\r\n")
            .await
            .unwrap();
        slow.push(stream);
        let mut stream = connect(&s).await;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: roster\r\n\r\n")
            .await
            .unwrap();
        let mut first = [0u8; 12];
        stream.read_exact(&mut first).await.unwrap();
        assert_eq!(&first, b"HTTP/1.1 200");
        idle.push(stream);
    }
    let opened = Instant::now();
    // Meanwhile other clients are answered as usual.
    let admin = s.admin();
    for _ in 0..10 {
        let started = Instant::now();
        admin.get("/v1/organization/projects").await.ok();
        assert!(started.elapsed() < Duration::from_millis(500));
    }
    for mut stream in slow {
        let (received, _) = read_to_close(&mut stream, HEADER_TIMEOUT * 3).await;
        assert_eq!(received, "", "a request that never ended gets no answer");
    }
    for mut stream in idle {
        // The rest of the first response, and nothing after it.
        let (received, _) = read_to_close(&mut stream, HEADER_TIMEOUT * 3).await;
        assert!(!received.contains("HTTP/1.1"), "{received}");
    }
    let closed_after = opened.elapsed();
    assert!(
        closed_after >= HEADER_TIMEOUT / 2 && closed_after < HEADER_TIMEOUT * 3,
        "closed after {closed_after:?}"
    );
    s.stop().await;
}

/// A path of each API, a key for it, and how its error bodies begin: each API answers in its
/// own error body, also before routing.
async fn both_apis(s: &TestServer) -> [(&'static str, String, &'static str); 2] {
    let (_, scim_token) = s
        .store
        .create_scim_token(&s.cli_author(), Some("test"))
        .await
        .unwrap();
    [
        (
            "/v1/organization/projects",
            BOOTSTRAP_KEY.to_owned(),
            r#"{"error":{"message":"#,
        ),
        (
            "/scim/v2/Users",
            scim_token,
            r#""schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status""#,
        ),
    ]
}

#[tokio::test]
async fn a_body_that_never_comes_is_answered_503_at_the_deadline() {
    let s = server(1024).await;
    for (path, key, error_body) in both_apis(&s).await {
        let mut stream = connect(&s).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": \"Sl"
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (received, took) = read_to_close(&mut stream, REQUEST_TIMEOUT * 3).await;
        assert!(received.starts_with("HTTP/1.1 503"), "{received}");
        assert!(received.contains(error_body), "{received}");
        assert!(
            received.contains("could not complete your request in time; nothing was changed"),
            "{received}"
        );
        assert!(took >= REQUEST_TIMEOUT / 2, "answered after {took:?}");
    }
    let projects = s.admin().get("/v1/organization/projects").await;
    assert_eq!(
        projects.ok()["data"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    s.stop().await;
}

#[tokio::test]
async fn an_announced_body_over_the_limit_is_refused_at_once() {
    let s = server(1024).await;
    for (path, key, error_body) in both_apis(&s).await {
        let mut stream = connect(&s).await;
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {key}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000000000000\r\n\r\n{{\"name\": "
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let (received, took) = read_to_close(&mut stream, Duration::from_secs(1)).await;
        assert!(received.starts_with("HTTP/1.1 413"), "{received}");
        assert!(
            received.contains("The request body is too large: the limit is 1048576 bytes."),
            "{received}"
        );
        assert!(received.contains(error_body), "{received}");
        assert!(took < Duration::from_secs(1));
    }
    s.stop().await;
}

#[tokio::test]
async fn connections_beyond_the_cap_wait_for_a_free_one() {
    let s = server(4).await;
    // Four connections that send nothing hold every slot until the header timeout closes them.
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(connect(&s).await);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let started = Instant::now();
    let mut fifth = connect(&s).await;
    fifth
        .write_all(format!("{GET}{BOOTSTRAP_KEY}\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let (received, _) = read_to_close(&mut fifth, HEADER_TIMEOUT * 4).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    let waited = started.elapsed();
    assert!(
        waited >= HEADER_TIMEOUT / 2,
        "the fifth connection was served after {waited:?}, while four held every slot"
    );
    drop(held);
    s.stop().await;
}

#[tokio::test]
async fn a_body_announced_by_both_length_and_chunks_is_refused() {
    let s = server(1024).await;
    let post = |framing: &str, body: &str| {
        format!(
            "POST /v1/organization/projects HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {BOOTSTRAP_KEY}\r\n\
             Content-Type: application/json\r\n{framing}\r\n{body}"
        )
    };
    let json = r#"{"name": "Smuggled"}"#;
    let chunked = format!("{:x}\r\n{json}\r\n0\r\n\r\n", json.len());
    for framing in [
        format!(
            "Content-Length: {}\r\nTransfer-Encoding: chunked\r\n",
            json.len()
        ),
        format!(
            "Transfer-Encoding: chunked\r\nContent-Length: {}\r\n",
            json.len()
        ),
    ] {
        // Behind an ordinary request on the same connection, so that its place is found too.
        let mut stream = connect(&s).await;
        let first = post(
            &format!("Content-Length: {}\r\n", r#"{"name": "First"}"#.len()),
            r#"{"name": "First"}"#,
        );
        stream
            .write_all(format!("{first}{}", post(&framing, &chunked)).as_bytes())
            .await
            .unwrap();
        let (received, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
        let answers: Vec<&str> = received.matches("HTTP/1.1 ").collect();
        assert_eq!(answers.len(), 2, "{received}");
        assert!(received.starts_with("HTTP/1.1 200"), "{received}");
        let second = &received[received.rfind("HTTP/1.1 ").unwrap()..];
        assert!(second.starts_with("HTTP/1.1 400"), "{second}");
        assert!(
            second.contains("Content-Length and Transfer-Encoding"),
            "{second}"
        );
    }
    // Chunks alone are a body like any other.
    let mut stream = connect(&s).await;
    stream
        .write_all(
            post(
                "Transfer-Encoding: chunked\r\nConnection: close\r\n",
                &chunked,
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    let (received, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");

    let ids: Vec<String> = crate::common::walk(&s.admin(), "/v1/organization/projects", 100).await;
    assert_eq!(
        ids.len(),
        4,
        "the default project, two firsts and the chunked one"
    );
    let listed = s.admin().get("/v1/organization/projects?limit=100").await;
    let smuggled = listed.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == "Smuggled")
        .count();
    assert_eq!(
        smuggled, 1,
        "only the chunked request without a length created one"
    );
    s.stop().await;
}
