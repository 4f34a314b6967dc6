//! What differs in the SQL of the two backends: how a row is locked, how values aggregate.
//! Every query elsewhere is shared; the drivers are `db/`'s.

use crate::domain::{Error, Result};

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

    /// A condition that narrows `alias`'s rows to those whose `column` may be LIKE a pattern,
    /// read from the table's trigram index `index`, before the exact comparison: the text before
    /// and after the pattern's placeholder. PostgreSQL's trigram indexes serve the comparison
    /// itself: none is needed.
    pub(super) fn trigram_candidates(
        self,
        alias: &str,
        index: &str,
        column: &str,
    ) -> Option<(String, &'static str)> {
        match self {
            Backend::Sqlite => Some((
                format!("{alias}.rowid IN (SELECT rowid FROM {index} WHERE {column} LIKE "),
                ")",
            )),
            Backend::Postgres => None,
        }
    }

    /// A subquery of the strings of the JSON array bound to `placeholder`: a list of any length
    /// in one statement text, prepared once.
    pub(super) fn json_strings(self, placeholder: &str) -> String {
        match self {
            Backend::Sqlite => format!("SELECT value FROM json_each({placeholder})"),
            Backend::Postgres => format!("SELECT json_array_elements_text({placeholder}::json)"),
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
}
