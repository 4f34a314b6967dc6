//! The `roster` binary as an operator runs it: first start, restart, signals, init, org and key
//! commands. These start real processes.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;

const BINARY: &str = env!("CARGO_BIN_EXE_roster");

/// A `roster` command on `data_dir`, untouched by the caller's ROSTER_* environment.
fn roster(data_dir: &Path) -> Command {
    let mut command = Command::new(BINARY);
    for (name, _) in std::env::vars() {
        if name.starts_with("ROSTER_") {
            command.env_remove(name);
        }
    }
    command.arg("--data-dir").arg(data_dir).env("ROSTER_LOG_FORMAT", "json");
    command
}

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("roster runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    (output, stdout)
}

fn admin_key_in(text: &str) -> Option<String> {
    text.split_whitespace().find(|w| w.starts_with("sk-admin-")).map(|w| w.trim_end_matches(['.', '"']).to_owned())
}

/// A `roster serve` process on an ephemeral port.
struct Served {
    child: Child,
    base: String,
    stdout: PathBuf,
    stderr: PathBuf,
}

impl Served {
    fn start(data_dir: &Path, configure: impl FnOnce(&mut Command)) -> Served {
        static RUN: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let stdout = data_dir.with_extension(format!("stdout.{n}"));
        let stderr = data_dir.with_extension(format!("stderr.{n}"));
        let mut command = roster(data_dir);
        command.args(["serve", "--listen", "127.0.0.1:0"]);
        configure(&mut command);
        let child = command
            .stdout(Stdio::from(File::create(&stdout).unwrap()))
            .stderr(Stdio::from(File::create(&stderr).unwrap()))
            .spawn()
            .expect("roster serve starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read_to_string(&stderr).unwrap_or_default();
            let serving = log.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).find(|l| l["fields"]["message"] == "roster is serving");
            if let Some(line) = serving {
                let addr = line["fields"]["addr"].as_str().expect("the address is logged").to_owned();
                return Served { child, base: format!("http://{addr}"), stdout, stderr };
            }
            assert!(Instant::now() < deadline, "roster did not start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stdout(&self) -> String {
        std::fs::read_to_string(&self.stdout).unwrap_or_default()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    async fn get(&self, key: &str, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new().get(format!("{}{path}", self.base)).bearer_auth(key).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    async fn post(&self, key: &str, path: &str, body: serde_json::Value) -> (u16, serde_json::Value) {
        let response = reqwest::Client::new().post(format!("{}{path}", self.base)).bearer_auth(key).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    /// Sends SIGTERM and returns whether the process exited with status 0.
    fn terminate(mut self) -> bool {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status.success();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[tokio::test]
async fn first_start_prints_a_working_key_and_a_restart_keeps_everything() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let served = Served::start(&data, |c| {
        c.args(["--owner-email", "Boss@Example.com"]);
    });
    let banner = served.stdout();
    let key = admin_key_in(&banner).unwrap_or_else(|| panic!("no key printed: {banner}"));
    assert!(banner.contains("Default Organization") && banner.contains("boss@example.com"), "{banner}");
    assert!(data.join("roster.db").exists(), "the SQLite file lives in the data dir");

    let (status, projects) = served.get(&key, "/v1/organization/projects").await;
    assert_eq!(status, 200);
    assert_eq!(projects["data"][0]["name"], "Default project");
    let (status, created) = served.post(&key, "/v1/organization/projects", json!({"name": "Survivor"})).await;
    assert_eq!(status, 200);
    let log = served.log();
    assert!(!log.contains(&key), "the log never holds a key");
    assert!(log.contains("/v1/organization/projects") && log.contains("latency_ms"), "requests are logged");
    assert!(served.terminate(), "SIGTERM ends roster with status 0");

    let again = Served::start(&data, |_| {});
    assert!(admin_key_in(&again.stdout()).is_none(), "a restart prints no new key");
    let (status, project) = again.get(&key, &format!("/v1/organization/projects/{}", created["id"].as_str().unwrap())).await;
    assert_eq!(status, 200, "the old key and the project survive a restart");
    assert_eq!(project["name"], "Survivor");
    assert!(again.terminate());
}

#[tokio::test]
async fn the_bootstrap_key_can_be_fixed_by_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let fixed = "sk-admin-fixedforci00000000000000000000000000";
    let served = Served::start(&data, |c| {
        c.env("ROSTER_BOOTSTRAP_ADMIN_KEY", fixed);
    });
    assert!(!served.stdout().contains(fixed), "a key the operator chose is not echoed");
    let (status, keys) = served.get(fixed, "/v1/organization/admin_api_keys").await;
    assert_eq!(status, 200);
    assert_eq!(keys["data"][0]["redacted_value"], "sk-admin...0000");
    assert!(served.terminate());

    let (output, _) = run(roster(&dir.path().join("other")).arg("init").env("ROSTER_BOOTSTRAP_ADMIN_KEY", "not-a-key"));
    assert!(!output.status.success(), "a malformed bootstrap key is refused");
}

#[tokio::test]
async fn init_org_and_key_commands() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (output, stdout) = run(roster(&data).args(["init", "--org-name", "Acme", "--owner-email", "ada@acme.test", "--owner-name", "Ada"]));
    assert!(output.status.success());
    let acme_key = admin_key_in(&stdout).expect("init prints a key");
    assert!(stdout.contains("Acme"));

    let (output, stdout) = run(roster(&data).args(["init", "--org-name", "Other"]));
    assert!(output.status.success());
    assert!(stdout.contains("already initialized") && admin_key_in(&stdout).is_none(), "{stdout}");

    let (output, stdout) = run(roster(&data).args(["org", "create", "--name", "Beta Corp", "--owner-email", "bob@beta.test"]));
    assert!(output.status.success());
    let beta_key = admin_key_in(&stdout).expect("org create prints a key");
    let (output, stdout) = run(roster(&data).args(["org", "create", "--name", "Bad", "--owner-email", "not-an-email"]));
    assert!(!output.status.success(), "{stdout}");

    let (_, listing) = run(roster(&data).args(["org", "list"]));
    assert!(listing.contains("Acme") && listing.contains("ada@acme.test"), "{listing}");
    assert!(listing.contains("Beta Corp") && listing.contains("bob@beta.test"), "{listing}");
    assert!(!listing.contains("Other") && !listing.contains("Bad"), "{listing}");
    let acme_id = listing.lines().find(|l| l.contains("Acme")).and_then(|l| l.split_whitespace().next()).unwrap().to_owned();

    let (output, stdout) = run(roster(&data).args(["key", "create", "--org", &acme_id]));
    assert!(output.status.success());
    let recovery_key = admin_key_in(&stdout).expect("key create prints a key");

    let (_, status) = run(roster(&data).args(["migrate", "status"]));
    assert!(status.contains("applied") && !status.contains("pending"), "{status}");

    let served = Served::start(&data, |_| {});
    for key in [&acme_key, &recovery_key] {
        let (status, projects) = served.get(key, "/v1/organization/projects").await;
        assert_eq!(status, 200);
        assert_eq!(projects["data"].as_array().unwrap().len(), 1);
    }
    let (_, acme_keys) = served.get(&acme_key, "/v1/organization/admin_api_keys").await;
    assert_eq!(acme_keys["data"].as_array().unwrap().len(), 2, "the bootstrap key and the recovery key");
    let (_, beta_keys) = served.get(&beta_key, "/v1/organization/admin_api_keys").await;
    assert_eq!(beta_keys["data"].as_array().unwrap().len(), 1);
    assert!(served.terminate());
}
