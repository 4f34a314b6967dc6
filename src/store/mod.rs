//! Storage: one set of queries for SQLite and PostgreSQL, written in the SQL both speak and run
//! through sqlx's `Any` driver. What differs per backend (connecting, pragmas, the statement
//! that opens a write transaction, row locks) lives in `backend.rs` and nowhere else.

/// `transact!(store, author, |tx| { ... })` runs the block in one transaction and commits it:
/// `tx` is the transaction (`tx::Tx`: its connection, the backend, the author and the clock's
/// reading), and a mutation and its audit event commit together or not at all.
/// `transact!(store, |tx| { ... })` is the same for Roster's own housekeeping, with no author.
/// When PostgreSQL aborts the transaction for a serialization failure or a deadlock (concurrent
/// writers on one row), the block runs again from the start. (A macro rather than a method
/// taking an async closure: such closures can't yet be proven `Send`, which axum's handlers must
/// be.)
macro_rules! transact {
    ($store:expr, |$tx:ident| $body:block) => {
        transact!(@run $store, None, |$tx| $body)
    };
    ($store:expr, $author:expr, |$tx:ident| $body:block) => {
        transact!(@run $store, Some($crate::store::Author::clone($author)), |$tx| $body)
    };
    (@run $store:expr, $author:expr, |$tx:ident| $body:block) => {{
        let store: &$crate::store::Store = $store;
        let mut attempt = 1;
        loop {
            let outcome: $crate::domain::Result<_> = async {
                let mut conn = store
                    .write
                    .begin_with(store.backend.begin_statement())
                    .await?;
                let value = {
                    let mut tx = $crate::store::tx::Tx {
                        conn: &mut conn,
                        backend: store.backend,
                        author: $author,
                        now: store.clock.now(),
                    };
                    let $tx = &mut tx;
                    let result: $crate::domain::Result<_> = async { $body }.await;
                    result?
                };
                conn.commit().await?;
                // Any change may change what a key may do: gateway checks load afresh.
                store.decisions.clear();
                Ok(value)
            }
            .await;
            if !store.should_retry(&outcome, &mut attempt).await {
                break outcome;
            }
        }
    }};
}

mod admin_keys;
pub mod audit;
mod backend;
mod db;
pub mod gateway;
mod groups;
pub mod invites;
pub mod organizations;
pub mod outgoing_mail;
pub mod project_keys;
pub mod project_policies;
mod project_users;
mod projects;
pub mod role_assignments;
pub mod roles;
mod rows;
mod sql;
mod tx;
mod users;

use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;

pub use backend::Backend;
pub use tx::{Principal, RoleScope};

use crate::domain::audit::Actor;
use crate::domain::page::Page;
use crate::domain::{Clock, Error, Result};

/// Pool and timeout settings, from the configuration.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    /// SQLite's `synchronous`: whether a commit waits for the disk (`Full`) or may be lost to
    /// an operating-system crash or power cut (`Normal`).
    pub sqlite_synchronous: Synchronous,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            sqlite_synchronous: Synchronous::Full,
        }
    }
}

/// SQLite's `PRAGMA synchronous` in WAL mode: `Full` syncs the WAL at every commit, so an
/// acknowledged change survives a power cut; `Normal` syncs only at checkpoints, faster but able
/// to lose the last commits (a revoked key could come back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// The database, shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// Where transactions run. On SQLite a single connection, so writes are serialized here
    /// rather than fighting over the file lock.
    write: AnyPool,
    /// Where plain reads run. On PostgreSQL the same pool as `write`.
    read: AnyPool,
    clock: Clock,
    /// Recently authenticated admin keys (`admin_keys.rs`), shared by the clones.
    keys: Arc<admin_keys::KeyCache>,
    /// Rung after a commit that queued mail, so that this process sends it at once.
    mail: Arc<tokio::sync::Notify>,
    /// What gateway checks loaded recently (`gateway.rs`), cleared by every commit.
    decisions: Arc<gateway::DecisionCache>,
    /// Project keys used since their `last_used_at` was last written, by id: the time of use.
    key_uses: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// The caller a mutation is recorded against: its organization, and the audit actor.
#[derive(Clone, Debug)]
pub struct Author {
    pub org_id: String,
    /// `None` for changes made by Roster's own CLI, which the contract has no actor type for.
    pub actor: Option<Actor>,
    /// Admin actions are associated with the organization's default project (as the contract's
    /// `AuditLog.project` says) unless they concern a project of their own.
    pub default_project_id: Option<String>,
}

