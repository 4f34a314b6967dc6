//! Forward auth through the real gateways: nginx and Caddy, each run with the recipe from
//! `deploy/`, in front of an upstream that echoes the headers it received. `scripts/test`
//! installs both; elsewhere a missing one is skipped with a warning (never under CI).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::TestServer;

/// An upstream that answers every request with the headers it received, as JSON.
pub async fn echo_upstream() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let app = axum::Router::new().fallback(|headers: axum::http::HeaderMap| async move {
        let seen: BTreeMap<String, String> = headers
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
            .collect();
        axum::Json(json!({"upstream": true, "headers": seen}))
    });
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.ok();
    });
    (addr, task)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A recipe from `deploy/`, pointed at this test's Roster, upstream and port.
pub fn recipe(name: &str, roster: &str, upstream: &str, port: u16) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(name);
    std::fs::read_to_string(path)
        .unwrap()
        .replace("127.0.0.1:8080", roster)
        .replace("127.0.0.1:8000", upstream)
        .replace("8088", &port.to_string())
}

/// A gateway process, stopped when dropped.
pub struct Gateway {
    child: Child,
    pub base: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Gateway {
    fn started(mut child: Child, port: u16, what: &str) -> Gateway {
        let deadline = Instant::now() + Duration::from_secs(15);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("{what} exited at start: {status}");
            }
            assert!(Instant::now() < deadline, "{what} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Gateway {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }
}

/// `program`'s path, or `None` (with a warning) where it is missing outside CI.
fn installed(program: &str) -> Option<String> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .chain([Path::new("/usr/sbin").to_owned()])
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    match found {
        Some(path) => Some(path.display().to_string()),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{program} is not installed; scripts/test installs it")
        }
        None => {
            eprintln!("WARNING: {program} is not installed; its forward-auth test is SKIPPED");
            None
        }
    }
}

fn nginx(dir: &Path, roster: &str, upstream: &str) -> Option<Gateway> {
    let port = free_port();
    nginx_with(dir, recipe("nginx.conf", roster, upstream, port), port)
}

/// nginx with `conf` (a recipe from `deploy/`) as its one server, listening on `port`.
pub fn nginx_with(dir: &Path, conf: String, port: u16) -> Option<Gateway> {
    let program = installed("nginx")?;
    std::fs::write(dir.join("roster.conf"), conf).unwrap();
    let conf = format!(
        "daemon off; user root; pid {dir}/nginx.pid; error_log {dir}/error.log warn;\n\
         events {{}}\n\
         http {{ access_log off; client_body_temp_path {dir}/body; proxy_temp_path {dir}/proxy;\n\
         include {dir}/roster.conf; }}\n",
        dir = dir.display()
    );
    std::fs::write(dir.join("nginx.conf"), conf).unwrap();
    let child = Command::new(program)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(dir.join("nginx.conf"))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    Some(Gateway::started(child, port, "nginx"))
}

fn caddy(dir: &Path, roster: &str, upstream: &str) -> Option<Gateway> {
    let program = installed("caddy")?;
    let port = free_port();
    let file = dir.join("Caddyfile");
    std::fs::write(&file, recipe("Caddyfile", roster, upstream, port)).unwrap();
    let child = Command::new(program)
        .args(["run", "--adapter", "caddyfile", "--config"])
        .arg(&file)
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Some(Gateway::started(child, port, "caddy"))
}

async fn call(
    gateway: &Gateway,
    key: &str,
    path: &str,
    model: Option<&str>,
) -> (u16, String, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", gateway.base))
        .bearer_auth(key)
        .json(&json!({"model": model, "messages": []}));
    if let Some(model) = model {
        request = request.header("x-roster-model", model);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, content_type, body)
}

