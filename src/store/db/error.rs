//! What the drivers report, read into the domain's error.

use tokio_postgres::error::SqlState;

use super::*;

/// What went wrong in the driver, before it becomes the domain's error.
#[derive(Debug)]
pub(super) enum DbError {
    UniqueViolation,
    ForeignKeyViolation,
    Contention(String),
    TimedOut(String),
    Unavailable(String),
    Other(String),
}

pub(super) type DbResult<T> = std::result::Result<T, DbError>;

impl DbError {
    pub(super) fn from_pool(e: deadpool_postgres::PoolError) -> DbError {
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

#[cfg(test)]
mod tests {
    use super::*;

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
