//! The promises `roster serve` makes an operator in the README, kept by the process itself on
//! either backend: a signal lets the request in flight finish, retention prunes at start,
//! settings come from flags over the environment, the statement timeout bounds a wait.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::process::{Served, Site};
use crate::common::{BOOTSTRAP_KEY, Outside};

fn with_fixed_key(command: &mut std::process::Command) {
    command.env("ROSTER_BOOTSTRAP_ADMIN_KEY", BOOTSTRAP_KEY);
}

/// Reads from `stream` until `done` holds for what was read, or it closes; panics after 15 s.
async fn read_until(stream: &mut TcpStream, done: impl Fn(&str) -> bool) -> String {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = Instant::now() + Duration::from_secs(15);
    while !done(&String::from_utf8_lossy(&received)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Ok(Ok(0)) => break,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
            Ok(Err(error)) => panic!("reading the response: {error}"),
            Err(_) => panic!(
                "no answer within 15 s: {}",
                String::from_utf8_lossy(&received)
            ),
        }
    }
    String::from_utf8_lossy(&received).into_owned()
}

#[tokio::test]
async fn a_signal_lets_the_request_in_flight_finish_and_exits_0() {
    for signal in ["TERM", "INT"] {
        let dir = tempfile::tempdir().unwrap();
        let site = Site::new(&dir.path().join("data")).await;
        let served = site.serve(with_fixed_key);
        let addr = served.base.trim_start_matches("http://").to_owned();

        // A request whose body waits for the server's "100 Continue": once that arrives, the
        // request is in a handler, reading its body.
        let mut stream = TcpStream::connect(&addr).await.unwrap();
        let body = json!({"name": format!("In flight at SIG{signal}")}).to_string();
        let head = format!(
            "POST /v1/organization/projects HTTP/1.1\r\nHost: roster\r\nAuthorization: Bearer {BOOTSTRAP_KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        let continued = read_until(&mut stream, |r| r.contains("\r\n\r\n")).await;
        assert!(continued.starts_with("HTTP/1.1 100"), "{continued}");

        served.signal(signal);
        stream.write_all(body.as_bytes()).await.unwrap();
        let answer = read_until(&mut stream, |r| r.contains("In flight")).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "SIG{signal}: {answer}");
        assert!(served.exits(), "SIG{signal} ends roster with status 0");

        // What it acknowledged is there after a restart.
        let again = site.serve(|_| {});
        let (_, projects) = again.get(BOOTSTRAP_KEY, "/v1/organization/projects").await;
        assert!(
            projects["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == format!("In flight at SIG{signal}")),
            "{projects}"
        );
        assert!(again.terminate());
    }
}

/// Retention prunes when the server starts, not a day later: a server started with
/// `--audit-retention-days 1` on a log that holds older events removes them and says so.
#[tokio::test]
async fn audit_retention_prunes_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    // The emulator's clock, set three days back, makes old events.
    let past = site.serve(|c| {
        with_fixed_key(c);
        c.arg("--emulator");
    });
    let now: i64 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let (status, _) = past
        .post(
            BOOTSTRAP_KEY,
            "/v1/emulator/clock",
            json!({"now": now - 3 * 86_400}),
        )
        .await;
    assert_eq!(status, 200);
    for name in ["Old one", "Old two"] {
        let (status, _) = past
            .post(
                BOOTSTRAP_KEY,
                "/v1/organization/projects",
                json!({"name": name}),
            )
            .await;
        assert_eq!(status, 200);
    }
    assert!(past.terminate());

    let served = site.serve(|c| {
        c.args(["--audit-retention-days", "1"]);
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let events = loop {
        let (status, log) = served
            .get(BOOTSTRAP_KEY, "/v1/organization/audit_logs?limit=100")
            .await;
        assert_eq!(status, 200, "{log}");
        let events = log["data"].as_array().unwrap().clone();
        if events.iter().any(|e| e["type"] == "resource.deleted") {
            break events;
        }
        assert!(
            Instant::now() < deadline,
            "nothing was pruned at start: {log}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let created: Vec<&str> = events
        .iter()
        .filter_map(|e| e["project.created"]["data"]["name"].as_str())
        .collect();
    // The organization's founding, today, is kept; the old projects' events are gone.
    assert_eq!(created, ["Default project"], "{events:?}");
    let pruned = events
        .iter()
        .find(|e| e["type"] == "resource.deleted")
        .unwrap();
    assert_eq!(pruned["resource.deleted"]["deleted_count"], 2, "{pruned}");
    assert!(served.terminate());
}

async fn invite_lifetime(served: &Served, email: &str) -> i64 {
    let (status, invite) = served
        .post(
            BOOTSTRAP_KEY,
            "/v1/organization/invites",
            json!({"email": email, "role": "reader"}),
        )
        .await;
    assert_eq!(status, 200, "{invite}");
    invite["expires_at"].as_i64().unwrap() - invite["invited_at"].as_i64().unwrap()
}

#[tokio::test]
async fn the_invite_lifetime_comes_from_the_environment_and_a_flag_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let served = site.serve(|c| {
        with_fixed_key(c);
        c.env("ROSTER_INVITE_LIFETIME", "3600");
    });
    assert_eq!(invite_lifetime(&served, "env@example.com").await, 3_600);
    assert!(served.terminate());

    let served = site.serve(|c| {
        c.env("ROSTER_INVITE_LIFETIME", "3600")
            .args(["--invite-lifetime", "7200"]);
    });
    assert_eq!(invite_lifetime(&served, "flag@example.com").await, 7_200);
    assert!(served.terminate());

    let served = site.serve(|_| {});
    assert_eq!(
        invite_lifetime(&served, "default@example.com").await,
        roster::domain::invite::DEFAULT_LIFETIME_SECONDS
    );
    assert!(served.terminate());
}

/// `ROSTER_DB_STATEMENT_TIMEOUT` bounds how long a request waits on the database: held by a
/// lock taken behind Roster's back, it is answered 503 after the timeout, not the request's
/// thirty seconds; once the lock goes, requests succeed again.
#[tokio::test]
async fn the_statement_timeout_bounds_a_wait_for_a_lock() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let served = site.serve(|c| {
        with_fixed_key(c);
        c.env("ROSTER_DB_STATEMENT_TIMEOUT", "1");
    });
    let outside = Outside::connect(&site.database_url).await;
    // SQLite: the write lock (readers go on); PostgreSQL: the projects table, whole.
    let hold = if site.is_sqlite() {
        "BEGIN IMMEDIATE"
    } else {
        "BEGIN; LOCK TABLE projects IN ACCESS EXCLUSIVE MODE"
    };
    outside.execute(hold).await;
    let create = || {
        served.post(
            BOOTSTRAP_KEY,
            "/v1/organization/projects",
            json!({"name": "Waits"}),
        )
    };
    let started = Instant::now();
    let (status, body): (u16, Value) = create().await;
    let waited = started.elapsed();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"]["type"], "server_error", "{body}");
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(10),
        "answered after {waited:?}"
    );
    outside.execute("COMMIT").await;
    let (status, body) = create().await;
    assert_eq!(status, 200, "{body}");
    assert!(served.terminate());
}

/// SQLite's query planner statistics are taken as the server starts, in the background, for
/// Roster's tables of 1,000 rows or more and not for smaller ones, nor for the FTS5 indexes'
/// shadow tables (README, "Query planner statistics").
#[tokio::test]
async fn sqlite_statistics_are_taken_at_start() {
    if !crate::common::on_sqlite() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    assert!(site.serve(with_fixed_key).terminate());
    // A thousand organizations, and the first one's one user.
    let outside = Outside::connect(&site.database_url).await;
    outside
        .execute(
            "INSERT INTO organizations (id, name, created_at, default_project_id) \
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 999) \
             SELECT 'org-' || i, 'Org', 0, 'proj_' || i FROM n",
        )
        .await;
    let served = site.serve(|_| {});
    let analyzed = |table: &str| format!("SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl = '{table}'");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let kept = outside
            .integers("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'sqlite_stat1'")
            .await;
        if kept[0] > 0 && outside.integers(&analyzed("organizations")).await[0] > 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "organizations was not analyzed within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(outside.integers(&analyzed("users")).await, [0], "one user");
    let shadows = outside
        .integers(
            "SELECT COUNT(*) FROM sqlite_stat1 WHERE tbl IN \
             (SELECT name FROM pragma_table_list WHERE type = 'shadow')",
        )
        .await;
    assert_eq!(shadows, [0]);
    assert!(served.terminate());
}
