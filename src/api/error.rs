//! The one mapping from errors to HTTP: a status and the OpenAI error envelope
//! `{"error": {"message", "type", "param", "code"}}`. Internal causes are logged, never shown.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::domain::Error;
use crate::domain::error::advice;

/// An error as the API answers it: a domain error, or one that only HTTP can produce.
#[derive(Debug)]
pub enum ApiError {
    Domain(Error),
    PayloadTooLarge {
        limit_bytes: usize,
    },
    UnknownRoute {
        method: String,
        path: String,
    },
    MethodNotAllowed {
        method: String,
        path: String,
    },
    /// The emulator's rate limits: 429 with the real service's headers.
    RateLimited {
        message: String,
        retry_after_seconds: i64,
    },
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::Domain(e)
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    message: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    param: Option<&'a str>,
    code: Option<&'a str>,
}

/// What a body over the limit is told, in either API's error body.
pub fn too_large(limit_bytes: usize) -> String {
    format!("The request body is too large: the limit is {limit_bytes} bytes.")
}

const INVALID_REQUEST: &str = "invalid_request_error";
const SERVER_ERROR: &str = "server_error";

fn envelope(
    status: StatusCode,
    kind: &str,
    message: &str,
    param: Option<&str>,
    code: Option<&str>,
) -> Response {
    let body = Envelope {
        error: ErrorBody {
            message,
            kind,
            param,
            code,
        },
    };
    (status, axum::Json(body)).into_response()
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::Domain(Error::Invalid {
                message,
                param,
                code,
            }) => envelope(
                StatusCode::BAD_REQUEST,
                INVALID_REQUEST,
                &message,
                param.as_deref(),
                code,
            ),
            ApiError::Domain(Error::NotFound { message, param }) => envelope(
                StatusCode::NOT_FOUND,
                INVALID_REQUEST,
                &message,
                param,
                None,
            ),
            ApiError::Domain(Error::Unauthenticated { message }) => envelope(
                StatusCode::UNAUTHORIZED,
                INVALID_REQUEST,
                &message,
                None,
                Some("invalid_api_key"),
            ),
            ApiError::Domain(Error::Unavailable(cause)) => {
                tracing::error!(%cause, "database unavailable");
                envelope(
                    StatusCode::SERVICE_UNAVAILABLE,
                    SERVER_ERROR,
                    advice::UNAVAILABLE,
                    None,
                    None,
                )
            }
            ApiError::Domain(Error::Contention(cause)) => {
                tracing::warn!(%cause, "a change kept conflicting with concurrent changes");
                envelope(
                    StatusCode::SERVICE_UNAVAILABLE,
                    SERVER_ERROR,
                    advice::CONTENTION,
                    None,
                    None,
                )
            }
            ApiError::Domain(Error::TimedOut(cause)) => {
                tracing::warn!(%cause, "a request timed out");
                envelope(
                    StatusCode::SERVICE_UNAVAILABLE,
                    SERVER_ERROR,
                    advice::TIMED_OUT,
                    None,
                    None,
                )
            }
            ApiError::Domain(Error::Internal(cause)) => {
                tracing::error!(%cause, "internal error");
                internal_error_response()
            }
            ApiError::PayloadTooLarge { limit_bytes } => envelope(
                StatusCode::PAYLOAD_TOO_LARGE,
                INVALID_REQUEST,
                &too_large(limit_bytes),
                None,
                Some("request_too_large"),
            ),
            ApiError::UnknownRoute { method, path } => envelope(
                StatusCode::NOT_FOUND,
                INVALID_REQUEST,
                &format!("Invalid URL ({method} {path})"),
                None,
                None,
            ),
            ApiError::MethodNotAllowed { method, path } => envelope(
                StatusCode::METHOD_NOT_ALLOWED,
                INVALID_REQUEST,
                &format!("Method not allowed: {path} does not accept {method}."),
                None,
                Some("method_not_allowed"),
            ),
            ApiError::RateLimited {
                message,
                retry_after_seconds,
            } => {
                let mut response = envelope(
                    StatusCode::TOO_MANY_REQUESTS,
                    "requests",
                    &message,
                    None,
                    Some("rate_limit_exceeded"),
                );
                let headers = response.headers_mut();
                headers.insert("retry-after", retry_after_seconds.into());
                headers.insert("retry-after-ms", (retry_after_seconds * 1000).into());
                response
            }
        }
    }
}

/// The answer to a fault of Roster's own, also used when a handler panics.
pub fn internal_error_response() -> Response {
    envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        SERVER_ERROR,
        "The server had an error while processing your request. Sorry about that!",
        None,
        None,
    )
}

pub type ApiResult<T> = Result<T, ApiError>;
