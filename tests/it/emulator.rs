//! The emulator (`roster serve --emulator`): its clock, its reset, its fixtures and its rate
//! limits, over HTTP, as a suite that tests admin automation against Roster uses them.

use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use roster::api::{Emulator, RateLimits, Settings};
use roster::domain::fixtures::Fixtures;
use roster::store::StoreOptions;
use serde_json::{Value, json};

use crate::common::process::{Served, roster};
use crate::common::{BOOTSTRAP_KEY, TestDatabase, TestServer, walk};

const CLOCK: &str = "/v1/emulator/clock";
const RESET: &str = "/v1/emulator/reset";
const FIXTURE_ADMIN_KEY: &str = "sk-admin-fixture0000000000000000ada";
const FIXTURE_ACCOUNT_KEY: &str = "sk-svcacct-fixture000000000000bot";
const FIXTURE_MEMBER_KEY: &str = "sk-proj-fixture0000000000000000bob";

/// A world with two people, a project with both, a service account, a group, a custom role and
/// keys of fixed values; and a second organization.
const FIXTURES: &str = r#"
organizations:
  - users:
      - {id: user-ada, email: ada@example.com, name: Ada, role: owner}
      - {id: user-bob, email: bob@example.com, name: Bob}
    admin_keys:
      - {value: sk-admin-fixture0000000000000000ada, name: CI, owner: ada@example.com}
    projects:
      - id: proj_web
        name: Web
        members:
          - {user: ada@example.com, role: owner}
          - {user: bob@example.com, role: member}
        service_accounts:
          - {id: svc_acct_bot, name: Deploy bot, key: sk-svcacct-fixture000000000000bot}
        api_keys:
          - {user: bob@example.com, value: sk-proj-fixture0000000000000000bob, name: laptop}
        roles:
          - {id: role_web_reader, name: Web reader, permissions: [api.model.read], users: [bob@example.com]}
    groups:
      - id: group_eng
        name: Engineering
        users: [bob@example.com]
        projects: [{project: proj_web, role: role-api-project-viewer}]
    roles:
      - {id: role_auditor, name: Auditor, permissions: [api.audit_logs.read], users: [bob@example.com], groups: [group_eng]}
  - id: org-other
    name: Other
    owner: {email: eve@example.com, name: Eve}
    admin_keys:
      - {value: sk-admin-fixture0000000000000000eve, owner: eve@example.com}
"#;

fn emulator(fixtures: Option<&str>, rate_limits: Option<u32>) -> impl FnOnce(&mut Settings) {
    let fixtures = fixtures.map(|text| Arc::new(Fixtures::parse(text).unwrap()));
    move |settings| {
        settings.emulator = Some(Emulator {
            fixtures,
            rate_limits: rate_limits.map(|rpm| Arc::new(RateLimits::new(rpm))),
        });
    }
}

#[tokio::test]
async fn the_controls_exist_only_under_emulator_and_need_an_admin_key() {
    let off = TestServer::start().await;
    off.admin()
        .post(CLOCK, json!({"advance_seconds": 1}))
        .await
        .error(404, None);
    off.admin().post(RESET, json!({})).await.error(404, None);
    off.stop().await;

    let on = TestServer::start_with(StoreOptions::default(), emulator(None, None)).await;
    on.anonymous().post(RESET, json!({})).await.error(401, None);
    on.anonymous()
        .post(CLOCK, json!({"advance_seconds": 1}))
        .await
        .error(401, None);
    on.stop().await;
}

#[tokio::test]
async fn the_clock_moves_expiry_and_the_times_of_new_objects() {
    let s = TestServer::start_with(StoreOptions::default(), emulator(None, None)).await;
    let admin = s.admin();
    let invite = admin
        .post(
            "/v1/organization/invites",
            json!({"email": "late@example.com", "role": "reader"}),
        )
        .await
        .id();
    let token = s.invite_token("late@example.com").await.unwrap();
    let short = admin
        .post(
            "/v1/organization/admin_api_keys",
            json!({"name": "short", "expires_in_seconds": 60}),
        )
        .await
        .ok()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    s.with_key(&short)
        .get("/v1/organization/projects")
        .await
        .ok();

    let before = s.clock.now();
    let week = 7 * 86_400 + 1;
    let moved = admin.post(CLOCK, json!({"advance_seconds": week})).await;
    let now = moved.ok()["now"].as_i64().unwrap();
    assert!((before + week..=before + week + 2).contains(&now), "{now}");
    assert_eq!(moved.ok()["object"], "emulator.clock");
    assert_eq!(
        admin
            .get(&format!("/v1/organization/invites/{invite}"))
            .await
            .ok()["status"],
        "expired"
    );
    let refused = s
        .anonymous()
        .post(
            &format!("/v1/invites/{token}/accept"),
            json!({"name": "Late"}),
        )
        .await;
    assert_eq!(refused.error(400, None)["code"], "invite_expired");
    s.with_key(&short)
        .get("/v1/organization/projects")
        .await
        .error_mentioning(401, None, "has expired");

    let then = 2_000_000_000;
    let set = admin.post(CLOCK, json!({"now": then})).await;
    assert!((then..=then + 2).contains(&set.ok()["now"].as_i64().unwrap()));
    let created = admin
        .post("/v1/organization/projects", json!({"name": "Then"}))
        .await;
    let created_at = created.ok()["created_at"].as_i64().unwrap();
    assert!((then..=then + 2).contains(&created_at), "{created_at}");

    // Exactly one of the two, and a time the clock can show; a refusal moves nothing.
    for (body, param) in [
        (json!({}), "advance_seconds"),
        (
            json!({"advance_seconds": 1, "now": then}),
            "advance_seconds",
        ),
        (json!({"now": -1}), "now"),
        (json!({"advance_seconds": i64::MAX}), "advance_seconds"),
    ] {
        admin.post(CLOCK, body).await.error(400, Some(param));
    }
    assert!((then..=then + 5).contains(&s.clock.now()));
    s.stop().await;
}

