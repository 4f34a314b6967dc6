//! The one way the store talks to its database: a query text with `$N` placeholders (the
//! syntax SQLite and PostgreSQL share), its bound values, and rows read by column name into the
//! store's types. Below it, the two drivers: rusqlite, whose statements run whole on the calling
//! thread (a read on a connection of a small pool; a write on the one writer, whose
//! transactions commit in groups), and tokio-postgres, with statements prepared once a
//! connection. Everything that knows a driver is in this file.

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use deadpool_postgres::{Manager, ManagerConfig, RecyclingMethod};
use rusqlite::types::ValueRef;
use tokio::sync::{Notify, OwnedMutexGuard, oneshot};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};

use super::migrate::{Fold, Migration};
use super::{Backend, StoreOptions};
use crate::domain::{Error, Result, ids, name};

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

    fn on_sqlite(&self, conn: &rusqlite::Connection, want: Want) -> DbResult<(u64, Vec<Row>)> {
        let mut statement = conn.prepare_cached(&self.text)?;
        for index in 1..=statement.parameter_count() {
            // `$N` names the Nth value, wherever and however often it appears.
            let value = statement
                .parameter_name(index)
                .and_then(|name| name.strip_prefix('$'))
                .and_then(|n| n.parse::<usize>().ok())
                .and_then(|n| self.values.get(n.wrapping_sub(1)))
                .ok_or_else(|| DbError::Other(format!("no value for parameter {index}")))?;
            match value {
                Value::Int(Some(v)) => statement.raw_bind_parameter(index, v)?,
                Value::Text(Some(v)) => statement.raw_bind_parameter(index, v.as_str())?,
                Value::Int(None) | Value::Text(None) => {
                    statement.raw_bind_parameter(index, rusqlite::types::Null)?
                }
            }
        }
        let width = statement.column_count();
        if width == 0 {
            return Ok((statement.raw_execute()? as u64, Vec::new()));
        }
        let columns: Arc<[String]> = match want {
            Want::Rows => statement
                .column_names()
                .into_iter()
                .map(str::to_owned)
                .collect(),
            Want::Count => Arc::from([]),
        };
        let mut found = Vec::new();
        let mut count = 0;
        let mut rows = statement.raw_query();
        while let Some(row) = rows.next()? {
            count += 1;
            if want == Want::Count {
                continue;
            }
            let mut cells = Vec::with_capacity(width);
            for i in 0..width {
                cells.push(match row.get_ref(i)? {
                    ValueRef::Null => Cell::Null,
                    ValueRef::Integer(v) => Cell::Int(v),
                    ValueRef::Real(v) => Cell::Real(v),
                    ValueRef::Text(v) | ValueRef::Blob(v) => {
                        Cell::Text(String::from_utf8_lossy(v).into_owned())
                    }
                });
            }
            found.push(Row {
                columns: columns.clone(),
                cells,
            });
        }
        Ok((count, found))
    }

    async fn on_postgres(
        &self,
        client: &deadpool_postgres::Client,
        want: Want,
    ) -> DbResult<(u64, Vec<Row>)> {
        // Queries assembled from filters come in many shapes: keep the cache to the common ones.
        if client.statement_cache.size() > MAX_CACHED_STATEMENTS {
            client.statement_cache.clear();
        }
        let statement = client.prepare_cached(&self.text).await?;
        let values: Vec<PgValue<'_>> = self.values.iter().map(PgValue).collect();
        let params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        if statement.columns().is_empty() || want == Want::Count {
            return Ok((client.execute(&statement, &params).await?, Vec::new()));
        }
        let columns: Arc<[String]> = statement
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect();
        let rows = client.query(&statement, &params).await?;
        let mut found = Vec::with_capacity(rows.len());
        for row in &rows {
            let mut cells = Vec::with_capacity(columns.len());
            for (i, column) in row.columns().iter().enumerate() {
                cells.push(pg_cell(row, i, column.type_())?);
            }
            found.push(Row {
                columns: columns.clone(),
                cells,
            });
        }
        Ok((found.len() as u64, found))
    }
}

const MAX_CACHED_STATEMENTS: usize = 512;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Want {
    Count,
    Rows,
}

fn pg_cell(row: &tokio_postgres::Row, i: usize, ty: &Type) -> DbResult<Cell> {
    let cell = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Cell::Real),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        }
        ref other => return Err(DbError::Other(format!("unsupported column type {other}"))),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// A value sent to PostgreSQL as the type the statement's parameter has.
