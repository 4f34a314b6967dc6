//! The `roster` binary as an operator runs it: first start, restart, signals, init, org and key
//! commands. These start real processes.

use std::process::{Command, Output};

use serde_json::json;

use crate::common::process::{Served, Site, WriteLoad, roster};

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("roster runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

pub fn admin_key_in(text: &str) -> Option<String> {
    text.split_whitespace()
        .find(|w| w.starts_with("sk-admin-"))
        .map(|w| w.trim_end_matches(['.', '"']).to_owned())
}

#[tokio::test]
async fn first_start_prints_a_working_key_and_a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let served = site.serve(|c| {
        c.args(["--owner-email", "Boss@Example.com"]);
    });
    let banner = served.stdout();
    let key = admin_key_in(&banner).unwrap_or_else(|| panic!("no key printed: {banner}"));
    assert!(
        banner.contains("Default Organization") && banner.contains("boss@example.com"),
        "{banner}"
    );
    assert_eq!(
        site.data.join("roster.db").exists(),
        site.is_sqlite(),
        "the SQLite file lives in the data dir, and only on SQLite"
    );

    let (status, projects) = served.get(&key, "/v1/organization/projects").await;
    assert_eq!(status, 200);
    assert_eq!(projects["data"][0]["name"], "Default project");
    let (status, created) = served
        .post(
            &key,
            "/v1/organization/projects",
            json!({"name": "Survivor"}),
        )
        .await;
    assert_eq!(status, 200);
    let log = served.log();
    assert!(!log.contains(&key), "the log never holds a key");
    assert!(
        log.contains("/v1/organization/projects") && log.contains("latency_ms"),
        "requests are logged"
    );
    assert!(served.terminate(), "SIGTERM ends roster with status 0");

    let again = site.serve(|_| {});
    assert!(
        admin_key_in(&again.stdout()).is_none(),
        "a restart prints no new key"
    );
    let (status, project) = again
        .get(
            &key,
            &format!(
                "/v1/organization/projects/{}",
                created["id"].as_str().unwrap()
            ),
        )
        .await;
    assert_eq!(status, 200, "the old key and the project survive a restart");
    assert_eq!(project["name"], "Survivor");
    assert!(again.terminate());
}

#[tokio::test]
async fn the_bootstrap_key_can_be_fixed_and_is_never_echoed() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let fixed = "sk-admin-fixedforci00000000000000000000000000";
    let served = site.serve(|c| {
        c.env("ROSTER_BOOTSTRAP_ADMIN_KEY", fixed);
    });
    let printed = served.stdout();
    assert!(
        !printed.contains(fixed),
        "a key the operator chose is not echoed"
    );
    assert!(
        printed.contains("Bearer $ROSTER_BOOTSTRAP_ADMIN_KEY"),
        "the example names the variable that holds the key: {printed}"
    );
    let (status, keys) = served.get(fixed, "/v1/organization/admin_api_keys").await;
    assert_eq!(status, 200);
    assert_eq!(keys["data"][0]["redacted_value"], "sk-admin...0000");
    assert!(served.terminate());

    // Given as a flag, the key is in no variable: the example does not send an unset one.
    let flagged = Site::new(&dir.path().join("flagged")).await;
    let served = flagged.serve(|c| {
        c.args(["--bootstrap-admin-key", fixed]);
    });
    let printed = served.stdout();
    assert!(
        !printed.contains(fixed) && !printed.contains("$ROSTER_BOOTSTRAP_ADMIN_KEY"),
        "{printed}"
    );
    assert!(
        printed.contains("Bearer <the --bootstrap-admin-key value>"),
        "{printed}"
    );
    let (status, _) = served.get(fixed, "/v1/organization/admin_api_keys").await;
    assert_eq!(status, 200);
    assert!(served.terminate());

    let other = Site::new(&dir.path().join("other")).await;
    let (output, _) = run(other
        .roster()
        .arg("init")
        .env("ROSTER_BOOTSTRAP_ADMIN_KEY", "not-a-key"));
    assert!(
        !output.status.success(),
        "a malformed bootstrap key is refused"
    );
}