impl Store {
    /// Connects to `url` (`sqlite://...` or `postgres://...`) and applies pending migrations.
    pub async fn open(url: &str, options: &StoreOptions, clock: Clock) -> Result<Store> {
        let store = Store::connect(url, options, clock).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects without migrating, for `roster migrate status`.
    pub async fn connect(url: &str, options: &StoreOptions, clock: Clock) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let (write, read) = backend.pools(url, options).await?;
        Ok(Store {
            backend,
            write,
            read,
            clock,
            keys: Arc::default(),
            mail: Arc::default(),
            decisions: Arc::default(),
            key_uses: Arc::default(),
        })
    }

    /// Runs a list query built with `limit + 1` rows (see `Sql::keyset`) on the read pool and
    /// turns its rows into one page.
    async fn fetch_page<T: db::FromRow>(&self, sql: sql::Sql, limit: i64) -> Result<Page<T>> {
        let rows = sql.build().fetch_all(&self.read).await?;
        Ok(Page::from_overfetch(rows, limit))
    }

    /// What a one-query retrieve found, or the right 404 when it found nothing: the parent's
    /// (an unknown project or group) if `parent` fails, else `missing`. The parent is looked up
    /// only after a miss, so a retrieve that finds its row stays one query.
    async fn found_or<T, P>(
        found: Option<T>,
        parent: impl Future<Output = Result<P>>,
        missing: impl FnOnce() -> Error,
    ) -> Result<T> {
        match found {
            Some(row) => Ok(row),
            None => {
                parent.await?;
                Err(missing())
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub async fn migrate(&self) -> Result<()> {
        self.backend
            .migrator()
            .run(&self.write)
            .await
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))
    }

    /// Applied and pending migrations, as (version, description, applied).
    pub async fn migration_status(&self) -> Result<Vec<(i64, String, bool)>> {
        use sqlx::migrate::Migrate;
        let mut conn = self.write.acquire().await?;
        conn.ensure_migrations_table(self.backend.migrator().table_name.as_ref())
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        let applied = conn
            .list_applied_migrations(self.backend.migrator().table_name.as_ref())
            .await
            .map_err(|e| Error::Internal(e.to_string()))?;
        Ok(self
            .backend
            .migrator()
            .iter()
            .map(|m| {
                (
                    m.version,
                    m.description.to_string(),
                    applied.iter().any(|a| a.version == m.version),
                )
            })
            .collect())
    }

    /// How durable a commit is, as the database itself reports it, for the start-up log:
    /// SQLite's `synchronous` on the connection that writes; PostgreSQL's `synchronous_commit`.
    pub async fn durability(&self) -> Result<String> {
        let (setting,): (String,) = match self.backend {
            Backend::Sqlite => {
                let (level,): (i64,) = sqlx::query_as("PRAGMA synchronous")
                    .fetch_one(&self.write)
                    .await?;
                let name = match level {
                    0 => "OFF",
                    1 => "NORMAL",
                    2 => "FULL",
                    _ => "EXTRA",
                };
                (format!("synchronous={name}"),)
            }
            Backend::Postgres => {
                sqlx::query_as(
                    "SELECT 'synchronous_commit=' || current_setting('synchronous_commit')",
                )
                .fetch_one(&self.write)
                .await?
            }
        };
        Ok(setting)
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Whether a failed transaction should run again: PostgreSQL aborted it for contention and
    /// attempts remain. Waits a little before saying yes.
    async fn should_retry<T>(&self, outcome: &Result<T>, attempt: &mut u64) -> bool {
        match outcome {
            Err(Error::Contention(cause)) if *attempt < MAX_ATTEMPTS => {
                tracing::debug!(%cause, attempt, "retrying a transaction");
                tokio::time::sleep(Duration::from_millis(5 * *attempt)).await;
                *attempt += 1;
                true
            }
            _ => false,
        }
    }
}

/// How often a transaction runs before contention is reported to the caller.
const MAX_ATTEMPTS: u64 = 5;

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        // PostgreSQL's serialization_failure and deadlock_detected: the transaction may succeed
        // if run again.
        if let sqlx::Error::Database(db) = &e {
            match db.code().as_deref() {
                Some("40001" | "40P01") => return Error::Contention(db.message().to_owned()),
                // PostgreSQL's query_canceled (statement_timeout) and lock_not_available.
                Some("57014" | "55P03") => return Error::TimedOut(db.message().to_owned()),
                // SQLite's BUSY and LOCKED, with their extended codes: the write lock was not
                // had within the busy timeout.
                Some(code)
                    if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
                        && code.parse::<i32>().is_ok_and(|c| matches!(c & 0xff, 5 | 6)) =>
                {
                    return Error::TimedOut(db.message().to_owned());
                }
                _ => {}
            }
        }
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable(e.to_string())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

impl From<&crate::domain::principal::Principal> for Author {
    fn from(principal: &crate::domain::principal::Principal) -> Self {
        Author {
            org_id: principal.org_id.clone(),
            actor: Some(Actor::api_key(principal)),
            default_project_id: Some(principal.default_project_id.clone()),
        }
    }
}