#[derive(Debug)]
struct PgValue<'a>(&'a Value);

impl ToSql for PgValue<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut bytes::BytesMut,
    ) -> std::result::Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match self.0 {
            Value::Int(None) | Value::Text(None) => Ok(IsNull::Yes),
            Value::Int(Some(v)) => match *ty {
                Type::INT8 => v.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                _ => v.to_string().to_sql(ty, out),
            },
            Value::Text(Some(v)) => v.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

/// What went wrong in the driver, before it becomes the domain's error.
#[derive(Debug)]
enum DbError {
    UniqueViolation,
    ForeignKeyViolation,
    Contention(String),
    TimedOut(String),
    Unavailable(String),
    Other(String),
}

type DbResult<T> = std::result::Result<T, DbError>;

impl DbError {
    fn from_pool(e: deadpool_postgres::PoolError) -> DbError {
        DbError::Unavailable(e.to_string())
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        use rusqlite::ErrorCode;
        if let rusqlite::Error::SqliteFailure(failure, _) = &e {
            match failure.code {
                ErrorCode::ConstraintViolation
                    if matches!(
                        failure.extended_code,
                        rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                            | rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    ) =>
                {
                    return DbError::UniqueViolation;
                }
                ErrorCode::ConstraintViolation
                    if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
                {
                    return DbError::ForeignKeyViolation;
                }
                // The write lock was not had within the busy timeout.
                ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked => {
                    return DbError::TimedOut(e.to_string());
                }
                ErrorCode::CannotOpen => return DbError::Unavailable(e.to_string()),
                _ => {}
            }
        }
        DbError::Other(e.to_string())
    }
}

impl From<tokio_postgres::Error> for DbError {
    fn from(e: tokio_postgres::Error) -> Self {
        match e.code() {
            Some(&SqlState::UNIQUE_VIOLATION) => DbError::UniqueViolation,
            Some(&SqlState::FOREIGN_KEY_VIOLATION) => DbError::ForeignKeyViolation,
            // Serialization failures and deadlocks: the transaction may succeed if run again.
            Some(&SqlState::T_R_SERIALIZATION_FAILURE | &SqlState::T_R_DEADLOCK_DETECTED) => {
                DbError::Contention(db_message(&e))
            }
            // statement_timeout and lock_not_available.
            Some(&SqlState::QUERY_CANCELED | &SqlState::LOCK_NOT_AVAILABLE) => {
                DbError::TimedOut(db_message(&e))
            }
            Some(_) => DbError::Other(db_message(&e)),
            // No SQLSTATE: the connection itself failed.
            None if e.is_closed() || e.to_string().contains("connection") => {
                DbError::Unavailable(e.to_string())
            }
            None => DbError::Other(e.to_string()),
        }
    }
}

fn db_message(e: &tokio_postgres::Error) -> String {
    e.as_db_error()
        .map_or_else(|| e.to_string(), |db| db.message().to_owned())
}

impl From<DbError> for Error {
    fn from(e: DbError) -> Self {
        match e {
            DbError::UniqueViolation => Error::Internal("a unique constraint was broken".into()),
            // Every write checks what it refers to under a lock first; this is the net beneath.
            DbError::ForeignKeyViolation => Error::rule(
                "The request refers to an object that no longer exists; look it up again.",
            ),
            DbError::Contention(m) => Error::Contention(m),
            DbError::TimedOut(m) => Error::TimedOut(m),
            DbError::Unavailable(m) => Error::Unavailable(m),
            DbError::Other(m) => Error::Internal(m),
        }
    }
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        DbError::from(e).into()
    }
}

