//! The one test harness: starts the real server on 127.0.0.1:0 over a fresh database and
//! talks HTTP to it. `ROSTER_TEST_BACKEND=postgres` runs the same tests on PostgreSQL
//! (`ROSTER_TEST_POSTGRES_URL`, default postgres://postgres@127.0.0.1:5432/test), each server
//! on a database of its own.

#![allow(dead_code)]

pub mod contract;
pub mod outbox;
pub mod process;

use std::sync::atomic::{AtomicU32, Ordering};

use reqwest::Method;
use reqwest::header::HeaderMap;
use roster::domain::Clock;
use roster::domain::organization::NewOrganization;
use roster::store::{Store, StoreOptions};
use serde_json::Value;

pub const BOOTSTRAP_KEY: &str = "sk-admin-test0000000000000000000000000000bootstrap";

pub struct TestServer {
    /// `http://127.0.0.1:<port>`
    pub root: String,
    /// The gateway endpoints' own address, with `gateway_listen` set.
    pub gateway_root: Option<String>,
    /// The metrics' own address, with `metrics_listen` set.
    pub metrics_root: Option<String>,
    /// The bootstrap organization's admin key.
    pub key: String,
    pub org_id: String,
    pub default_project_id: String,
    pub clock: Clock,
    pub store: Store,
    client: reqwest::Client,
    server: Option<roster::RunningServer>,
    database: TestDatabase,
    /// The server's database, for tests that reach it from outside (as another client would).
    pub database_url: String,
    pub outbox: tempfile::TempDir,
    read_tokens: std::sync::Mutex<Vec<String>>,
}

/// The server's settings for tests: mail into `outbox`.
pub fn settings(outbox: &std::path::Path) -> roster::api::Settings {
    roster::api::Settings {
        mailer: roster::mail::Mailer::new(&roster::mail::MailConfig {
            smtp_url: None,
            outbox: outbox.to_owned(),
        })
        .unwrap(),
        mail_from: "Roster <roster@localhost>".into(),
        public_url: String::new(),
        invite_lifetime_seconds: roster::domain::invite::DEFAULT_LIFETIME_SECONDS,
        limits: roster::api::Limits::default(),
        gateway_listen: None,
        metrics_listen: None,
        routes: std::sync::Arc::default(),
        models: std::sync::Arc::new(roster::domain::policy::ModelCatalogue::built_in()),
        emulator: None,
    }
}

/// Whether this run is on SQLite (`ROSTER_TEST_BACKEND` unset or `sqlite`).
pub fn on_sqlite() -> bool {
    !matches!(
        std::env::var("ROSTER_TEST_BACKEND").as_deref(),
        Ok("postgres")
    )
}

pub enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl TestDatabase {
    pub async fn create() -> (TestDatabase, String) {
        match std::env::var("ROSTER_TEST_BACKEND").as_deref() {
            Ok("postgres") => {
                let admin_url = std::env::var("ROSTER_TEST_POSTGRES_URL")
                    .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
                static COUNTER: AtomicU32 = AtomicU32::new(0);
                let name = format!(
                    "roster_test_{}_{}",
                    std::process::id(),
                    COUNTER.fetch_add(1, Ordering::Relaxed)
                );
                let admin = Outside::connect(&admin_url).await;
                // A linguistic collation, as many servers are set up with (ICU's en-US, where
                // ':' sorts before '9'), so that no result rests on the C order of this
                // machine's cluster.
                admin
                    .execute(&format!(
                        "CREATE DATABASE {name} TEMPLATE template0 \
                         LOCALE_PROVIDER icu ICU_LOCALE 'en-US'"
                    ))
                    .await;
                let url = match admin_url.rsplit_once('/') {
                    Some((base, _)) => format!("{base}/{name}"),
                    None => panic!("ROSTER_TEST_POSTGRES_URL needs a database path"),
                };
                (TestDatabase::Postgres { admin_url, name }, url)
            }
            Ok("sqlite") | Err(_) => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!(
                    "sqlite://{}?mode=rwc",
                    dir.path().join("roster.db").display()
                );
                (TestDatabase::Sqlite(dir), url)
            }
            Ok(other) => panic!("unknown ROSTER_TEST_BACKEND '{other}': use sqlite or postgres"),
        }
    }
}