#[tokio::test]
async fn init_org_and_key_commands() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let (output, stdout) = run(site.roster().args([
        "init",
        "--org-name",
        "Acme",
        "--owner-email",
        "ada@acme.test",
        "--owner-name",
        "Ada",
    ]));
    assert!(output.status.success());
    let acme_key = admin_key_in(&stdout).expect("init prints a key");
    assert!(stdout.contains("Acme"));

    let (output, stdout) = run(site.roster().args(["init", "--org-name", "Other"]));
    assert!(output.status.success());
    assert!(
        stdout.contains("already initialized") && admin_key_in(&stdout).is_none(),
        "{stdout}"
    );

    let (output, stdout) = run(site.roster().args([
        "org",
        "create",
        "--name",
        "Beta Corp",
        "--owner-email",
        "bob@beta.test",
    ]));
    assert!(output.status.success());
    let beta_key = admin_key_in(&stdout).expect("org create prints a key");
    let (output, stdout) = run(site.roster().args([
        "org",
        "create",
        "--name",
        "Bad",
        "--owner-email",
        "not-an-email",
    ]));
    assert!(!output.status.success(), "{stdout}");

    let (_, listing) = run(site.roster().args(["org", "list"]));
    assert!(
        listing.contains("Acme") && listing.contains("ada@acme.test"),
        "{listing}"
    );
    assert!(
        listing.contains("Beta Corp") && listing.contains("bob@beta.test"),
        "{listing}"
    );
    assert!(
        !listing.contains("Other") && !listing.contains("Bad"),
        "{listing}"
    );
    let acme_id = listing
        .lines()
        .find(|l| l.contains("Acme"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_owned();

    let (output, stdout) = run(site.roster().args(["key", "create", "--org", &acme_id]));
    assert!(output.status.success());
    let recovery_key = admin_key_in(&stdout).expect("key create prints a key");

    let (_, status) = run(site.roster().args(["migrate", "status"]));
    assert!(
        status.contains("applied") && !status.contains("pending"),
        "{status}"
    );

    let served = site.serve(|_| {});
    for key in [&acme_key, &recovery_key] {
        let (status, projects) = served.get(key, "/v1/organization/projects").await;
        assert_eq!(status, 200);
        assert_eq!(projects["data"].as_array().unwrap().len(), 1);
    }
    let (_, acme_keys) = served
        .get(&acme_key, "/v1/organization/admin_api_keys")
        .await;
    assert_eq!(
        acme_keys["data"].as_array().unwrap().len(),
        2,
        "the bootstrap key and the recovery key"
    );
    let (_, beta_keys) = served
        .get(&beta_key, "/v1/organization/admin_api_keys")
        .await;
    assert_eq!(beta_keys["data"].as_array().unwrap().len(), 1);
    assert!(served.terminate());
}

#[tokio::test]
async fn sqlite_commits_reach_the_disk_before_they_are_acknowledged_unless_told_otherwise() {
    if !crate::common::on_sqlite() {
        eprintln!(
            "a SQLite file's test; on PostgreSQL, pg_dump and its settings are the operator's"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let durability = |served: &Served| {
        served
            .log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|l| l["fields"]["message"] == "roster is serving")
            .and_then(|l| l["fields"]["durability"].as_str().map(str::to_owned))
    };
    let full = Served::start(&dir.path().join("full"), |_| {});
    assert_eq!(durability(&full).as_deref(), Some("synchronous=FULL"));
    assert!(full.terminate());
    let normal = Served::start(&dir.path().join("normal"), |c| {
        c.env("ROSTER_SQLITE_SYNCHRONOUS", "normal");
    });
    assert_eq!(durability(&normal).as_deref(), Some("synchronous=NORMAL"));
    assert!(normal.terminate());
}

#[tokio::test]
async fn a_models_file_replaces_the_built_in_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models.json");
    std::fs::write(
        &models,
        r#"[{"model": "llama-3.1-70b", "max_requests_per_1_minute": 600, "max_tokens_per_1_minute": 200000},
            {"model": "sd-xl", "max_requests_per_1_minute": 60, "max_tokens_per_1_minute": 10000, "max_images_per_1_minute": 20}]"#,
    )
    .unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let served = site.serve(|c| {
        c.env("ROSTER_MODELS", &models)
            .env("ROSTER_BOOTSTRAP_ADMIN_KEY", crate::common::BOOTSTRAP_KEY);
    });
    let key = crate::common::BOOTSTRAP_KEY;
    let (_, project) = served
        .post(
            key,
            "/v1/organization/projects",
            json!({"name": "Own models"}),
        )
        .await;
    let project = project["id"].as_str().unwrap();
    let (status, limits) = served
        .get(
            key,
            &format!("/v1/organization/projects/{project}/rate_limits"),
        )
        .await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = limits["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["rl-llama-3.1-70b", "rl-sd-xl"]);
    assert_eq!(limits["data"][1]["max_images_per_1_minute"], 20);
    assert!(served.terminate());

    // A file that is not a catalogue stops the start, saying why.
    std::fs::write(&models, r#"[{"model": "no limits"}]"#).unwrap();
    let output = site
        .roster()
        .env("ROSTER_MODELS", &models)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("models file"), "{stderr}");
}

#[tokio::test]
async fn a_backup_taken_while_serving_restores_every_object_and_key() {
    if !crate::common::on_sqlite() {
        eprintln!(
            "a SQLite file's test; on PostgreSQL, pg_dump and its settings are the operator's"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let backup = dir.path().join("roster-backup.db");
    let served = Served::start(&data, |_| {});
    let bootstrap = admin_key_in(&served.stdout()).unwrap();
    let (status, kept) = served
        .post(
            &bootstrap,
            "/v1/organization/projects",
            json!({"name": "Kept"}),
        )
        .await;
    assert_eq!(status, 200);
    let (status, key) = served
        .post(
            &bootstrap,
            "/v1/organization/admin_api_keys",
            json!({"name": "ops"}),
        )
        .await;
    assert_eq!(status, 200);
    let ops_key = key["value"].as_str().unwrap().to_owned();

    // While the server runs, under a write load: a backup is taken, a restore is refused.
    let load = WriteLoad::start(&served, &bootstrap, 4);
    load.reach(20, std::time::Duration::from_secs(20)).await;
    let before_backup = load.acknowledged();
    let (output, said) = {
        let (data, backup) = (data.clone(), backup.clone());
        tokio::task::spawn_blocking(move || run(roster(&data).arg("backup").arg(&backup)))
            .await
            .unwrap()
    };
    let (acknowledged, failed) = load.stop().await;
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(failed, 0, "every write under the backup succeeded");
    assert!(
        acknowledged.len() > before_backup.len(),
        "the writers kept writing while the backup ran"
    );
    let (output, _) = run(roster(&data).arg("backup").arg(&backup));
    assert!(
        !output.status.success(),
        "an existing file is not overwritten"
    );
    let (output, _) = run(roster(&data).arg("restore").arg(&backup));
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("in use by a running roster server"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // A change after the backup, then the server stops and the backup comes back.
    let (status, _) = served
        .post(
            &bootstrap,
            "/v1/organization/projects",
            json!({"name": "Later"}),
        )
        .await;
    assert_eq!(status, 200);
    assert!(served.terminate());
    let not_a_backup = dir.path().join("notes.txt");
    std::fs::write(&not_a_backup, "not a database").unwrap();
    let (output, _) = run(roster(&data).arg("restore").arg(&not_a_backup));
    assert!(
        !output.status.success(),
        "only a Roster database is restored"
    );
    let (output, said) = run(roster(&data).arg("restore").arg(&backup));
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The trigram indexes of SCIM's filters agree with their tables, row for row.
    let restored = rusqlite::Connection::open(data.join("roster.db")).unwrap();
    for index in ["users_search", "org_groups_search"] {
        restored
            .execute(
                &format!("INSERT INTO {index} ({index}, rank) VALUES ('integrity-check', 1)"),
                [],
            )
            .unwrap_or_else(|e| panic!("{index}: {e}"));
    }
    drop(restored);

    let again = Served::start(&data, |_| {});
    // Every project, page by page, with the key made before the backup.
    let projects = again.walk(&ops_key, "/v1/organization/projects").await;
    let names: Vec<&str> = projects
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"Kept") && !names.contains(&"Later"),
        "{names:?}"
    );
    // Every project acknowledged before the backup began is in it.
    let restored: std::collections::HashSet<String> = projects
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    let lost: Vec<&String> = before_backup
        .iter()
        .filter(|id| !restored.contains(*id))
        .collect();
    assert!(
        lost.is_empty(),
        "acknowledged before the backup, and lost: {lost:?}"
    );
    let (status, _) = again
        .get(
            &bootstrap,
            &format!("/v1/organization/projects/{}", kept["id"].as_str().unwrap()),
        )
        .await;
    assert_eq!(status, 200);
    assert!(again.terminate());
}

#[tokio::test]
async fn backup_on_postgresql_points_to_pg_dump() {
    let dir = tempfile::tempdir().unwrap();
    let (output, _) = run(roster(dir.path())
        .env(
            "ROSTER_DATABASE_URL",
            "postgres://postgres@127.0.0.1:5432/test",
        )
        .arg("backup")
        .arg(dir.path().join("b.db")));
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("pg_dump"));
}

#[test]
fn the_service_unit_is_one_systemd_accepts() {
    let Ok(analyze) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("WARNING: systemd-analyze is not installed; the unit is not verified");
        return;
    };
    assert!(analyze.status.success());
    let unit = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/roster.service"
    ))
    .unwrap();
    for needed in [
        "User=roster",
        "EnvironmentFile=",
        "StateDirectory=roster",
        "ReadWritePaths=/var/lib/roster",
        "NoNewPrivileges=true",
        "ProtectSystem=strict",
    ] {
        assert!(unit.contains(needed), "{needed}");
    }
    // Verified as installed, with its ExecStart pointing at this build's binary.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("roster.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/roster", env!("CARGO_BIN_EXE_roster")),
    )
    .unwrap();
    let (output, _) = run(Command::new("systemd-analyze").arg("verify").arg(&path));
    assert!(
        output.status.success() && output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