impl From<tokio_postgres::Error> for Error {
    fn from(e: tokio_postgres::Error) -> Self {
        DbError::from(e).into()
    }
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

/// SQLite: readers on the callers' threads, and one writer that commits in groups.
pub struct Sqlite {
    path: String,
    setup: String,
    /// Idle readers, each with the `statistics` it was opened under.
    readers: Mutex<Vec<(u64, rusqlite::Connection)>>,
    /// Reader connections kept open between reads (more open while more read at once).
    idle_readers: usize,
    /// Counts `renew_readers` calls: a reader opened before the last is closed rather than used
    /// again.
    statistics: std::sync::atomic::AtomicU64,
    writer: Arc<tokio::sync::Mutex<Writer>>,
    /// Rung when a transaction waits for its group's commit.
    flush: Arc<Notify>,
    flusher: tokio::task::JoinHandle<()>,
    /// Set by `close`: nothing runs after it.
    closed: std::sync::atomic::AtomicBool,
}

/// The one connection that writes, and the group of transactions it has open.
pub struct Writer {
    conn: rusqlite::Connection,
    /// Whether a group's transaction is open (its members' changes, each in a savepoint).
    open: bool,
    /// The members of the open group, answered when it commits.
    waiting: Vec<oneshot::Sender<std::result::Result<(), String>>>,
}

impl Drop for Sqlite {
    fn drop(&mut self) {
        self.flusher.abort();
    }
}

impl Sqlite {
    fn connect(path: &str, setup: &str) -> DbResult<rusqlite::Connection> {
        let conn = rusqlite::Connection::open(path)?;
        conn.execute_batch(setup)?;
        conn.set_prepared_statement_cache_capacity(128);
        Ok(conn)
    }

    /// Runs `f` on a reader connection, here, on this thread: a read takes microseconds, less
    /// than handing it to another thread would.
    fn read<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> DbResult<T>) -> DbResult<T> {
        self.check_open()?;
        let statistics = self.statistics.load(std::sync::atomic::Ordering::Acquire);
        let idle = self.readers.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some((opened_under, conn)) if opened_under == statistics => conn,
            _ => {
                let conn = Sqlite::connect(&self.path, &self.setup)?;
                conn.execute_batch("PRAGMA query_only = ON;")?;
                conn
            }
        };
        let result = f(&conn);
        let mut readers = self.readers.lock().unwrap_or_else(|p| p.into_inner());
        if readers.len() < self.idle_readers
            && statistics == self.statistics.load(std::sync::atomic::Ordering::Acquire)
        {
            readers.push((statistics, conn));
        }
        result
    }

    fn check_open(&self) -> DbResult<()> {
        if self.closed.load(std::sync::atomic::Ordering::Acquire) {
            return Err(DbError::Unavailable("the database is closed".into()));
        }
        Ok(())
    }

    /// Commits the open group whenever a transaction waits for it. Taking the writer queues
    /// behind the transactions already waiting for it, which join the group first.
    async fn flush(writer: Arc<tokio::sync::Mutex<Writer>>, flush: Arc<Notify>) {
        loop {
            flush.notified().await;
            let guard = writer.clone().lock_owned().await;
            if !guard.open {
                continue;
            }
            // The sync to disk runs off the runtime's threads.
            let committed = tokio::task::spawn_blocking(move || {
                let outcome = guard.conn.execute_batch("COMMIT");
                if outcome.is_err() {
                    let _ = guard.conn.execute_batch("ROLLBACK");
                }
                (guard, outcome)
            })
            .await;
            let Ok((mut guard, outcome)) = committed else {
                return; // The runtime is shutting down.
            };
            guard.open = false;
            let outcome = outcome.map_err(|e| e.to_string());
            for member in guard.waiting.drain(..) {
                let _ = member.send(outcome.clone());
            }
        }
    }
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
            Backend::Sqlite => {
                let path = sqlite_path(url);
                let setup = format!(
                    "PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
                     PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {}; PRAGMA temp_store = MEMORY;",
                    options.sqlite_synchronous.as_str(),
                    options.statement_timeout.as_millis()
                );
                let conn = Sqlite::connect(&path, &setup)?;
                let writer = Arc::new(tokio::sync::Mutex::new(Writer {
                    conn,
                    open: false,
                    waiting: Vec::new(),
                }));
                let flush = Arc::new(Notify::new());
                let flusher = tokio::spawn(Sqlite::flush(writer.clone(), flush.clone()));
                Ok(Database::Sqlite(Arc::new(Sqlite {
                    path,
                    setup,
                    readers: Mutex::new(Vec::new()),
                    idle_readers: options.max_connections.max(1) as usize,
                    statistics: std::sync::atomic::AtomicU64::new(0),
                    writer,
                    flush,
                    flusher,
                    closed: Default::default(),
                })))
            }
            Backend::Postgres => {
                let mut config = tokio_postgres::Config::from_str(url)
                    .map_err(|e| Error::Internal(format!("invalid database URL: {e}")))?;
                config
                    .options(format!(
                        "-c statement_timeout={}",
                        options.statement_timeout.as_millis()
                    ))
                    .connect_timeout(options.connect_timeout)
                    // A server or network that vanishes without a word is noticed within a
                    // minute, not at the kernel's two hours.
                    .keepalives(true)
                    .keepalives_idle(KEEPALIVE_IDLE)
                    .keepalives_interval(KEEPALIVE_INTERVAL)
                    .keepalives_retries(KEEPALIVE_RETRIES)
                    .tcp_user_timeout(KEEPALIVE_IDLE + KEEPALIVE_INTERVAL * KEEPALIVE_RETRIES);
                let manager = Manager::from_config(
                    config,
                    tokio_postgres::NoTls,
                    ManagerConfig {
                        recycling_method: RecyclingMethod::Fast,
                    },
                );
                let pool = deadpool_postgres::Pool::builder(manager)
                    .max_size(options.max_connections.max(1) as usize)
                    .wait_timeout(Some(options.connect_timeout))
                    .create_timeout(Some(options.connect_timeout))
                    .runtime(deadpool_postgres::Runtime::Tokio1)
                    .build()
                    .map_err(|e| Error::Internal(e.to_string()))?;
                // Fail at start-up, not at the first request, when the server is unreachable.
                drop(pool.get().await.map_err(DbError::from_pool)?);
                Ok(Database::Postgres(pool))
            }
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

