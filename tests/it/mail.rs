//! Outgoing mail survives what can happen after the commit: a mail server that is down, and a
//! process killed before it could send.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::common::process::Served;
use crate::common::{BOOTSTRAP_KEY, Outside, TestDatabase};

#[tokio::test]
async fn an_invitation_queued_during_a_mail_outage_is_delivered_after_a_crash_and_restart() {
    let (database, url) = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let sqlite = matches!(database, TestDatabase::Sqlite(_));
    let configure = |smtp: Option<String>| {
        let url = url.clone();
        move |c: &mut std::process::Command| {
            c.env("ROSTER_BOOTSTRAP_ADMIN_KEY", BOOTSTRAP_KEY);
            if !sqlite {
                c.env("ROSTER_DATABASE_URL", url);
            }
            if let Some(smtp) = smtp {
                c.env("ROSTER_SMTP_URL", smtp);
            }
        }
    };
    // A port nothing listens on: the mail server is down.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let down = format!("smtp://127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);

    let first = Served::start(&data, configure(Some(down)));
    let (status, invite) = first
        .post(
            BOOTSTRAP_KEY,
            "/v1/organization/invites",
            json!({"email": "ada@example.com", "role": "reader"}),
        )
        .await;
    assert_eq!(
        status, 200,
        "the invite does not wait for the mail server: {invite}"
    );
    let tried = Instant::now();
    while !first.log().contains("sending an email failed; will retry") {
        assert!(
            tried.elapsed() < Duration::from_secs(10),
            "no attempt was made: {}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();

    // Started again with a mailer that works (the outbox folder), it sends what was queued.
    let second = Served::start(&data, configure(None));
    let token = second.outbox_token("ada@example.com").await;
    let (status, user) = second
        .post(
            "",
            &format!("/v1/invites/{token}/accept"),
            json!({"name": "Ada"}),
        )
        .await;
    assert_eq!(status, 200, "the delivered link works: {user}");
    let emails = std::fs::read_dir(data.join("outbox")).unwrap().count();
    assert_eq!(emails, 1, "the invitation was sent once");
    assert!(second.terminate());
    drop(database);
}

#[tokio::test]
async fn replicas_sharing_a_database_send_each_message_once() {
    let (database, url) = TestDatabase::create().await;
    let dir = tempfile::tempdir().unwrap();
    let replicas = [
        Served::replica(&dir.path().join("a"), &url),
        Served::replica(&dir.path().join("b"), &url),
    ];
    let invites = (0..20).map(|i| {
        let replica = &replicas[i % 2];
        async move {
            let (status, body) = replica
                .post(
                    BOOTSTRAP_KEY,
                    "/v1/organization/invites",
                    json!({"email": format!("person{i}@example.com"), "role": "reader"}),
                )
                .await;
            assert_eq!(status, 200, "{body}");
        }
    });
    futures_util::future::join_all(invites).await;

    let recipients = || {
        let mut recipients: Vec<String> = replicas
            .iter()
            .flat_map(|r| {
                std::fs::read_dir(r.data_dir.join("outbox"))
                    .into_iter()
                    .flatten()
            })
            .filter_map(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .filter_map(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("To: ").map(str::to_owned))
            })
            .collect();
        recipients.sort();
        recipients
    };
    let started = Instant::now();
    while recipients().len() < 20 {
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            recipients()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every message was claimed once, by one replica, and marked sent: no second copy can come.
    let counts = Outside::connect(&url)
        .await
        .integers("SELECT COUNT(sent_at), CAST(SUM(attempts) AS BIGINT) FROM outgoing_mail")
        .await;
    let (sent, claims) = (counts[0], counts[1]);
    assert_eq!((sent, claims), (20, 20));
    let mut expected: Vec<String> = (0..20).map(|i| format!("person{i}@example.com")).collect();
    expected.sort();
    assert_eq!(recipients(), expected);
    for replica in replicas {
        assert!(replica.terminate());
    }
    drop(database);
}