#[tokio::test]
async fn reset_returns_to_the_founded_state_and_the_fixtures() {
    let s = TestServer::start_with(StoreOptions::default(), emulator(Some(FIXTURES), None)).await;
    let admin = s.admin();
    // The first load, as `roster serve` does it on a new database.
    s.store
        .load_fixtures(&Fixtures::parse(FIXTURES).unwrap())
        .await
        .unwrap();
    let founded_users = walk(&admin, "/v1/organization/users", 100).await;
    let founded_projects = walk(&admin, "/v1/organization/projects", 100).await;

    // A test's changes: a project, an invite, a user removed, the owner's key renamed away.
    s.add_project("Scratch").await;
    admin
        .post(
            "/v1/organization/invites",
            json!({"email": "new@example.com", "role": "reader"}),
        )
        .await
        .ok();
    admin.delete("/v1/organization/users/user-bob").await.ok();

    let reset = admin.post(RESET, json!({})).await;
    assert_eq!(reset.ok()["object"], "emulator.reset");
    assert_eq!(reset.ok()["organization_id"], s.org_id.as_str());
    assert_eq!(reset.ok()["fixtures_loaded"], true);

    assert_eq!(
        walk(&admin, "/v1/organization/users", 100).await,
        founded_users
    );
    assert_eq!(
        walk(&admin, "/v1/organization/projects", 100).await,
        founded_projects
    );
    assert!(
        walk(&admin, "/v1/organization/invites", 100)
            .await
            .is_empty()
    );
    // The bootstrap key (this very caller) and the fixtures' keys keep working.
    let ada = s.with_key(FIXTURE_ADMIN_KEY);
    assert_eq!(
        ada.get("/v1/organization/projects/proj_web").await.ok()["name"],
        "Web"
    );
    let bot = s.gateway_check(FIXTURE_ACCOUNT_KEY).await.unwrap();
    assert_eq!(bot["allowed"], true, "{bot}");
    // Nothing the test did is in the audit log any more.
    let events = s
        .admin()
        .get("/v1/organization/audit_logs?limit=100")
        .await
        .ok()
        .clone();
    let types: Vec<&str> = events["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert!(!types.contains(&"invite.sent"), "{types:?}");
    assert!(!types.contains(&"user.deleted"), "{types:?}");
    s.stop().await;
}

/// `roster serve` with these arguments on a database of the test's backend.
fn serve_emulator(
    database_url: &str,
    data: &std::path::Path,
    fixtures: &std::path::Path,
) -> Served {
    Served::start(data, |c| {
        c.env("ROSTER_DATABASE_URL", database_url)
            .env("ROSTER_BOOTSTRAP_ADMIN_KEY", BOOTSTRAP_KEY)
            .arg("--emulator")
            .arg("--fixtures")
            .arg(fixtures);
    })
}

/// What `roster serve` with these arguments prints to stderr when it refuses to start.
fn refused_start(data: &std::path::Path, args: &[&str]) -> String {
    let mut child = roster(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(!status.success(), "roster serve {args:?} started");
            let mut stderr = String::new();
            std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
            return stderr;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("roster serve {args:?} neither refused nor stopped");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test]
async fn a_fixtures_file_is_loaded_at_start_and_a_malformed_one_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("world.yaml");
    std::fs::write(&file, FIXTURES).unwrap();
    let (_database, url) = TestDatabase::create().await;
    let served = serve_emulator(&url, &dir.path().join("data"), &file);

    let get = |key: &'static str, path: String| {
        let served = &served;
        async move {
            let (status, body) = served.get(key, &path).await;
            assert_eq!(status, 200, "{path}: {body}");
            body
        }
    };
    let names = |list: &Value, field: &str| -> Vec<String> {
        list["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v[field].as_str().unwrap().to_owned())
            .collect()
    };
    let members = get(
        FIXTURE_ADMIN_KEY,
        "/v1/organization/projects/proj_web/users".into(),
    )
    .await;
    let roles: Vec<(String, String)> = members["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["id"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        roles,
        [
            ("user-ada".into(), "owner".into()),
            ("user-bob".into(), "member".into())
        ]
    );
    let account = get(
        BOOTSTRAP_KEY,
        "/v1/organization/projects/proj_web/service_accounts/svc_acct_bot".into(),
    )
    .await;
    assert_eq!(account["name"], "Deploy bot");
    assert_eq!(account["role"], "member");
    let keys = get(
        BOOTSTRAP_KEY,
        "/v1/organization/projects/proj_web/api_keys".into(),
    )
    .await;
    assert_eq!(names(&keys, "name"), ["Secret Key", "laptop"]);
    let group = get(
        BOOTSTRAP_KEY,
        "/v1/organization/groups/group_eng/users".into(),
    )
    .await;
    assert_eq!(names(&group, "id"), ["user-bob"]);
    let held = get(
        BOOTSTRAP_KEY,
        "/v1/organization/users/user-bob/roles".into(),
    )
    .await;
    assert!(
        names(&held, "id").contains(&"role_auditor".to_owned()),
        "{held}"
    );
    let held = get(
        BOOTSTRAP_KEY,
        "/v1/projects/proj_web/users/user-bob/roles".into(),
    )
    .await;
    assert!(
        names(&held, "id").contains(&"role_web_reader".to_owned()),
        "{held}"
    );
    let (status, check) = served
        .post(
            BOOTSTRAP_KEY,
            "/v1/gateway/check",
            json!({"api_key": FIXTURE_MEMBER_KEY, "model": "gpt-4o"}),
        )
        .await;
    assert_eq!(
        (status, check["allowed"].clone()),
        (200, json!(true)),
        "{check}"
    );
    let other = get(
        "sk-admin-fixture0000000000000000eve",
        "/v1/organization/projects".into(),
    )
    .await;
    assert_eq!(names(&other, "name"), ["Default project"]);
    drop(served);

    // Malformed: the entry is named and nothing starts.
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "organizations:\n  - projects:\n      - name: Web\n        members:\n          - {user: ada@example.com, role: boss}\n",
    )
    .unwrap();
    let bad_path = bad.to_str().unwrap();
    let said = refused_start(
        &dir.path().join("bad"),
        &["--emulator", "--fixtures", bad_path],
    );
    assert!(
        said.contains("organizations[0].projects[0].members[0].role") && said.contains("boss"),
        "{said}"
    );
    // Well-formed but naming someone who is not there: refused as it is loaded, entry named.
    std::fs::write(
        &bad,
        "organizations:\n  - projects:\n      - name: Web\n        members:\n          - {user: nobody@example.com, role: owner}\n",
    )
    .unwrap();
    let said = refused_start(
        &dir.path().join("absent"),
        &["--emulator", "--fixtures", bad_path],
    );
    assert!(
        said.contains("organizations[0].projects[0].members[0]")
            && said.contains("nobody@example.com"),
        "{said}"
    );
    // Fixtures are an emulator's.
    let said = refused_start(&dir.path().join("plain"), &["--fixtures", bad_path]);
    assert!(said.contains("--emulator"), "{said}");
}

