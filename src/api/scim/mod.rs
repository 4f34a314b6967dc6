//! `/scim/v2`: SCIM 2.0 (RFC 7644) for an organization's identity provider. Discovery at the
//! base, Users and Groups; `application/scim+json` and SCIM's error bodies throughout. The
//! rules live in `domain/scim/`, the SQL in `store/scim/`. Here: the routes, the extractors
//! (the token, a resource's id, a body) and SCIM's answers and refusals.

use axum::Router;
use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;

use super::AppState;
use super::error::ApiError;
use crate::domain::scim::{
    self, LIST_SCHEMA, PRECONDITION_FAILED, Precondition, ScimError, ScimResult, Versions,
};
use crate::domain::secret;
use crate::store::scim::{ScimToken, TOKEN_PREFIX};

mod discovery;
mod groups;
mod list;
mod users;

use discovery::{resource_type, resource_types, schema, schemas, service_provider_config};
use groups::{
    create_group, delete_group, group_resource, list_groups, patch_group, replace_group,
    retrieve_group,
};
use list::{ListRequest, Shape, search_everything};
use users::{create_user, delete_user, list_users, patch_user, replace_user, retrieve_user};

/// Where SCIM is served.
pub const BASE_PATH: &str = "/scim/v2";

/// Whether `path` is SCIM's: its refusals are SCIM error bodies, even those made before routing.
pub fn is_scim(path: &str) -> bool {
    path.strip_prefix(BASE_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A refusal made before routing (a body too large or framed twice, a request past its
/// deadline), as SCIM's error body: identity providers read no other.
pub fn refusal(error: ApiError) -> Response {
    match error {
        ApiError::Domain(error) => Refusal::from(error).into_response(),
        ApiError::PayloadTooLarge { limit_bytes } => Refusal(ScimError {
            status: StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
            scim_type: None,
            detail: super::error::too_large(limit_bytes),
        })
        .into_response(),
        other => other.into_response(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(list_users))
        .route(
            "/Users/{id}",
            get(retrieve_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", post(list_groups))
        .route(
            "/Groups/{id}",
            get(retrieve_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/.search", post(search_everything))
        .route("/Me", any(no_me))
        .route("/Me/{*rest}", any(no_me))
        .route("/Bulk", any(no_bulk))
        .fallback(unknown)
        .layer(CatchPanicLayer::custom(panicked))
}

/// A handler's panic, answered in SCIM's error body: the layer around every route would answer
/// it in the Admin API's envelope, which identity providers do not read.
fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    Refusal::from(crate::domain::Error::Internal(
        "a SCIM handler panicked".into(),
    ))
    .into_response()
}

/// A SCIM answer: `application/scim+json`, with the resource's ETag when it has one.
struct Scim {
    status: StatusCode,
    body: Value,
}

impl Scim {
    fn ok(body: Value) -> Scim {
        Scim {
            status: StatusCode::OK,
            body,
        }
    }

    /// An answer with no body (304, 204): only the version, as its `ETag`.
    fn bodiless(status: StatusCode, version: i64) -> Scim {
        Scim {
            status,
            body: json!({"meta": {"version": scim::etag(version)}}),
        }
    }
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let version = self.body["meta"]["version"].as_str().map(str::to_owned);
        let location = (self.status == StatusCode::CREATED)
            .then(|| self.body["meta"]["location"].as_str().map(str::to_owned))
            .flatten();
        if matches!(
            self.status,
            StatusCode::NOT_MODIFIED | StatusCode::NO_CONTENT
        ) {
            let mut response = self.status.into_response();
            if let Some(value) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(ETAG, value);
            }
            return response;
        }
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        for (name, value) in [(ETAG, version), (LOCATION, location)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        response
    }
}

const SCIM_JSON: &str = "application/scim+json";

/// A refusal as SCIM's error body.
struct Refusal(ScimError);

impl From<ScimError> for Refusal {
    fn from(error: ScimError) -> Refusal {
        Refusal(error)
    }
}

impl From<crate::domain::Error> for Refusal {
    fn from(error: crate::domain::Error) -> Refusal {
        if let crate::domain::Error::Internal(cause) = &error {
            tracing::error!(%cause, "a SCIM request failed");
        }
        if let crate::domain::Error::Invalid {
            message,
            code: Some(PRECONDITION_FAILED),
            ..
        } = &error
        {
            return Refusal(ScimError {
                status: 412,
                scim_type: None,
                detail: message.to_string(),
            });
        }
        Refusal(error.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, self.0.body().to_string()).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"roster-scim\""),
            );
        }
        response
    }
}

type Answer = Result<Scim, Refusal>;

/// The identity provider, by its bearer token: one indexed lookup, compared in constant time.
struct Provider(ScimToken);

impl FromRequestParts<AppState> for Provider {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let refused = |detail: &str| {
            Refusal(ScimError {
                status: 401,
                scim_type: None,
                detail: detail.to_owned(),
            })
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::bearer)
            .ok_or_else(|| refused("Give the organization's SCIM token as a bearer token."))?;
        if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 256 {
            return Err(refused("The SCIM token is not valid."));
        }
        let digest = secret::digest(presented);
        let token = state
            .store
            .authenticate_scim(&digest)
            .await?
            .filter(|t| secret::digests_match(&t.digest, &digest))
            .ok_or_else(|| refused("The SCIM token is not valid."))?;
        Ok(Provider(token))
    }
}

/// A User's or Group's id, from the path: one holding a NUL character, which no database
/// stores, is refused (400) as the Admin API refuses it, in SCIM's error body.
struct ResourceId(String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        super::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|path| ResourceId(path.0))
            .map_err(refusal)
    }
}

