//! `GET /metrics`: what an operator's Prometheus scrapes. The recorder is the process's, shared
//! by every test server in it, so counts are compared before and after, as at least.

use std::collections::BTreeMap;

use roster::store::StoreOptions;
use serde_json::json;

use crate::common::TestServer;

/// The value of the series `name` with exactly `labels`, in a scrape (0 when absent).
fn value(scrape: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let wanted: BTreeMap<&str, &str> = labels.iter().copied().collect();
    scrape
        .lines()
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, rest) = series.split_once('{').unwrap_or((series, "}"));
            if series_name != name {
                return None;
            }
            let found: BTreeMap<&str, &str> = rest
                .trim_end_matches('}')
                .split(',')
                .filter(|pair| !pair.is_empty())
                .filter_map(|pair| {
                    let (k, v) = pair.split_once('=')?;
                    Some((k, v.trim_matches('"')))
                })
                .collect();
            (found == wanted).then(|| value.parse::<f64>().ok())?
        })
        .sum()
}

async fn scrape(root: &str) -> String {
    let response = reqwest::get(format!("{root}/metrics")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    response.text().await.unwrap()
}

#[tokio::test]
async fn requests_decisions_caches_events_and_mail_are_counted() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let before = scrape(&s.root).await;
    assert!(
        before.contains(&format!(
            "roster_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        )),
        "{before}"
    );

    let project = s.add_project("Counted").await;
    let retrieve = format!("/v1/organization/projects/{project}");
    for _ in 0..3 {
        admin.get(&retrieve).await.ok();
    }
    admin
        .get("/v1/organization/projects/proj_unknown")
        .await
        .error(404, Some("project_id"));
    let bot = s.project_with_bot("Bots").await;
    for _ in 0..2 {
        s.gateway_check(&bot.key).await.unwrap();
    }
    s.anonymous()
        .post(
            "/v1/gateway/check",
            json!({"api_key": "sk-proj-unknown00000000000000000"}),
        )
        .await
        .ok();
    admin
        .post(
            "/v1/organization/invites",
            json!({"email": "counted@example.com", "role": "reader"}),
        )
        .await
        .ok();
    s.invite_token("counted@example.com").await.unwrap();

    let after = scrape(&s.root).await;
    let grew = |name: &str, labels: &[(&str, &str)], by: f64| {
        let (was, is) = (value(&before, name, labels), value(&after, name, labels));
        assert!(is - was >= by, "{name}{labels:?}: {was} -> {is}");
    };
    let route = [
        ("route", "/v1/organization/projects/{project_id}"),
        ("method", "GET"),
    ];
    grew(
        "roster_http_requests_total",
        &[route[0], route[1], ("status", "200")],
        3.0,
    );
    grew(
        "roster_http_requests_total",
        &[route[0], route[1], ("status", "404")],
        1.0,
    );
    grew("roster_http_request_duration_seconds_count", &route, 4.0);
    grew(
        "roster_gateway_decisions_total",
        &[("outcome", "allowed")],
        2.0,
    );
    grew(
        "roster_gateway_decisions_total",
        &[("outcome", "incorrect_key")],
        1.0,
    );
    grew(
        "roster_cache_lookups_total",
        &[("cache", "gateway"), ("result", "hit")],
        1.0,
    );
    grew(
        "roster_cache_lookups_total",
        &[("cache", "admin_keys"), ("result", "hit")],
        3.0,
    );
    grew("roster_audit_events_total", &[], 3.0);
    grew("roster_emails_total", &[("result", "queued")], 1.0);
    // Counted once the outbox has it, a moment after the file appears.
    let sent = |scrape: &str| value(scrape, "roster_emails_total", &[("result", "sent")]);
    let mut now = after.clone();
    for _ in 0..100 {
        if sent(&now) > sent(&before) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        now = scrape(&s.root).await;
    }
    assert!(sent(&now) > sent(&before), "an email counted as sent");
    assert!(value(&after, "roster_db_connections", &[("state", "open")]) >= 1.0);

    // Scraping needs no database.
    s.store.close().await;
    scrape(&s.root).await;
    s.stop().await;
}

#[tokio::test]
async fn metrics_can_have_an_address_of_their_own() {
    let listen = "127.0.0.1:0".parse().unwrap();
    let s = TestServer::start_with(StoreOptions::default(), |settings| {
        settings.metrics_listen = Some(listen);
    })
    .await;
    let on_api = reqwest::get(format!("{}/metrics", s.root)).await.unwrap();
    assert_eq!(on_api.status(), 404, "not beside the Admin API");
    let own = s.metrics_root.clone().expect("its own address");
    assert!(scrape(&own).await.contains("roster_http_requests_total"));
    s.stop().await;
}
