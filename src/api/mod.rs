//! HTTP only: routing, extraction, responses. Handlers hold no SQL and no rules.

mod accept;
mod admin_api_keys;
pub mod audit_logs;
mod auth;
mod certificates;
mod emulator;
pub mod error;
mod extract;
mod gateway;
mod groups;
mod health;
mod invites;
mod metrics;
mod pagination;
mod project_api_keys;
mod project_policies;
mod project_users;
mod projects;
mod role_assignments;
mod roles;
mod scim;
mod scim_tokens;
mod service_accounts;
mod users;

use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderName, Response};
use axum::middleware::{self, Next};
use axum::response::IntoResponse;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;
use tracing::Span;

use crate::domain::{ids, secret};
use crate::mail::Mailer;
use crate::store::Store;
pub use emulator::{Emulator, RateLimits};
use error::ApiError;

/// What every handler can reach.
#[derive(Clone, Debug)]
pub struct AppState {
    pub store: Store,
    pub settings: Settings,
}

/// How the server reaches people: mail, and the URL its links use.
#[derive(Clone, Debug)]
pub struct Settings {
    pub mailer: Mailer,
    pub mail_from: String,
    /// The base of links in emails, such as `https://roster.example.com`.
    pub public_url: String,
    pub invite_lifetime_seconds: i64,
    pub limits: Limits,
    /// Where the gateway's endpoints are served, if not beside the Admin API.
    pub gateway_listen: Option<std::net::SocketAddr>,
    /// Where `/metrics` is served, if not beside the Admin API.
    pub metrics_listen: Option<std::net::SocketAddr>,
    /// The routes forward auth knows, with the permission each needs.
    pub routes: std::sync::Arc<crate::domain::gateway::RouteTable>,
    /// The models Roster knows, with the organization's rate limits.
    pub models: std::sync::Arc<crate::domain::policy::ModelCatalogue>,
    /// The emulator's controls, when `--emulator` is given.
    pub emulator: Option<Emulator>,
}

/// What bounds a client's hold on the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// A request's whole life, from its headers to its response (its body read, every query
    /// run); past it the client gets 503 and the work is abandoned, its transaction rolled back.
    pub request_timeout: Duration,
    /// How long a connection may take to send a request's headers, or stay idle between
    /// requests, before it is closed.
    pub header_timeout: Duration,
    /// Connections served at once; more wait to be accepted.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(30),
            header_timeout: Duration::from_secs(10),
            max_connections: 1024,
        }
    }
}

static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole HTTP application: the contract under `/v1`, Roster's additions beside it.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .merge(admin_api_keys::routes())
        .merge(audit_logs::routes())
        .merge(certificates::routes())
        .merge(projects::routes())
        .merge(roles::routes())
        .merge(groups::routes())
        .merge(service_accounts::routes())
        .merge(project_api_keys::routes())
        .merge(project_policies::routes())
        .merge(role_assignments::routes())
        .merge(project_users::routes())
        .merge(users::routes())
        .merge(invites::routes())
        .merge(scim_tokens::routes())
        .merge(accept::api_routes())
        .merge(health::openapi_routes());
    let v1 = if state.settings.emulator.is_some() {
        v1.merge(emulator::routes())
    } else {
        v1
    };
    // The gateway's endpoints, here unless they have an address of their own.
    let v1 = if state.settings.gateway_listen.is_none() {
        v1.merge(gateway::routes())
    } else {
        v1
    };
    let routes = Router::new()
        .nest("/v1", v1)
        .nest(scim::BASE_PATH, scim::routes())
        .merge(health::routes())
        .merge(accept::page_routes());
    let routes = if state.settings.metrics_listen.is_none() {
        routes.merge(metrics::routes())
    } else {
        routes
    };
    served(routes, state)
}

/// `/metrics` alone (and the probes), for `--metrics-listen`: an address only the scraper
/// reaches.
pub fn metrics_router(state: AppState) -> Router {
    let routes = Router::new()
        .merge(metrics::routes())
        .merge(health::routes());
    served(routes, state)
}

/// The gateway's endpoints alone (and the probes), for `--gateway-listen`: an address on the
/// network the gateways sit in, apart from the Admin API's.
pub fn gateway_router(state: AppState) -> Router {
    let routes = Router::new()
        .nest("/v1", gateway::routes())
        .merge(health::routes());
    served(routes, state)
}

