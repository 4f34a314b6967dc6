//! Storage: one set of queries for SQLite and PostgreSQL, written in the SQL both speak and run
//! through sqlx's `Any` driver. What differs per backend (connecting, pragmas, the statement
//! that opens a write transaction, row locks) lives in `backend.rs` and nowhere else.

mod admin_keys;
mod audit;
mod backend;
pub mod organizations;
mod projects;
mod sql;

use std::time::Duration;

use sqlx::AnyPool;
use sqlx::{Any, Transaction};

pub use backend::Backend;

use crate::domain::audit::Actor;
use crate::domain::{Clock, Error, Result};

/// Pool and timeout settings, from the configuration.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Connections for reads (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
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
        })
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

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.write.close().await;
        self.read.close().await;
    }

    /// Opens the transaction a mutation runs in; the mutation and its audit event commit together.
    async fn begin(&self) -> Result<Transaction<'static, Any>> {
        Ok(self
            .write
            .begin_with(self.backend.begin_statement())
            .await?)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
                Error::Unavailable(e.to_string())
            }
            other => Error::Internal(other.to_string()),
        }
    }
}

/// Whether `e` is a unique-constraint violation: a lost race to create the same thing.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
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
