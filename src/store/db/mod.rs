//! The one way the store talks to its database: a query text with `$N` placeholders (the
//! syntax SQLite and PostgreSQL share), its bound values, and rows read by column name into the
//! store's types. Below it, the two drivers: rusqlite, whose statements run whole on the calling
//! thread (a read on a connection of a small pool; a write on the one writer, whose
//! transactions commit in groups; `sqlite.rs`), and tokio-postgres, with statements prepared
//! once a connection (`postgres.rs`). What the drivers report becomes the domain's error in
//! `error.rs`; migrations are applied by `migration.rs`. Everything that knows a driver is in
//! this folder; here are the bound values, rows, queries, transactions and the database.

use std::sync::Arc;

use tokio::sync::{Notify, OwnedMutexGuard, oneshot};

use super::migrate::Migration;
use super::{Backend, StoreOptions};
use crate::domain::{Error, Result, ids};

mod error;
mod migration;
mod postgres;
mod sqlite;

use error::{DbError, DbResult};
use migration::{MIGRATION_LOCK, MigrationConn};
pub use sqlite::sqlite_path;
use sqlite::{Sqlite, Writer};

/// A value bound to a placeholder. Its type goes with it even when it is NULL: PostgreSQL
/// types every parameter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    Int(Option<i64>),
    Text(Option<String>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(Some(v))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(Some(v.to_owned()))
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(Some(v.clone()))
    }
}

impl<K: ids::Kind> From<&ids::Id<K>> for Value {
    fn from(v: &ids::Id<K>) -> Self {
        Value::Text(Some(v.to_string()))
    }
}

impl<K: ids::Kind> From<ids::Id<K>> for Value {
    fn from(v: ids::Id<K>) -> Self {
        Value::Text(Some(v.into_string()))
    }
}

impl<K: ids::Kind> From<Option<ids::Id<K>>> for Value {
    fn from(v: Option<ids::Id<K>>) -> Self {
        Value::Text(v.map(ids::Id::into_string))
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        Value::Text(v)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        Value::Text(v.map(str::to_owned))
    }
}

/// What a column of a result holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
}

/// One row of a result, read by column name; each column is read once (taken out of the row).
pub struct Row {
    columns: Arc<[String]>,
    cells: Vec<Cell>,
}

impl Row {
    pub fn get<T: Column>(&mut self, column: &str) -> Result<T> {
        let index = self
            .columns
            .iter()
            .position(|c| c == column)
            .ok_or_else(|| Error::Internal(format!("no column '{column}' in the result")))?;
        self.get_at(index)
    }

    pub fn get_at<T: Column>(&mut self, index: usize) -> Result<T> {
        let cell = self
            .cells
            .get_mut(index)
            .map(|c| std::mem::replace(c, Cell::Null))
            .ok_or_else(|| Error::Internal(format!("no column {index} in the result")))?;
        T::from_cell(cell)
            .ok_or_else(|| Error::Internal(format!("column {index} holds an unexpected value")))
    }
}

/// A type a column reads into.
pub trait Column: Sized {
    fn from_cell(cell: Cell) -> Option<Self>;
}

impl Column for String {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
}

impl Column for i64 {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Int(i) => Some(i),
            _ => None,
        }
    }
}

/// A flag, stored as 0 or 1 in an INTEGER column on both backends.
impl Column for bool {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Int(i) => Some(i != 0),
            _ => None,
        }
    }
}

impl<T: Column> Column for Option<T> {
    fn from_cell(cell: Cell) -> Option<Self> {
        match cell {
            Cell::Null => Some(None),
            other => T::from_cell(other).map(Some),
        }
    }
}

/// A type a row reads into.
pub trait FromRow: Sized {
    fn from_row(row: &mut Row) -> Result<Self>;
}