#[tokio::test]
async fn emulated_rate_limits_answer_429_with_retry_after() {
    let s = TestServer::start_with(StoreOptions::default(), emulator(None, Some(3))).await;
    let admin = s.admin();
    for _ in 0..3 {
        admin.get("/v1/organization/projects").await.ok();
    }
    let refused = admin.get("/v1/organization/projects").await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    assert_eq!(refused.body["error"]["type"], "requests");
    assert_eq!(refused.body["error"]["code"], "rate_limit_exceeded");
    let seconds: i64 = refused.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    let millis: i64 = refused.headers["retry-after-ms"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
    assert_eq!(millis, seconds * 1000);
    // Another endpoint, another key: counted apart. A project's route is one endpoint whatever
    // its id.
    admin.get("/v1/organization/users").await.ok();
    let (_, other_key) = s.add_owner_with_key("ops@example.com", "Ops").await;
    s.with_key(&other_key)
        .get("/v1/organization/projects")
        .await
        .ok();
    let project = format!("/v1/organization/projects/{}", s.default_project_id);
    for _ in 0..3 {
        admin.get(&project).await.ok();
    }
    assert_eq!(admin.get(&project).await.status, 429);
    // The next minute of the emulator's clock starts afresh.
    admin.post(CLOCK, json!({"advance_seconds": 60})).await.ok();
    admin.get("/v1/organization/projects").await.ok();
    s.stop().await;

    // Without --emulate-rate-limits nothing is refused.
    let unlimited = TestServer::start_with(StoreOptions::default(), emulator(None, None)).await;
    for _ in 0..20 {
        unlimited
            .admin()
            .get("/v1/organization/projects")
            .await
            .ok();
    }
    unlimited.stop().await;
}