/// Every case of the issue, through `gateway`.
async fn every_case(s: &TestServer, gateway: &Gateway, what: &str) {
    let admin = s.admin();
    let bot = s.project_with_bot(what).await;
    let (project, key, key_id) = (&bot.project, &bot.key, &bot.key_id);
    let chat = "/v1/chat/completions";

    // A valid key reaches the upstream, with what Roster knows of it.
    let (status, _, body) = call(gateway, key, chat, Some("gpt-4o")).await;
    assert_eq!(status, 200, "{what}: {body}");
    assert_eq!(body["upstream"], true, "{what}");
    let headers = &body["headers"];
    assert_eq!(
        headers["x-roster-organization-id"],
        s.org_id.as_str(),
        "{what}: {headers}"
    );
    assert_eq!(headers["x-roster-project-id"], project.as_str());
    assert_eq!(headers["x-roster-api-key-id"], key_id.as_str());
    assert_eq!(headers["x-roster-owner-type"], "service_account");
    assert_eq!(headers["x-roster-owner-id"], bot.id.as_str());
    assert!(
        headers["x-roster-ratelimit-limit-requests"]
            .as_str()
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );
    assert!(
        headers["x-roster-ratelimit-limit-tokens"]
            .as_str()
            .is_some_and(|v| v.parse::<u64>().is_ok())
    );

    // A wrong key: 401 with the OpenAI body, from the gateway.
    let (status, content_type, body) = call(
        gateway,
        "sk-proj-0000000000000000000000000000wrong",
        chat,
        None,
    )
    .await;
    assert_eq!(
        (status, content_type.as_str()),
        (401, "application/json"),
        "{what}: {body}"
    );
    assert_eq!(body["error"]["code"], "invalid_api_key");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Incorrect API key provided")
    );

    // A key without the route's permission.
    let scoped = admin
        .post(
            &format!(
                "/v1/organization/projects/{project}/service_accounts/{}/api_keys",
                bot.id
            ),
            json!({"name": "read-only", "scopes": ["api.model.read"]}),
        )
        .await;
    let scoped = scoped.ok()["value"].as_str().unwrap().to_owned();
    let (status, _, body) = call(gateway, &scoped, chat, None).await;
    assert_eq!(status, 401, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Missing scopes: api.model.request")
    );
    // The other resources have permissions of their own: a member's key uploads a file, the
    // read-only key may not.
    assert_eq!(call(gateway, key, "/v1/files", None).await.0, 200, "{what}");
    let (status, _, body) = call(gateway, &scoped, "/v1/files", None).await;
    assert_eq!(status, 401, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("Missing scopes: api.files.write"),
        "{what}: {body}"
    );

    // A model outside the project's allow list.
    admin
        .post(
            &format!("/v1/organization/projects/{project}/model_permissions"),
            json!({"mode": "allow_list", "model_ids": ["o3"]}),
        )
        .await
        .ok();
    let (status, _, body) = call(gateway, key, chat, Some("gpt-4o")).await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (403, &json!("model_not_found")),
        "{what}: {body}"
    );
    assert_eq!(call(gateway, key, chat, Some("o3")).await.0, 200);

    // A route outside the table.
    let (status, _, body) = call(gateway, key, "/v1/containers", None).await;
    assert_eq!(status, 403, "{what}: {body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not a route Roster authorizes")
    );

    // A revoked key stops passing (at once: this Roster made the change).
    admin
        .delete(&format!(
            "/v1/organization/projects/{project}/service_accounts/{}",
            bot.id
        ))
        .await
        .ok();
    assert_eq!(call(gateway, key, chat, Some("o3")).await.0, 401, "{what}");
}

#[tokio::test]
async fn nginx_and_caddy_ask_roster_before_they_pass_a_request() {
    let s = TestServer::start().await;
    let roster = s.root.trim_start_matches("http://").to_owned();
    let (upstream, _echo) = echo_upstream().await;
    let dir = tempfile::tempdir().unwrap();
    let nginx_dir = dir.path().join("nginx");
    let caddy_dir = dir.path().join("caddy");
    std::fs::create_dir_all(&nginx_dir).unwrap();
    std::fs::create_dir_all(&caddy_dir).unwrap();
    if let Some(nginx) = nginx(&nginx_dir, &roster, &upstream) {
        every_case(&s, &nginx, "nginx").await;
    }
    if let Some(caddy) = caddy(&caddy_dir, &roster, &upstream) {
        every_case(&s, &caddy, "caddy").await;
    }
    s.stop().await;
}

#[tokio::test]
async fn an_operator_maps_routes_of_its_own() {
    let routes = roster::domain::gateway::RouteTable::with_routes_from(
        r#"[{"method": "POST", "path": "/v1/containers", "permission": "api.model.read"}]"#,
    )
    .unwrap();
    let s = TestServer::start_with(roster::store::StoreOptions::default(), |settings| {
        settings.routes = std::sync::Arc::new(routes);
    })
    .await;
    let bot = s.project_with_bot("Containers").await;
    let (base, key) = (s.root.clone(), bot.key.clone());
    let client = reqwest::Client::new();
    let ask = |method: &'static str, uri: &'static str| {
        let request = client
            .get(format!("{base}/v1/gateway/auth"))
            .bearer_auth(&key)
            .header("x-forwarded-method", method)
            .header("x-forwarded-uri", uri);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(
        ask("POST", "/v1/containers").await,
        200,
        "mapped by the operator"
    );
    assert_eq!(
        ask("GET", "/v1/containers").await,
        403,
        "another method: not mapped"
    );
    assert_eq!(
        ask("POST", "/v1/chat/completions").await,
        200,
        "the built-in table still holds"
    );
    s.stop().await;
}
