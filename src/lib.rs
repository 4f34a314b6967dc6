//! Roster: an identity-and-access server that speaks the OpenAI Organization Admin API.
//! The binary (`main.rs`) is a thin CLI over this library; tests start the same server.
// A request never panics the server: fallible paths return errors. Tests may unwrap.
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod api;
pub mod config;
pub mod domain;
pub mod mail;
mod server;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod traces;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use api::{AppState, Settings};
use store::{Store, TableWatch};

/// A server accepting connections; dropping it does not stop it, `shutdown` does.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// The gateway's own address (`--gateway-listen`), if it has one.
    pub gateway_addr: Option<SocketAddr>,
    /// The metrics' own address (`--metrics-listen`), if they have one.
    pub metrics_addr: Option<SocketAddr>,
    pub store: Store,
    shutdown: Vec<tokio::sync::oneshot::Sender<()>>,
    tasks: Vec<JoinHandle<std::io::Result<()>>>,
    /// Sends queued mail (`mail::deliver`); what it has not sent stays queued for the next start.
    delivery: JoinHandle<()>,
    /// Writes the project keys' `last_used_at` (`record_key_uses`).
    key_uses: JoinHandle<()>,
    /// Keeps the query planner's statistics (`keep_statistics`).
    statistics: JoinHandle<()>,
}

impl RunningServer {
    /// Stops accepting, lets requests in flight finish, and waits for the server to end.
    pub async fn shutdown(self) -> std::io::Result<()> {
        for stop in self.shutdown {
            let _ = stop.send(());
        }
        let mut result = Ok(());
        for task in self.tasks {
            let served = task.await.map_err(std::io::Error::other).and_then(|r| r);
            result = result.and(served);
        }
        self.delivery.abort();
        self.key_uses.abort();
        self.statistics.abort();
        if let Err(error) = self.store.record_key_uses().await {
            tracing::warn!(%error, "could not record the last uses of project keys");
        }
        self.store.close().await;
        result
    }

    /// Waits until `signal` resolves, then shuts down gracefully.
    pub async fn run_until(self, signal: impl Future<Output = ()>) -> std::io::Result<()> {
        signal.await;
        self.shutdown().await
    }
}

/// Binds `listen` and serves the API over `store` until shut down. An empty
/// `settings.public_url` becomes `http://<bound address>`.
pub async fn start(
    listen: SocketAddr,
    store: Store,
    mut settings: Settings,
) -> std::io::Result<RunningServer> {
    // Installed before anything is recorded: what happens before it is not counted.
    telemetry::recorder();
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    if settings.public_url.is_empty() {
        settings.public_url = format!("http://{addr}");
    }
    let limits = settings.limits;
    let key_uses = tokio::spawn(record_key_uses(store.clone()));
    let statistics = tokio::spawn(keep_statistics(store.clone()));
    let delivery = tokio::spawn(mail::deliver(
        store.clone(),
        settings.mailer.clone(),
        settings.mail_from.clone(),
    ));
    let gateway = match settings.gateway_listen {
        Some(listen) => Some(TcpListener::bind(listen).await?),
        None => None,
    };
    let gateway_addr = gateway.as_ref().map(TcpListener::local_addr).transpose()?;
    let metrics = match settings.metrics_listen {
        Some(listen) => Some(TcpListener::bind(listen).await?),
        None => None,
    };
    let metrics_addr = metrics.as_ref().map(TcpListener::local_addr).transpose()?;
    let state = AppState {
        store: store.clone(),
        settings,
    };
    let mut shutdown = Vec::new();
    let mut tasks = Vec::new();
    let mut serve = |listener: TcpListener, app: axum::Router| {
        let (stop_sender, stop) = tokio::sync::oneshot::channel::<()>();
        shutdown.push(stop_sender);
        tasks.push(tokio::spawn(server::serve(listener, app, limits, stop)));
    };
    if let Some(gateway) = gateway {
        serve(gateway, api::gateway_router(state.clone()));
    }
    if let Some(metrics) = metrics {
        serve(metrics, api::metrics_router(state.clone()));
    }
    serve(listener, api::router(state));
    Ok(RunningServer {
        addr,
        gateway_addr,
        metrics_addr,
        store,
        shutdown,
        tasks,
        delivery,
        key_uses,
        statistics,
    })
}

/// Refreshes the query planner's statistics at start, off the way to ready; every minute, of
/// each table that may have doubled since; and every hour, of every table. An organization that
/// grows from a few users to many, as an identity provider's first push makes it, gets plans for
/// many within the minute, as PostgreSQL's autovacuum gives them.
async fn keep_statistics(store: Store) {
    let mut ticks = tokio::time::interval(STATISTICS_EVERY);
    let mut watch = TableWatch::default();
    for minute in 0u64.. {
        ticks.tick().await;
        if minute % RECOUNT_EVERY == 0 {
            watch = TableWatch::default();
        }
        match store.refresh_statistics(&mut watch).await {
            Ok(run) if !run.analyzed.is_empty() || !run.dropped.is_empty() => {
                tracing::debug!(analyzed = ?run.analyzed, dropped = ?run.dropped,
                    "refreshed the query planner's statistics");
            }
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "could not refresh the query planner's statistics; will retry");
            }
        }
    }
}

const STATISTICS_EVERY: Duration = Duration::from_secs(60);
/// Every this many runs, each table is counted whatever its rowids say: a table that lost half
/// its rows, which they cannot tell, is analyzed again within the hour.
const RECOUNT_EVERY: u64 = 60;

/// Writes the gateway checks' key uses five times a second, off the checks' path: small batches
/// often rather than one large one, which would hold a core long enough to show in the checks'
/// tail latency.
async fn record_key_uses(store: Store) {
    let mut ticks = tokio::time::interval(Duration::from_millis(200));
    loop {
        ticks.tick().await;
        if let Err(error) = store.record_key_uses().await {
            tracing::warn!(%error, "could not record the last uses of project keys; will retry");
        }
    }
}

/// Keeps the audit log to `keep_seconds`: every `every`, starting now, prunes what is older, in
/// every organization. Replicas may all run it; only one finds anything to prune.
pub async fn enforce_audit_retention(store: Store, keep_seconds: i64, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    loop {
        ticks.tick().await;
        if let Err(error) = prune_past_retention(&store, keep_seconds).await {
            tracing::warn!(%error, "audit retention could not prune; will retry");
        }
    }
}

/// One round of retention: prunes the events older than `keep_seconds` by the clock; answers
/// how many it pruned in each organization that had any.
pub async fn prune_past_retention(
    store: &Store,
    keep_seconds: i64,
) -> domain::Result<Vec<(String, u64)>> {
    let before = store.clock().now().saturating_sub(keep_seconds);
    let pruned: Vec<(String, u64)> = store
        .prune_audit_logs(None, before)
        .await?
        .into_iter()
        .filter(|(_, count)| *count > 0)
        .collect();
    for (org, count) in &pruned {
        tracing::info!(org, count, before, "pruned audit events past retention");
    }
    Ok(pruned)
}