/// `FromRow` for a struct whose fields are columns of the same names (or, `field = "column"`,
/// of another name).
macro_rules! from_row {
    ($type:ty { $($field:ident $(= $column:literal)?),* $(,)? }) => {
        impl $crate::store::db::FromRow for $type {
            fn from_row(row: &mut $crate::store::db::Row) -> $crate::domain::Result<Self> {
                Ok(Self {
                    $($field: row.get($crate::store::db::from_row!(@column $field $(= $column)?))?,)*
                })
            }
        }
    };
    (@column $field:ident = $column:literal) => { $column };
    (@column $field:ident) => { stringify!($field) };
}
pub(super) use from_row;

/// Tuples read their columns in order.
macro_rules! tuple_from_row {
    ($($name:ident $index:tt),+) => {
        impl<$($name: Column),+> FromRow for ($($name,)+) {
            fn from_row(row: &mut Row) -> Result<Self> {
                Ok(($(row.get_at::<$name>($index)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);
tuple_from_row!(A 0, B 1, C 2, D 3);

/// A query text and the values bound to its placeholders, in order.
#[derive(Clone, Debug)]
pub struct Query {
    text: String,
    values: Vec<Value>,
}

/// A query of `text`, whose placeholders are bound in order with `Query::bind`.
pub fn query(text: impl Into<String>) -> Query {
    Query {
        text: text.into(),
        values: Vec::new(),
    }
}

/// Where a query runs: the database (a plain read, on a connection of the pool) or a
/// transaction's connection.
pub enum Executor<'e> {
    Pool(&'e Database),
    Connection(&'e mut Conn),
}

impl<'e> From<&'e Database> for Executor<'e> {
    fn from(db: &'e Database) -> Self {
        Executor::Pool(db)
    }
}

impl<'e> From<&'e mut Conn> for Executor<'e> {
    fn from(conn: &'e mut Conn) -> Self {
        Executor::Connection(conn)
    }
}

impl Query {
    pub fn bind(mut self, value: impl Into<Value>) -> Self {
        self.values.push(value.into());
        self
    }

    /// Appends `value` and returns its placeholder, for a query assembled piece by piece.
    pub(super) fn push_value(&mut self, value: Value) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    pub(super) fn push_text(&mut self, text: &str) {
        self.text.push_str(text);
    }

    /// Runs a statement; how many rows it changed.
    pub async fn execute<'e>(self, executor: impl Into<Executor<'e>>) -> Result<u64> {
        Ok(self.run(executor.into(), Want::Count).await?.0)
    }

    /// Runs a statement that may break a unique constraint: a lost race to create the same
    /// thing, reported as `on_duplicate`.
    pub async fn execute_unique<'e>(
        self,
        executor: impl Into<Executor<'e>>,
        on_duplicate: impl FnOnce() -> Error,
    ) -> Result<u64> {
        match self.run(executor.into(), Want::Count).await {
            Ok((changed, _)) => Ok(changed),
            Err(DbError::UniqueViolation) => Err(on_duplicate()),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn fetch_all<'e, T: FromRow>(
        self,
        executor: impl Into<Executor<'e>>,
    ) -> Result<Vec<T>> {
        let (_, rows) = self.run(executor.into(), Want::Rows).await?;
        rows.into_iter().map(|mut r| T::from_row(&mut r)).collect()
    }

    pub async fn fetch_optional<'e, T: FromRow>(
        self,
        executor: impl Into<Executor<'e>>,
    ) -> Result<Option<T>> {
        let (_, rows) = self.run(executor.into(), Want::Rows).await?;
        rows.into_iter()
            .next()
            .map(|mut r| T::from_row(&mut r))
            .transpose()
    }

    pub async fn fetch_one<'e, T: FromRow>(self, executor: impl Into<Executor<'e>>) -> Result<T> {
        self.fetch_optional(executor)
            .await?
            .ok_or_else(|| Error::Internal("a query that returns a row returned none".into()))
    }

    async fn run(&self, executor: Executor<'_>, want: Want) -> DbResult<(u64, Vec<Row>)> {
        match executor {
            Executor::Pool(Database::Sqlite(sqlite)) => {
                sqlite.read(|conn| self.on_sqlite(conn, want))
            }
            Executor::Pool(Database::Postgres(pool)) => {
                let client = pool.get().await.map_err(DbError::from_pool)?;
                self.on_postgres(&client, want).await
            }
            Executor::Connection(Conn::Sqlite(writer)) => self.on_sqlite(&writer.conn, want),
            Executor::Connection(Conn::Postgres(client)) => self.on_postgres(client, want).await,
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Count,
    Rows,
}

/// The database: SQLite's connections, or a pool of PostgreSQL's.
#[derive(Clone)]
pub enum Database {
    Sqlite(Arc<Sqlite>),
    Postgres(deadpool_postgres::Pool),
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Database::Sqlite(s) => write!(f, "Database::Sqlite({})", s.path),
            Database::Postgres(_) => write!(f, "Database::Postgres"),
        }
    }
}

/// A transaction's connection.
pub enum Conn {
    Sqlite(OwnedMutexGuard<Writer>),
    Postgres(Box<deadpool_postgres::Object>),
}

/// What a pool holds, for the metrics.
#[derive(Clone, Copy, Debug)]
pub struct PoolStatus {
    pub open: usize,
    pub idle: usize,
    pub waiting: usize,
}

/// One write transaction's turn on its connection. Dropped before `commit` (an error, or the
/// request's deadline), its changes are undone.
pub struct Turn {
    conn: Option<Conn>,
    flush: Option<Arc<Notify>>,
}

impl Turn {
    #[allow(clippy::expect_used)] // Only `commit` and `rollback` take it, and they consume the turn.
    pub fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a turn's connection until it ends")
    }

    /// Undoes the transaction's changes and gives its connection back.
    pub async fn rollback(mut self) {
        if matches!(self.conn, Some(Conn::Postgres(_)))
            && let Some(Conn::Postgres(client)) = self.conn.take()
        {
            if client.batch_execute("ROLLBACK").await.is_ok() {
                return;
            }
            let _ = deadpool_postgres::Object::take(*client);
        }
        // SQLite's savepoint is undone as the turn drops.
    }

    pub async fn commit(mut self) -> Result<()> {
        match self.conn.take() {
            Some(Conn::Sqlite(mut writer)) => {
                writer.conn.execute_batch("RELEASE turn")?;
                let (done, committed) = oneshot::channel();
                writer.waiting.push(done);
                drop(writer);
                if let Some(flush) = &self.flush {
                    flush.notify_one();
                }
                match committed.await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(Error::Internal(format!("the commit failed: {e}"))),
                    Err(_) => Err(Error::Unavailable("the database is closing".into())),
                }
            }
            Some(Conn::Postgres(client)) => {
                let committed = client.batch_execute("COMMIT").await;
                if committed.is_err() {
                    // Not returned to the pool in an unknown state.
                    let _ = deadpool_postgres::Object::take(*client);
                }
                Ok(committed?)
            }
            None => Ok(()),
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        match self.conn.take() {
            Some(Conn::Sqlite(writer)) => {
                // This transaction's savepoint goes; the group's others stay, and the group
                // still commits.
                let _ = writer.conn.execute_batch("ROLLBACK TO turn; RELEASE turn");
                drop(writer);
                if let Some(flush) = &self.flush {
                    flush.notify_one();
                }
            }
            Some(Conn::Postgres(client)) => {
                // Its transaction may still be open: the connection is closed, not reused.
                let _ = deadpool_postgres::Object::take(*client);
            }
            None => {}
        }
    }
}

impl Database {
    /// The connections this process holds, for the metrics: no query.
    pub fn status(&self) -> PoolStatus {
        match self {
            Database::Sqlite(sqlite) => {
                let idle = sqlite
                    .readers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .len();
                // The idle readers and the one writer; readers in use are on their callers'
                // threads.
                PoolStatus {
                    open: idle + 1,
                    idle,
                    waiting: 0,
                }
            }
            Database::Postgres(pool) => {
                let status = pool.status();
                PoolStatus {
                    open: status.size,
                    idle: status.available,
                    waiting: status.waiting,
                }
            }
        }
    }

    pub async fn open(backend: Backend, url: &str, options: &StoreOptions) -> Result<Database> {
        match backend {
            Backend::Sqlite => Sqlite::open(url, options),
            Backend::Postgres => postgres::open(url, options).await,
        }
    }

    /// Starts a write transaction: SQLite's opens (or joins) the writer's group, in a savepoint
    /// of its own; PostgreSQL's begins on a pooled connection.
    pub async fn begin(&self) -> Result<Turn> {
        match self {
            Database::Sqlite(sqlite) => {
                sqlite.check_open()?;
                let mut writer = sqlite.writer.clone().lock_owned().await;
                if !writer.open {
                    // The write lock up front: a transaction that reads before it writes waits
                    // for it (busy timeout) instead of failing when another process writes.
                    writer.conn.execute_batch("BEGIN IMMEDIATE")?;
                    writer.open = true;
                }
                writer.conn.execute_batch("SAVEPOINT turn")?;
                Ok(Turn {
                    conn: Some(Conn::Sqlite(writer)),
                    flush: Some(sqlite.flush.clone()),
                })
            }
            Database::Postgres(pool) => {
                let client = pool.get().await.map_err(DbError::from_pool)?;
                client.batch_execute("BEGIN").await?;
                Ok(Turn {
                    conn: Some(Conn::Postgres(Box::new(client))),
                    flush: None,
                })
            }
        }
    }

    /// Applies the migrations not yet applied, each in its own transaction with its record;
    /// replicas starting together on one PostgreSQL take turns (an advisory lock).
    pub async fn migrate(&self, migrations: &[Migration]) -> Result<()> {
        match self {
            Database::Sqlite(sqlite) => {
                let mut writer = sqlite.writer.clone().lock_owned().await;
                MigrationConn::Sqlite(&mut writer.conn)
                    .apply(migrations)
                    .await
            }
            Database::Postgres(pool) => {
                let client = pool.get().await.map_err(DbError::from_pool)?;
                client
                    .batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                    .await?;
                let applied = MigrationConn::Postgres(&client).apply(migrations).await;
                client
                    .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
                    .await?;
                applied
            }
        }
    }

    /// Retires the SQLite readers open now: each is closed, not reused, when its read is done
    /// or it is next taken. A connection reads the query planner's statistics when it opens, so
    /// new statistics need new readers.
    pub fn renew_readers(&self) {
        if let Database::Sqlite(sqlite) = self {
            sqlite
                .statistics
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        }
    }

    /// The versions of the migrations applied.
    pub async fn applied_migrations(&self) -> Result<Vec<i64>> {
        let applied = match self {
            Database::Sqlite(sqlite) => {
                let mut writer = sqlite.writer.clone().lock_owned().await;
                MigrationConn::Sqlite(&mut writer.conn).applied().await?
            }
            Database::Postgres(pool) => {
                let client = pool.get().await.map_err(DbError::from_pool)?;
                MigrationConn::Postgres(&client).applied().await?
            }
        };
        Ok(applied.into_iter().map(|(version, _, _)| version).collect())
    }

    pub async fn close(&self) {
        match self {
            Database::Sqlite(sqlite) => {
                // A group still open commits: its members are waiting for it.
                let mut writer = sqlite.writer.lock().await;
                if writer.open {
                    let outcome = writer
                        .conn
                        .execute_batch("COMMIT")
                        .map_err(|e| e.to_string());
                    writer.open = false;
                    for member in writer.waiting.drain(..) {
                        let _ = member.send(outcome.clone());
                    }
                }
                sqlite
                    .closed
                    .store(true, std::sync::atomic::Ordering::Release);
                sqlite
                    .readers
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .clear();
            }
            Database::Postgres(pool) => pool.close(),
        }
    }
}