/// A SCIM body: JSON, as `application/scim+json` or `application/json`.
struct Body(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = Refusal;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Refusal> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let detail = match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    super::error::too_large(super::extract::MAX_BODY_BYTES)
                }
                _ => e.body_text(),
            };
            Refusal(ScimError {
                status: e.status().as_u16(),
                scim_type: None,
                detail,
            })
        })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::bad("invalidSyntax", format!("The body is not JSON: {e}")))?;
        if super::extract::nul_in(&value).is_some() {
            return Err(
                ScimError::bad("invalidValue", "Text may not contain NUL characters.").into(),
            );
        }
        Ok(Body(value))
    }
}

/// The SCIM base URL, for `location` and `$ref`.
fn base(state: &AppState) -> String {
    format!(
        "{}{BASE_PATH}",
        state.settings.public_url.trim_end_matches('/')
    )
}

/// RFC 7644 §3.11: a provider without `/Me` answers 501. A SCIM token is the organization's,
/// not a person's, so there is no "me" to answer with.
async fn no_me() -> Refusal {
    Refusal(ScimError::not_implemented(
        "/Me is not supported: a SCIM token belongs to an organization, not to a person.",
    ))
}

/// RFC 7644 §3.7: bulk is optional, and the configuration says `bulk.supported: false`.
async fn no_bulk() -> Refusal {
    Refusal(ScimError::not_implemented(
        "Bulk operations are not supported (ServiceProviderConfig: bulk.supported is false): send each change on its own.",
    ))
}

async fn unknown() -> Refusal {
    Refusal(ScimError {
        status: 404,
        scim_type: None,
        detail: "No such SCIM endpoint.".to_owned(),
    })
}

fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// The conditions `If-Match` and `If-None-Match` set on the version of the resource named.
fn precondition(headers: &HeaderMap) -> ScimResult<Precondition> {
    let versions = |name: &str, header| {
        headers
            .get(&header)
            .map(|value| Versions::parse(name, value.to_str().unwrap_or_default()))
            .transpose()
    };
    Ok(Precondition {
        if_match: versions("If-Match", IF_MATCH)?,
        if_none_match: versions("If-None-Match", IF_NONE_MATCH)?,
    })
}

/// A read of `what` `id` at `version`: 304 Not Modified (its ETag, no body) when the client
/// holds that version already (`If-None-Match`), 412 when it asked for another (`If-Match`).
fn read(
    headers: &HeaderMap,
    (what, id, version): (&str, &str, i64),
    resource: impl FnOnce() -> ScimResult<Value>,
) -> Answer {
    let precondition = precondition(headers)?;
    if precondition.unchanged(version) {
        return Ok(Scim::bodiless(StatusCode::NOT_MODIFIED, version));
    }
    if !precondition.holds(version) {
        return Err(scim::changed_since(what, id, version).into());
    }
    Ok(Scim::ok(resource()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic answers 500 in SCIM's error body, as every other SCIM refusal.
    #[tokio::test]
    async fn a_panic_is_answered_in_scims_error_body() {
        let response = panicked(Box::new("boom"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], SCIM_JSON);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(body["status"], "500");
    }
}
