//! SQLite through rusqlite: readers on the callers' threads, and one writer whose transactions
//! commit in groups.

use std::sync::Mutex;

use rusqlite::types::ValueRef;

use super::*;

impl Query {
    pub(super) fn on_sqlite(
        &self,
        conn: &rusqlite::Connection,
        want: Want,
    ) -> DbResult<(u64, Vec<Row>)> {
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
}

/// SQLite: readers on the callers' threads, and one writer that commits in groups.
pub struct Sqlite {
    pub(super) path: String,
    pub(super) setup: String,
    /// Idle readers, each with the `statistics` it was opened under.
    pub(super) readers: Mutex<Vec<(u64, rusqlite::Connection)>>,
    /// Reader connections kept open between reads (more open while more read at once).
    pub(super) idle_readers: usize,
    /// Counts `renew_readers` calls: a reader opened before the last is closed rather than used
    /// again.
    pub(super) statistics: std::sync::atomic::AtomicU64,
    pub(super) writer: Arc<tokio::sync::Mutex<Writer>>,
    /// Rung when a transaction waits for its group's commit.
    pub(super) flush: Arc<Notify>,
    pub(super) flusher: tokio::task::JoinHandle<()>,
    /// Set by `close`: nothing runs after it.
    pub(super) closed: std::sync::atomic::AtomicBool,
}

/// The one connection that writes, and the group of transactions it has open.
pub struct Writer {
    pub(super) conn: rusqlite::Connection,
    /// Whether a group's transaction is open (its members' changes, each in a savepoint).
    pub(super) open: bool,
    /// The members of the open group, answered when it commits.
    pub(super) waiting: Vec<oneshot::Sender<std::result::Result<(), String>>>,
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
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> DbResult<T>,
    ) -> DbResult<T> {
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

    pub(super) fn check_open(&self) -> DbResult<()> {
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

impl Sqlite {
    /// Opens the file of `url` with its one writer and the task that commits its groups.
    pub(super) fn open(url: &str, options: &StoreOptions) -> Result<Database> {
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
}

/// The file of a `sqlite://<file>[?options]` URL.
pub fn sqlite_path(url: &str) -> String {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    rest.split('?').next().unwrap_or(rest).to_owned()
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
}
