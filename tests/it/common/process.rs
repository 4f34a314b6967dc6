//! The `roster` binary as a process: for the CLI tests and for several replicas on one database.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_roster");

/// A `roster` command on `data_dir`, untouched by the caller's ROSTER_* environment.
pub fn roster(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("ROSTER_") {
            command.env_remove(name);
        }
    }
    command
        .arg("--data-dir")
        .arg(data_dir)
        .env("ROSTER_LOG_FORMAT", "json");
    command
}

/// Where `roster` commands keep their state: a data directory and the suite's backend. On
/// SQLite the database is the data directory's file; on PostgreSQL
/// (`ROSTER_TEST_BACKEND=postgres`) a database of the site's own, dropped with it.
pub struct Site {
    pub data: PathBuf,
    /// The database's URL, as `Outside::connect` takes it.
    pub database_url: String,
    database: super::TestDatabase,
}

impl Site {
    pub async fn new(data: &Path) -> Site {
        let (database, url) = super::TestDatabase::create().await;
        let database_url = match database {
            super::TestDatabase::Postgres { .. } => url,
            super::TestDatabase::Sqlite(_) => {
                format!("sqlite://{}", data.join("roster.db").display())
            }
        };
        Site {
            data: data.to_owned(),
            database_url,
            database,
        }
    }

    pub fn is_sqlite(&self) -> bool {
        matches!(self.database, super::TestDatabase::Sqlite(_))
    }

    /// A `roster` command on this site.
    pub fn roster(&self) -> Command {
        let mut command = roster(&self.data);
        self.on_database(&mut command);
        command
    }

    /// `roster serve` on this site, with `configure`'s arguments and environment.
    pub fn serve(&self, configure: impl FnOnce(&mut Command)) -> Served {
        Served::start(&self.data, |command| {
            self.on_database(command);
            configure(command);
        })
    }

    fn on_database(&self, command: &mut Command) {
        if !self.is_sqlite() {
            command.env("ROSTER_DATABASE_URL", &self.database_url);
        }
    }
}

