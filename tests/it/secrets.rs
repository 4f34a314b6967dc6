//! Secrets stay secret outside the API too: not in the log, not in files others can read.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;

use serde_json::json;

use crate::common::BOOTSTRAP_KEY;
use crate::common::process::Served;

#[tokio::test]
async fn invite_tokens_never_reach_the_log_even_at_debug() {
    let dir = tempfile::tempdir().unwrap();
    let served = Served::start(&dir.path().join("data"), |c| {
        c.env("ROSTER_LOG", "debug")
            .env("ROSTER_BOOTSTRAP_ADMIN_KEY", BOOTSTRAP_KEY);
    });
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        let (status, _) = served
            .post(
                BOOTSTRAP_KEY,
                "/v1/organization/invites",
                json!({"email": email, "role": "reader"}),
            )
            .await;
        assert_eq!(status, 200);
        tokens.push(served.outbox_token(email).await);
    }
    // Opened, accepted by a program, and accepted through the page's form.
    let page = client
        .get(format!("{}/invite/{}", served.base, tokens[0]))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let (status, _) = served
        .post(
            "",
            &format!("/v1/invites/{}/accept", tokens[0]),
            json!({"name": "Ada"}),
        )
        .await;
    assert_eq!(status, 200);
    let form = client
        .post(format!("{}/invite/{}", served.base, tokens[1]))
        .form(&[("name", "Bob")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);

    let log = served.log();
    assert!(
        log.contains("/v1/invites/inv-***/accept") && log.contains("/invite/inv-***"),
        "the requests are logged, with their tokens redacted: {log}"
    );
    for token in &tokens {
        let secret_part = &token["inv-".len()..];
        assert!(
            !log.contains(secret_part),
            "the log holds a live invite token"
        );
    }
    assert!(served.terminate());
}

#[tokio::test]
async fn files_are_for_their_owner_alone_whatever_the_umask() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = Served::start(&data, |c| {
        c.env("ROSTER_BOOTSTRAP_ADMIN_KEY", BOOTSTRAP_KEY);
        // SAFETY: umask is async-signal-safe and only sets the child's file-creation mask.
        unsafe {
            c.pre_exec(|| {
                libc::umask(0);
                Ok(())
            });
        }
    });
    let (status, _) = served
        .post(
            BOOTSTRAP_KEY,
            "/v1/organization/invites",
            json!({"email": "ada@example.com", "role": "reader"}),
        )
        .await;
    assert_eq!(status, 200);
    served.outbox_token("ada@example.com").await;

    let mode = |path: &std::path::Path| {
        std::fs::metadata(path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("outbox")), 0o700, "the outbox");
    for file in ["roster.db", "roster.db-wal", "roster.db-shm"] {
        assert_eq!(mode(&data.join(file)), 0o600, "{file}");
    }
    let emails: Vec<_> = std::fs::read_dir(data.join("outbox"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert!(!emails.is_empty());
    for email in emails {
        assert_eq!(mode(&email), 0o600, "{}", email.display());
    }
    assert!(served.terminate());
}