/// `routes` with what every request gets: the envelope for unknown routes and methods, and the
/// middleware stack.
fn served(routes: Router<AppState>, state: AppState) -> Router {
    let request_timeout = state.settings.limits.request_timeout;
    routes
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(
            // Outermost first: give the request an id, trace it under that id, return the id,
            // and turn a panic into the envelope rather than a dropped connection.
            ServiceBuilder::new()
                .layer(SetRequestIdLayer::new(REQUEST_ID.clone(), NewRequestId))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(|req: &Request| {
                            let request_id = req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()).unwrap_or("-");
                            // Paths can carry invite tokens: log them redacted.
                            let path = secret::redact_path(req.uri().path());
                            let span = tracing::info_span!("request", method = %req.method(), %path, request_id);
                            if crate::traces::on() {
                                crate::traces::continue_trace(&span, req.headers());
                            }
                            span
                        })
                        .on_request(())
                        .on_failure(())
                        .on_response(|res: &Response<_>, latency: Duration, _span: &Span| {
                            tracing::info!(status = res.status().as_u16(), latency_ms = latency.as_secs_f64() * 1000.0, "request");
                        }),
                )
                .layer(PropagateRequestIdLayer::new(REQUEST_ID.clone()))
                .layer(CatchPanicLayer::custom(|_| error::internal_error_response()))
                .layer(middleware::from_fn(metrics::record_request))
                .layer(middleware::from_fn(check_framing))
                .layer(middleware::from_fn(move |req: Request, next: Next| {
                    within_deadline(request_timeout, req, next)
                }))
                .layer(DefaultBodyLimit::max(extract::MAX_BODY_BYTES)),
        )
}

/// What every delete operation of the contract answers: `{"id", "object", "deleted": true}`.
#[derive(Debug, serde::Serialize)]
pub struct Deleted {
    pub id: String,
    pub object: &'static str,
    pub deleted: bool,
}

impl Deleted {
    pub fn new(object: &'static str, id: impl Into<String>) -> axum::Json<Deleted> {
        axum::Json(Deleted {
            id: id.into(),
            object,
            deleted: true,
        })
    }
}

/// Marks a request that announced its body both by `Content-Length` and by `Transfer-Encoding`
/// (which hyper's head no longer shows: the connection's reader sets it).
#[derive(Clone, Copy, Debug)]
pub struct DoublyFramed;

/// Refuses what could smuggle a request or hold the server waiting: a body announced both by
/// `Content-Length` and `Transfer-Encoding` (RFC 9112 6.1 lets a server refuse it, which closes
/// the connection after the answer), and one announced larger than the limit (refused at once,
/// not after reading up to it).
async fn check_framing(req: Request, next: Next) -> Response<axum::body::Body> {
    // hyper hands on a doubly framed request by its Transfer-Encoding alone, without the
    // Content-Length: the connection's reader (`server.rs`) marks it.
    if req.extensions().get::<DoublyFramed>().is_some() {
        return refuse(
            scim::is_scim(req.uri().path()),
            ApiError::Domain(crate::domain::Error::Invalid {
                message:
                    "The request has both Content-Length and Transfer-Encoding headers; send one."
                        .into(),
                param: None,
                code: Some("invalid_request"),
            }),
        );
    }
    let announced = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|length| length > extract::MAX_BODY_BYTES as u64) {
        return refuse(
            scim::is_scim(req.uri().path()),
            ApiError::PayloadTooLarge {
                limit_bytes: extract::MAX_BODY_BYTES,
            },
        );
    }
    next.run(req).await
}

/// A refusal made before routing, in the error body of the API the request was for.
fn refuse(scim: bool, error: ApiError) -> Response<axum::body::Body> {
    match scim {
        true => scim::refusal(error),
        false => error.into_response(),
    }
}

/// Answers 503 when a request outlives `timeout`, whatever it waits on (a slow body, a database
/// that went silent); dropping the handler rolls its transaction back.
async fn within_deadline(
    timeout: Duration,
    req: Request,
    next: Next,
) -> Response<axum::body::Body> {
    let scim = scim::is_scim(req.uri().path());
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => refuse(
            scim,
            ApiError::Domain(crate::domain::Error::TimedOut(format!(
                "the request passed its deadline of {} s",
                timeout.as_secs_f64()
            ))),
        ),
    }
}

/// Request ids in the style of the real service's `req_...`.
#[derive(Clone, Copy)]
struct NewRequestId;

impl MakeRequestId for NewRequestId {
    fn make_request_id<B>(&mut self, _request: &Request<B>) -> Option<RequestId> {
        ids::new_id("req_").parse().ok().map(RequestId::new)
    }
}

async fn unknown_route(req: Request) -> ApiError {
    ApiError::UnknownRoute {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
    }
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::MethodNotAllowed {
        method: req.method().to_string(),
        path: req.uri().path().to_owned(),
    }
}
