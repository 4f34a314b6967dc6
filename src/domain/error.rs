//! The one error type every layer returns. `api::error` maps it to HTTP, exhaustively.

use std::borrow::Cow;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is well-formed but breaks a rule, or names a bad value: 400.
    #[error("{message}")]
    Invalid {
        message: Cow<'static, str>,
        param: Option<Cow<'static, str>>,
        code: Option<&'static str>,
    },
    /// The object does not exist in the caller's organization: 404.
    #[error("{message}")]
    NotFound {
        message: String,
        param: Option<&'static str>,
    },
    /// No valid credential: 401.
    #[error("{message}")]
    Unauthenticated { message: String },
    /// Concurrent writers kept aborting this change; the caller may retry: 503.
    #[error("the change conflicted with concurrent changes: {0}")]
    Contention(String),
    /// The database could not be reached in time: 503.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The work did not finish in time (a lock held too long, a statement past its timeout, a
    /// request past its deadline); nothing was changed and the caller may retry: 503.
    #[error("timed out: {0}")]
    TimedOut(String),
    /// A fault of Roster's own; the cause is logged, never shown: 500.
    #[error("internal error: {0}")]
    Internal(String),
}

/// What a caller is told of a fault it may retry past (503), in either API's error body.
pub mod advice {
    pub const UNAVAILABLE: &str =
        "The server could not reach its database. Please retry your request.";
    pub const CONTENTION: &str = "The change conflicted with concurrent changes to the same \
                                  objects. Please retry your request.";
    pub const TIMED_OUT: &str = "The server could not complete your request in time; nothing \
                                 was changed. Please retry your request.";
}

impl Error {
    /// The advice for a fault the caller may retry past; `None` for any other.
    pub fn retry_advice(&self) -> Option<&'static str> {
        match self {
            Error::Unavailable(_) => Some(advice::UNAVAILABLE),
            Error::Contention(_) => Some(advice::CONTENTION),
            Error::TimedOut(_) => Some(advice::TIMED_OUT),
            _ => None,
        }
    }

    pub fn invalid(
        message: impl Into<Cow<'static, str>>,
        param: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::Invalid {
            message: message.into(),
            param: Some(param.into()),
            code: None,
        }
    }

    /// A rule about the object as a whole rather than one field of the request.
    pub fn rule(message: impl Into<Cow<'static, str>>) -> Self {
        Error::Invalid {
            message: message.into(),
            param: None,
            code: None,
        }
    }

    pub fn not_found(kind: &str, id: &str, param: &'static str) -> Self {
        Error::NotFound {
            message: format!("No such {kind}: '{id}'"),
            param: Some(param),
        }
    }
}
