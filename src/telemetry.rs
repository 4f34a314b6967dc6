//! What an operator sees of Roster: Prometheus metrics, recorded through the `metrics` facade
//! wherever something happens and rendered by `metrics-exporter-prometheus` at `GET /metrics`.
//! Rendering reads what was recorded; it runs no database query.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request latency buckets, in seconds: a cached gateway check is well under a millisecond.
const LATENCY_BUCKETS: &[f64] = &[
    0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

static RECORDER: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// The process's recorder, installed on first use: every server in a process shares it. `None`
/// if another recorder was installed first (then nothing is recorded here).
pub fn recorder() -> Option<&'static PrometheusHandle> {
    RECORDER
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full("roster_http_request_duration_seconds".into()),
                    LATENCY_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()?;
            describe();
            metrics::gauge!("roster_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            Some(handle)
        })
        .as_ref()
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "roster_http_requests_total",
        "Requests answered, by route template, method and status."
    );
    describe_histogram!(
        "roster_http_request_duration_seconds",
        "Time to answer a request, by route template and method."
    );
    describe_gauge!(
        "roster_db_connections",
        "Database connections of this process, by state (open, idle)."
    );
    describe_gauge!(
        "roster_db_waiting",
        "Callers waiting for a database connection."
    );
    describe_counter!(
        "roster_db_transaction_retries_total",
        "Transactions run again after contention (PostgreSQL)."
    );
    describe_counter!(
        "roster_cache_lookups_total",
        "Lookups in the admin-key and gateway caches, by cache and result (hit, miss)."
    );
    describe_counter!(
        "roster_gateway_decisions_total",
        "Gateway checks and forward-auth decisions, by outcome."
    );
    describe_counter!(
        "roster_emails_total",
        "Emails, by result (queued, sent, failed)."
    );
    describe_counter!("roster_audit_events_total", "Audit events written.");
    describe_gauge!("roster_build_info", "The running build, by version.");
}

/// A cache lookup's result, counted.
pub fn cache_lookup(cache: &'static str, hit: bool) {
    metrics::counter!("roster_cache_lookups_total", "cache" => cache, "result" => if hit { "hit" } else { "miss" })
        .increment(1);
}