/// A `roster serve` process on an ephemeral port.
pub struct Served {
    pub base: String,
    pub data_dir: PathBuf,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Served {
    pub fn start(data_dir: &Path, configure: impl FnOnce(&mut Command)) -> Served {
        static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stdout = data_dir.with_extension(format!("stdout.{n}"));
        let stderr = data_dir.with_extension(format!("stderr.{n}"));
        let mut command = roster(data_dir);
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        configure(&mut command);
        let mut child = command
            .stdout(Stdio::from(File::create(&stdout).unwrap()))
            .stderr(Stdio::from(File::create(&stderr).unwrap()))
            .spawn()
            .expect("roster serve starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        let addr = loop {
            let log = std::fs::read_to_string(&stderr).unwrap_or_default();
            let serving = log
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|l| l["fields"]["message"] == "roster is serving")
                .and_then(|l| l["fields"]["addr"].as_str().map(str::to_owned));
            if let Some(addr) = serving {
                break addr;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("roster did not log the address it serves on: {log}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        Served {
            data_dir: data_dir.to_owned(),
            child,
            base: format!("http://{addr}"),
            stdout,
            stderr,
        }
    }

    /// A replica: `roster serve` on `database_url` (the data dir holds only its outbox), the
    /// bootstrap key fixed so that replicas starting together found one organization.
    pub fn replica(data_dir: &Path, database_url: &str) -> Served {
        Served::start(data_dir, |c| {
            c.env("ROSTER_DATABASE_URL", database_url)
                .env("ROSTER_BOOTSTRAP_ADMIN_KEY", super::BOOTSTRAP_KEY);
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The token of the newest invite mailed to `email` in this process's outbox folder, waiting
    /// up to ten seconds for it.
    pub async fn outbox_token(&self, email: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let newest = super::outbox::tokens_to(&self.data_dir.join("outbox"), email).pop();
            if let Some(token) = newest {
                return token;
            }
            assert!(Instant::now() < deadline, "no invite reached {email}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub async fn get(&self, key: &str, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub async fn post(
        &self,
        key: &str,
        path: &str,
        body: serde_json::Value,
    ) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .post(format!("{}{path}", self.base))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub async fn delete(&self, key: &str, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new()
            .delete(format!("{}{path}", self.base))
            .bearer_auth(key)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Every item of the list at `path`, page by page (100 at a time, by `after`).
    pub async fn walk(&self, key: &str, path: &str) -> Vec<serde_json::Value> {
        let mut items = Vec::new();
        let mut after = String::new();
        loop {
            let (status, page) = self.get(key, &format!("{path}?limit=100{after}")).await;
            assert_eq!(status, 200, "{page}");
            items.extend(page["data"].as_array().unwrap().iter().cloned());
            if page["has_more"] != true {
                return items;
            }
            after = format!("&after={}", page["last_id"].as_str().unwrap());
        }
    }

    /// Kills the process outright (SIGKILL), as a crash or an out-of-memory kill would.
    pub fn kill(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("the killed process is reaped");
    }

    /// Sends SIGTERM and returns whether the process exited with status 0.
    pub fn terminate(self) -> bool {
        self.signal("TERM");
        self.exits()
    }

    /// Sends the signal `name` (`TERM`, `INT`, ...), and returns at once.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([format!("-{name}"), self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name}");
    }

    /// Waits up to 15 s for the process to exit; whether it exited with status 0.
    pub fn exits(mut self) -> bool {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                if !status.success() {
                    eprintln!("roster stopped with {status}: {}", self.log());
                }
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                eprintln!("roster did not stop within 15 s: {}", self.log());
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// A test that fails midway leaves no `roster serve` behind.
impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Writers creating projects through a server, each until told to stop or until a write fails
/// (a server killed under the load): the ids of the projects the server acknowledged.
pub struct WriteLoad {
    acknowledged: Arc<Mutex<Vec<String>>>,
    running: Arc<AtomicBool>,
    writers: Vec<tokio::task::JoinHandle<bool>>,
}

impl WriteLoad {
    pub fn start(served: &Served, key: &str, writers: usize) -> WriteLoad {
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let running = Arc::new(AtomicBool::new(true));
        let client = reqwest::Client::new();
        let writers = (0..writers)
            .map(|writer| {
                let (client, base, key) = (client.clone(), served.base.clone(), key.to_owned());
                let (acknowledged, running) = (acknowledged.clone(), running.clone());
                tokio::spawn(async move {
                    let mut i = 0;
                    while running.load(Ordering::Relaxed) {
                        let response = client
                            .post(format!("{base}/v1/organization/projects"))
                            .bearer_auth(&key)
                            .json(&serde_json::json!({"name": format!("load {writer}.{i}")}))
                            .send()
                            .await;
                        let Ok(response) = response.and_then(|r| r.error_for_status()) else {
                            return false;
                        };
                        let Ok(project) = response.json::<serde_json::Value>().await else {
                            return false;
                        };
                        let id = project["id"].as_str().unwrap().to_owned();
                        acknowledged.lock().unwrap().push(id);
                        i += 1;
                    }
                    true
                })
            })
            .collect();
        WriteLoad {
            acknowledged,
            running,
            writers,
        }
    }

    /// The ids acknowledged so far.
    pub fn acknowledged(&self) -> Vec<String> {
        self.acknowledged.lock().unwrap().clone()
    }

    /// Waits until `count` writes were acknowledged, or `patience` passed.
    pub async fn reach(&self, count: usize, patience: Duration) {
        let since = Instant::now();
        while self.acknowledged.lock().unwrap().len() < count && since.elapsed() < patience {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Stops the writers; every id acknowledged, and how many writers a failed write stopped.
    pub async fn stop(self) -> (Vec<String>, usize) {
        self.running.store(false, Ordering::Relaxed);
        let mut failed = 0;
        for writer in self.writers {
            failed += usize::from(!writer.await.unwrap());
        }
        let acknowledged = self.acknowledged.lock().unwrap().clone();
        (acknowledged, failed)
    }
}
