//! The one way the store talks to its database: a query text with `$N` placeholders (the
//! syntax SQLite and PostgreSQL share), its bound values, and rows read by column name into the
//! store's types. Everything that knows the driver is in this file and `backend.rs`.

use sqlx::any::{AnyArguments, AnyRow};
use sqlx::{Any, AnyConnection, AnyPool, Arguments, AssertSqlSafe};

use crate::domain::{Error, Result};

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

/// One row of a result, read by column name.
pub struct Row(AnyRow);

impl Row {
    pub fn get<T: Column>(&self, column: &str) -> Result<T> {
        sqlx::Row::try_get(&self.0, column).map_err(Error::from)
    }

    pub fn get_at<T: Column>(&self, index: usize) -> Result<T> {
        sqlx::Row::try_get(&self.0, index).map_err(Error::from)
    }
}

/// A type a column reads into.
pub trait Column: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any> {}
impl<T: for<'r> sqlx::Decode<'r, Any> + sqlx::Type<Any>> Column for T {}

/// A type a row reads into.
pub trait FromRow: Sized {
    fn from_row(row: &Row) -> Result<Self>;
}

/// `FromRow` for a struct whose fields are columns of the same names (or, `field = "column"`,
/// of another name).
macro_rules! from_row {
    ($type:ty { $($field:ident $(= $column:literal)?),* $(,)? }) => {
        impl $crate::store::db::FromRow for $type {
            fn from_row(row: &$crate::store::db::Row) -> $crate::domain::Result<Self> {
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
            fn from_row(row: &Row) -> Result<Self> {
                Ok(($(row.get_at::<$name>($index)?,)+))
            }
        }
    };
}
tuple_from_row!(A 0);
tuple_from_row!(A 0, B 1);
tuple_from_row!(A 0, B 1, C 2);

/// Where a query runs: a transaction's connection, or the pool plain reads take one from.
pub enum Executor<'e> {
    Connection(&'e mut AnyConnection),
    Pool(&'e AnyPool),
}

impl<'e> From<&'e mut AnyConnection> for Executor<'e> {
    fn from(conn: &'e mut AnyConnection) -> Self {
        Executor::Connection(conn)
    }
}

impl<'e> From<&'e AnyPool> for Executor<'e> {
    fn from(pool: &'e AnyPool) -> Self {
        Executor::Pool(pool)
    }
}

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

    fn arguments(&self) -> AnyArguments {
        let mut args = AnyArguments::default();
        for value in &self.values {
            // Encoding these scalar types cannot fail.
            let _ = match value {
                Value::Int(v) => args.add(*v),
                Value::Text(v) => args.add(v.clone()),
            };
        }
        args
    }

    /// Runs a statement; how many rows it changed.
    pub async fn execute<'e>(self, executor: impl Into<Executor<'e>>) -> Result<u64> {
        Ok(self.run(executor).await?)
    }

    /// Runs a statement that may break a unique constraint: a lost race to create the same
    /// thing, reported as `on_duplicate`.
    pub async fn execute_unique<'e>(
        self,
        executor: impl Into<Executor<'e>>,
        on_duplicate: impl FnOnce() -> Error,
    ) -> Result<u64> {
        match self.run(executor).await {
            Ok(changed) => Ok(changed),
            Err(sqlx::Error::Database(db)) if db.is_unique_violation() => Err(on_duplicate()),
            Err(e) => Err(e.into()),
        }
    }

    async fn run<'e>(self, executor: impl Into<Executor<'e>>) -> sqlx::Result<u64> {
        let args = self.arguments();
        let query = sqlx::query_with(AssertSqlSafe(self.text), args);
        let done = match executor.into() {
            Executor::Connection(conn) => query.execute(conn).await?,
            Executor::Pool(pool) => query.execute(pool).await?,
        };
        Ok(done.rows_affected())
    }

    pub async fn fetch_all<'e, T: FromRow>(
        self,
        executor: impl Into<Executor<'e>>,
    ) -> Result<Vec<T>> {
        let args = self.arguments();
        let query = sqlx::query_with(AssertSqlSafe(self.text), args);
        let rows = match executor.into() {
            Executor::Connection(conn) => query.fetch_all(conn).await?,
            Executor::Pool(pool) => query.fetch_all(pool).await?,
        };
        rows.into_iter().map(|r| T::from_row(&Row(r))).collect()
    }

    pub async fn fetch_optional<'e, T: FromRow>(
        self,
        executor: impl Into<Executor<'e>>,
    ) -> Result<Option<T>> {
        let args = self.arguments();
        let query = sqlx::query_with(AssertSqlSafe(self.text), args);
        let row = match executor.into() {
            Executor::Connection(conn) => query.fetch_optional(conn).await?,
            Executor::Pool(pool) => query.fetch_optional(pool).await?,
        };
        row.map(|r| T::from_row(&Row(r))).transpose()
    }

    pub async fn fetch_one<'e, T: FromRow>(self, executor: impl Into<Executor<'e>>) -> Result<T> {
        self.fetch_optional(executor)
            .await?
            .ok_or_else(|| Error::Internal("a query that returns a row returned none".into()))
    }
}