/// A test's PostgreSQL database goes when the test ends, passed or failed (a panic unwinds
/// through here too). Dropped from a thread of its own, since a test's runtime may be the one
/// dropping it.
impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            let (admin_url, name) = (admin_url.clone(), name.clone());
            let dropped = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                runtime.block_on(async {
                    let Ok((client, connection)) =
                        tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
                    else {
                        return;
                    };
                    tokio::spawn(connection);
                    let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = client.batch_execute(&drop).await;
                });
            });
            let _ = dropped.join();
        }
    }
}

/// A client of a test's database beside Roster, for what a test does behind its back.
pub enum Outside {
    Sqlite(rusqlite::Connection),
    Postgres(tokio_postgres::Client),
}

impl Outside {
    pub async fn connect(url: &str) -> Outside {
        if url.starts_with("sqlite") {
            return Outside::Sqlite(
                rusqlite::Connection::open(roster::store::sqlite_path(url)).unwrap(),
            );
        }
        let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap_or_else(|e| panic!("no PostgreSQL server is reachable at {url}: {e}"));
        tokio::spawn(connection);
        Outside::Postgres(client)
    }

    /// Runs `sql` (statements without values).
    pub async fn execute(&self, sql: &str) {
        match self {
            Outside::Sqlite(conn) => conn.execute_batch(sql).unwrap(),
            Outside::Postgres(client) => client.batch_execute(sql).await.unwrap(),
        }
    }

