//! Roster's additions beside the contract: liveness, readiness and the served OpenAPI document.

use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use serde::Serialize;

use super::AppState;
use super::error::{ApiError, ApiResult};
use crate::domain::Error;

/// The contract plus Roster's additions, as served at `/v1/openapi.yaml`.
pub const OPENAPI_YAML: &str = include_str!("../../openapi/roster.yaml");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
}

pub fn openapi_routes() -> Router<AppState> {
    Router::new().route("/openapi.yaml", get(openapi))
}

#[derive(Serialize)]
struct Status {
    status: &'static str,
}

async fn healthz() -> axum::Json<Status> {
    axum::Json(Status { status: "ok" })
}

async fn readyz(State(state): State<AppState>) -> ApiResult<axum::Json<Status>> {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => Ok(axum::Json(Status { status: "ready" })),
        Ok(Err(e)) => Err(ApiError::Domain(Error::Unavailable(e.to_string()))),
        Err(_) => Err(ApiError::Domain(Error::Unavailable(
            "the readiness check timed out".into(),
        ))),
    }
}

async fn openapi() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/yaml")], OPENAPI_YAML)
}
