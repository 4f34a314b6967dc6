//! The per-backend seam: how to connect, which migrations, how a write transaction opens and
//! how a row is locked. Every query elsewhere is shared.

use std::str::FromStr;

use sqlx::AnyPool;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::{ConnectOptions, Executor};

use super::StoreOptions;
use crate::domain::{Error, Result};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend> {
        if url.starts_with("sqlite:") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(Error::Internal(format!(
                "unsupported database URL '{}': expected sqlite://<file> or postgres://...",
                url.split('@').next_back().unwrap_or_default()
            )))
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    pub(super) fn migrator(self) -> &'static Migrator {
        match self {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        }
    }

    /// SQLite takes the write lock up front, so a transaction that reads before it writes
    /// waits for the lock (busy timeout) instead of failing when another process writes.
    pub(super) fn begin_statement(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Appended to a SELECT that reads a row (of the table aliased `alias`) that a transaction is
    /// about to check and change. SQLite needs none: its write transactions are serialized.
    pub(super) fn for_update_of(self, alias: &str) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!(" FOR UPDATE OF {alias}"),
        }
    }

    /// Like `for_update_of`, for a transaction that needs the row to stay as read but does not
    /// change it: such transactions run side by side, and one that changes the row waits.
    pub(super) fn for_share_of(self, alias: &str) -> String {
        match self {
            Backend::Sqlite => String::new(),
            Backend::Postgres => format!(" FOR SHARE OF {alias}"),
        }
    }

    /// Appended to a SELECT that claims queue rows: rows another transaction holds are passed
    /// over rather than waited for. SQLite's writers take turns, so it needs none.
    pub(super) fn for_update_skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// A scalar subquery of the values of `column` in the rows of `select`, one a line (`NULL`
    /// when there are none): the aggregate is SQLite's `group_concat`, PostgreSQL's `string_agg`.
    pub(super) fn lines_of(self, select: &str, column: &str) -> String {
        let aggregate = match self {
            Backend::Sqlite => format!("group_concat(rows.{column}, char(10))"),
            Backend::Postgres => format!("string_agg(rows.{column}, chr(10))"),
        };
        format!("SELECT {aggregate} FROM ({select}) rows")
    }

    /// The (write, read) pools.
    pub(super) async fn pools(
        self,
        url: &str,
        options: &StoreOptions,
    ) -> Result<(AnyPool, AnyPool)> {
        let connect = AnyConnectOptions::from_str(url)
            .map_err(|e| Error::Internal(format!("invalid database URL: {e}")))?
            .disable_statement_logging();
        match self {
            Backend::Sqlite => {
                let busy_ms = options.statement_timeout.as_millis();
                let pragmas = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busy_ms};",
                    options.sqlite_synchronous.as_str()
                );
                let write_pragmas = pragmas.clone();
                let write = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(options.statement_timeout)
                    .after_connect(move |conn, _| {
                        let pragmas = write_pragmas.clone();
                        Box::pin(async move {
                            conn.execute(sqlx::AssertSqlSafe(pragmas)).await.map(drop)
                        })
                    })
                    .connect_with(connect.clone())
                    .await?;
                let read = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.connect_timeout)
                    .after_connect(move |conn, _| {
                        let pragmas = format!("{pragmas} PRAGMA query_only = ON;");
                        Box::pin(async move {
                            conn.execute(sqlx::AssertSqlSafe(pragmas)).await.map(drop)
                        })
                    })
                    .connect_with(connect)
                    .await?;
                Ok((write, read))
            }
            Backend::Postgres => {
                let timeout_ms = options.statement_timeout.as_millis();
                let pool = AnyPoolOptions::new()
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.connect_timeout)
                    .after_connect(move |conn, _| {
                        let set = format!("SET statement_timeout = {timeout_ms}");
                        Box::pin(
                            async move { conn.execute(sqlx::AssertSqlSafe(set)).await.map(drop) },
                        )
                    })
                    .connect_with(connect)
                    .await?;
                Ok((pool.clone(), pool))
            }
        }
    }
}