    /// The integer columns of the one row `sql` returns.
    pub async fn integers(&self, sql: &str) -> Vec<i64> {
        match self {
            Outside::Sqlite(conn) => conn
                .query_row(sql, [], |row| {
                    (0..row.as_ref().column_count())
                        .map(|i| row.get::<_, i64>(i))
                        .collect()
                })
                .unwrap(),
            Outside::Postgres(client) => {
                let row = client.query_one(sql, &[]).await.unwrap();
                (0..row.len()).map(|i| row.get::<_, i64>(i)).collect()
            }
        }
    }
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(StoreOptions::default(), |_| {}).await
    }

    /// A server with these store options and its settings changed by `configure`.
    pub async fn start_with(
        options: StoreOptions,
        configure: impl FnOnce(&mut roster::api::Settings),
    ) -> TestServer {
        let (database, url) = TestDatabase::create().await;
        let clock = Clock::default();
        let store = Store::open(&url, &options, clock.clone())
            .await
            .expect("open the store");
        let new = NewOrganization::new("Test Organization", "owner@example.com", "Owner").unwrap();
        let founded = store
            .bootstrap(&new, Some(BOOTSTRAP_KEY))
            .await
            .expect("bootstrap")
            .expect("a fresh database");
        let outbox = tempfile::tempdir().expect("outbox dir");
        let mut server_settings = settings(outbox.path());
        configure(&mut server_settings);
        let server = roster::start(
            "127.0.0.1:0".parse().unwrap(),
            store.clone(),
            server_settings,
        )
        .await
        .expect("start the server");
        TestServer {
            root: format!("http://{}", server.addr),
            gateway_root: server.gateway_addr.map(|a| format!("http://{a}")),
            metrics_root: server.metrics_addr.map(|a| format!("http://{a}")),
            key: founded.admin_key,
            org_id: founded.organization.id,
            default_project_id: founded.organization.default_project_id,
            clock,
            store,
            client: reqwest::Client::new(),
            server: Some(server),
            database,
            database_url: url,
            outbox,
            read_tokens: std::sync::Mutex::default(),
        }
    }

    /// The token of the invite most recently mailed to `email`: the one this test has not read
    /// yet, from the outbox's `.eml` files (waiting briefly: mail goes out after the response).
    /// `None` if no new invite reached `email`.
    pub async fn invite_token(&self, email: &str) -> Option<String> {
        for _ in 0..100 {
            let unread = outbox::tokens_to(self.outbox.path(), email)
                .into_iter()
                .find(|token| !self.read_tokens.lock().unwrap().contains(token));
            if let Some(token) = unread {
                self.read_tokens.lock().unwrap().push(token.clone());
                return Some(token);
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        None
    }

    /// Adds a user of the organization to a project with `role`.
    pub async fn add_member(&self, project: &str, user_id: &str, role: &str) {
        self.admin()
            .post(
                &format!("/v1/organization/projects/{project}/users"),
                serde_json::json!({"user_id": user_id, "role": role}),
            )
            .await
            .ok();
    }

    /// Creates a project named `name`; returns its id.
    pub async fn add_project(&self, name: &str) -> String {
        self.admin()
            .post(
                "/v1/organization/projects",
                serde_json::json!({"name": name}),
            )
            .await
            .id()
    }

    /// Archives `project`.
    pub async fn archive_project(&self, project: &str) {
        self.admin()
            .post(
                &format!("/v1/organization/projects/{project}/archive"),
                serde_json::json!({}),
            )
            .await
            .ok();
    }

    /// Invites `email` and accepts as `name`; returns the new user's id.
    pub async fn add_user(&self, email: &str, role: &str, name: &str) -> String {
        self.admin()
            .post(
                "/v1/organization/invites",
                serde_json::json!({"email": email, "role": role, "projects": []}),
            )
            .await
            .ok();
        let token = self.invite_token(email).await.expect("an invite email");
        self.anonymous()
            .post(
                &format!("/v1/invites/{token}/accept"),
                serde_json::json!({"name": name}),
            )
            .await
            .id()
    }

    /// The id of the bootstrap organization's first owner (owner@example.com).
    pub async fn owner_id(&self) -> String {
        self.admin()
            .get("/v1/organization/users?emails=owner@example.com")
            .await
            .ok()["data"][0]["id"]
            .as_str()
            .expect("the first owner")
            .to_owned()
    }

    /// Calls with the bootstrap organization's admin key.
    pub fn admin(&self) -> Caller<'_> {
        Caller {
            server: self,
            key: Some(self.key.clone()),
        }
    }

    pub fn with_key(&self, key: &str) -> Caller<'_> {
        Caller {
            server: self,
            key: Some(key.to_owned()),
        }
    }

    pub fn anonymous(&self) -> Caller<'_> {
        Caller {
            server: self,
            key: None,
        }
    }

    /// Invites `email` as an organization owner, accepts, and gives her an admin key of her own;
    /// returns her id and the key.
    pub async fn add_owner_with_key(&self, email: &str, name: &str) -> (String, String) {
        let id = self.add_user(email, "owner", name).await;
        let (_, key) = self
            .store
            .create_admin_key(
                &self.cli_author(),
                &id,
                Some(&format!("{name}'s key")),
                None,
            )
            .await
            .expect("an admin key for the new owner");
        (id, key)
    }

    /// What `POST /v1/gateway/check` answers about `key` for `api.model.request`: the answer
    /// when the key verified (the call may still be denied for a permission), `None` when the key
    /// itself was refused.
    pub async fn gateway_check(&self, key: &str) -> Option<Value> {
        let answer = self
            .anonymous()
            .post("/v1/gateway/check", serde_json::json!({"api_key": key}))
            .await
            .ok()
            .clone();
        (answer["error"]["code"] != "invalid_api_key").then_some(answer)
    }

    /// A new project `name` with a service account, `bot`, and the account's first key.
    pub async fn project_with_bot(&self, name: &str) -> Bot {
        let admin = self.admin();
        let project = self.add_project(name).await;
        let account = admin
            .post(
                &format!("/v1/organization/projects/{project}/service_accounts"),
                serde_json::json!({"name": "bot"}),
            )
            .await;
        let key = &account.ok()["api_key"];
        Bot {
            key: key["value"].as_str().expect("the key's value").to_owned(),
            key_id: key["id"].as_str().expect("the key's id").to_owned(),
            id: account.id(),
            project,
        }
    }

    /// The author of changes made through Roster's CLI (no actor), in the bootstrap organization.
    pub fn cli_author(&self) -> roster::store::Author {
        roster::store::Author {
            org_id: self.org_id.clone(),
            actor: None,
            default_project_id: None,
        }
    }

    /// A second organization, as `roster org create` makes it; returns its admin key.
    pub async fn second_organization(&self) -> String {
        let new = NewOrganization::new("Other Organization", "other@example.com", "Other").unwrap();
        self.store
            .create_organization(&new, None)
            .await
            .expect("second organization")
            .admin_key
    }

    pub async fn stop(mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.expect("clean shutdown");
        }
        // The database goes with `self`.
    }
}