const KEEPALIVE_IDLE: Duration = Duration::from_secs(30);
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);
const KEEPALIVE_RETRIES: u32 = 3;

/// The file of a `sqlite://<file>[?options]` URL.
pub fn sqlite_path(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split('?').next().unwrap_or(rest).to_owned()
}

/// PostgreSQL's advisory lock that migrating replicas take turns on.
const MIGRATION_LOCK: i64 = 0x726f_7374_6572;

/// Where migrations are applied: the writer, or a PostgreSQL connection holding the lock.
enum MigrationConn<'c> {
    Sqlite(&'c mut rusqlite::Connection),
    Postgres(&'c deadpool_postgres::Client),
}

impl MigrationConn<'_> {
    async fn script(&mut self, script: &str) -> DbResult<()> {
        let outcome = match self {
            MigrationConn::Sqlite(conn) => conn.execute_batch(script).map_err(DbError::from),
            MigrationConn::Postgres(client) => {
                client.batch_execute(script).await.map_err(DbError::from)
            }
        };
        if outcome.is_err() {
            let rollback = "ROLLBACK";
            let _ = match self {
                MigrationConn::Sqlite(conn) => conn.execute_batch(rollback).map_err(DbError::from),
                MigrationConn::Postgres(client) => {
                    client.batch_execute(rollback).await.map_err(DbError::from)
                }
            };
        }
        outcome
    }

    async fn run(&mut self, q: Query, want: Want) -> DbResult<Vec<Row>> {
        let (_, rows) = match self {
            MigrationConn::Sqlite(conn) => q.on_sqlite(conn, want)?,
            MigrationConn::Postgres(client) => q.on_postgres(client, want).await?,
        };
        Ok(rows)
    }

    async fn rows(&mut self, text: &str) -> DbResult<Vec<Row>> {
        self.run(query(text), Want::Rows).await
    }

    /// Sets `fold.folded` to `name::folded` of `fold.column` in the rows where it is not.
    async fn refold(&mut self, fold: &Fold) -> Result<()> {
        let Fold {
            table,
            column,
            folded,
        } = fold;
        let rows = self
            .rows(&format!("SELECT id, {column}, {folded} FROM {table}"))
            .await?;
        for mut row in rows {
            let id: String = row.get_at(0)?;
            let text: Option<String> = row.get_at(1)?;
            let stored: Option<String> = row.get_at(2)?;
            let wanted = text.as_deref().map(name::folded);
            if wanted != stored {
                let update = query(format!("UPDATE {table} SET {folded} = $1 WHERE id = $2"))
                    .bind(wanted)
                    .bind(id);
                self.run(update, Want::Count).await?;
            }
        }
        Ok(())
    }

    /// (version, checksum in lowercase hex, whether it finished) of each applied migration.
    async fn applied(&mut self) -> DbResult<Vec<(i64, String, i64)>> {
        let (table, hex) = match self {
            MigrationConn::Sqlite(_) => ("BLOB", "lower(hex(checksum))"),
            MigrationConn::Postgres(_) => ("BYTEA", "encode(checksum, 'hex')"),
        };
        let installed_on = match self {
            MigrationConn::Sqlite(_) => "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
            MigrationConn::Postgres(_) => "TIMESTAMPTZ NOT NULL DEFAULT now()",
        };
        self.script(&format!(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, \
             description TEXT NOT NULL, installed_on {installed_on}, success BOOLEAN NOT NULL, \
             checksum {table} NOT NULL, execution_time BIGINT NOT NULL)"
        ))
        .await?;
        let rows = self
            .rows(&format!(
                "SELECT version, {hex} AS checksum, CASE WHEN success THEN 1 ELSE 0 END AS success \
                 FROM _sqlx_migrations ORDER BY version"
            ))
            .await?;
        rows.into_iter()
            .map(|mut row| {
                Ok((
                    row.get_at(0).map_err(|e| DbError::Other(e.to_string()))?,
                    row.get_at(1).map_err(|e| DbError::Other(e.to_string()))?,
                    row.get_at(2).map_err(|e| DbError::Other(e.to_string()))?,
                ))
            })
            .collect()
    }

    async fn apply(&mut self, migrations: &[Migration]) -> Result<()> {
        let applied = self.applied().await?;
        for migration in migrations {
            match applied.iter().find(|(v, _, _)| *v == migration.version) {
                Some((_, _, 0)) => {
                    return Err(Error::Internal(format!(
                        "migration {} was left partly applied; repair the database by hand",
                        migration.version
                    )));
                }
                Some((_, checksum, _)) if *checksum != migration.checksum => {
                    return Err(Error::Internal(format!(
                        "migration {} was applied but has since been modified",
                        migration.version
                    )));
                }
                Some(_) => continue,
                None => {}
            }
            let checksum = match self {
                MigrationConn::Sqlite(_) => format!("X'{}'", migration.checksum),
                MigrationConn::Postgres(_) => format!("'\\x{}'::bytea", migration.checksum),
            };
            let started = Instant::now();
            let failed = |e: &dyn std::fmt::Debug| {
                Error::Internal(format!("migration {} failed: {e:?}", migration.version))
            };
            self.script(&format!("BEGIN;\n{}\n;", migration.sql))
                .await
                .map_err(|e| failed(&e))?;
            for fold in migration.folds {
                if let Err(e) = self.refold(fold).await {
                    let _ = self.script("ROLLBACK").await;
                    return Err(failed(&e));
                }
            }
            self.script(&format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ({}, '{}', TRUE, {checksum}, 0);\nCOMMIT;",
                migration.version,
                migration.description.replace('\'', "''"),
            ))
            .await
            .map_err(|e| failed(&e))?;
            self.script(&format!(
                "UPDATE _sqlx_migrations SET execution_time = {} WHERE version = {}",
                i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
                migration.version
            ))
            .await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_name_their_file() {
        assert_eq!(sqlite_path("sqlite:///tmp/r.db?mode=rwc"), "/tmp/r.db");
        assert_eq!(sqlite_path("sqlite://data/roster.db"), "data/roster.db");
        assert_eq!(sqlite_path("sqlite:roster.db"), "roster.db");
    }

    #[test]
    fn constraint_violations_are_refusals_not_internal_errors() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "PRAGMA foreign_keys = ON; CREATE TABLE p (id TEXT PRIMARY KEY); \
             CREATE TABLE c (id TEXT PRIMARY KEY, p TEXT REFERENCES p (id)); INSERT INTO p VALUES ('a');",
        )
        .unwrap();
        let orphan = conn
            .execute("INSERT INTO c VALUES ('x', 'gone')", [])
            .unwrap_err();
        assert!(matches!(
            DbError::from(orphan),
            DbError::ForeignKeyViolation
        ));
        let orphan = conn
            .execute("INSERT INTO c VALUES ('x', 'gone')", [])
            .unwrap_err();
        assert!(matches!(Error::from(orphan), Error::Invalid { .. }));
        let twice = conn.execute("INSERT INTO p VALUES ('a')", []).unwrap_err();
        assert!(matches!(DbError::from(twice), DbError::UniqueViolation));
    }
}