/// A project's service account and its first key (`TestServer::project_with_bot`).
pub struct Bot {
    pub project: String,
    pub id: String,
    pub key: String,
    pub key_id: String,
}

/// Requests made with one credential (or none).
pub struct Caller<'a> {
    server: &'a TestServer,
    key: Option<String>,
}

impl Caller<'_> {
    pub async fn request(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.request_with(method, path, body, &[]).await
    }

    /// A request with `headers` besides the credential.
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut request = self
            .server
            .client
            .request(method, format!("{}{path}", self.server.root));
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        Resp::from(request.send().await.expect("the server answers")).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.request(Method::POST, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, None).await
    }

    /// Sends a raw body, for malformed input.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Resp {
        let mut request = self
            .server
            .client
            .post(format!("{}{path}", self.server.root))
            .header("content-type", "application/json")
            .body(body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key);
        }
        Resp::from(request.send().await.expect("the server answers")).await
    }
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    async fn from(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("a body");
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Resp {
            status,
            headers,
            body,
        }
    }

    /// Asserts success and returns the body.
    #[track_caller]
    pub fn ok(&self) -> &Value {
        assert_eq!(
            self.status, 200,
            "expected 200, got {}: {}",
            self.status, self.body
        );
        &self.body
    }

    /// Asserts the status and a well-formed OpenAI error envelope naming `param`.
    #[track_caller]
    pub fn error(&self, status: u16, param: Option<&str>) -> &Value {
        assert_eq!(
            self.status, status,
            "expected {status}, got {}: {}",
            self.status, self.body
        );
        let error = self
            .body
            .get("error")
            .unwrap_or_else(|| panic!("no error envelope in {}", self.body));
        let fields: Vec<&str> = error
            .as_object()
            .expect("error is an object")
            .keys()
            .map(String::as_str)
            .collect();
        for field in ["message", "type", "param", "code"] {
            assert!(
                fields.contains(&field),
                "the envelope lacks '{field}': {error}"
            );
        }
        assert!(
            error["message"].as_str().is_some_and(|m| !m.is_empty()),
            "empty message: {error}"
        );
        assert!(error["type"].is_string(), "type must be a string: {error}");
        assert_eq!(error["param"].as_str(), param, "param of {error}");
        assert_eq!(
            self.headers
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/json"),
            "errors are JSON"
        );
        error
    }

    /// Asserts the status and envelope as `error` does, and that the message mentions `text`;
    /// returns the error.
    #[track_caller]
    pub fn error_mentioning(&self, status: u16, param: Option<&str>, text: &str) -> &Value {
        let error = self.error(status, param);
        let message = error["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(text),
            "'{message}' does not mention '{text}'"
        );
        error
    }

    pub fn id(&self) -> String {
        self.ok()["id"].as_str().expect("an id").to_owned()
    }
}

/// Walks a list to its end with `after`, returning every id in order.
pub async fn walk(caller: &Caller<'_>, path: &str, limit: u32) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<String> = None;
    let separator = if path.contains('?') { '&' } else { '?' };
    loop {
        let url = match &after {
            Some(a) => format!("{path}{separator}limit={limit}&after={a}"),
            None => format!("{path}{separator}limit={limit}"),
        };
        let page = caller.get(&url).await;
        let body = page.ok();
        let data = body["data"].as_array().expect("data");
        assert!(data.len() <= limit as usize);
        let page_ids: Vec<String> = data
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(
            body["first_id"].as_str(),
            page_ids.first().map(String::as_str)
        );
        assert_eq!(
            body["last_id"].as_str(),
            page_ids.last().map(String::as_str)
        );
        ids.extend(page_ids);
        if !body["has_more"].as_bool().expect("has_more") {
            return ids;
        }
        after = body["last_id"].as_str().map(str::to_owned);
        assert!(ids.len() < 100_000, "the walk does not end");
    }
}
