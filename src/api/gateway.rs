//! `POST /v1/gateway/check`, Roster's addition for the gateways in front of a team's models: may
//! this project API key make this call? The presented key is the credential (no admin key), and
//! the answer tells only about it. A well-formed question always gets 200, allowed or not, so
//! that a gateway tells "denied" from "Roster is down"; a denial carries the status and the
//! OpenAI error body to answer the caller with.

use std::sync::Arc;

use axum::Router;
use axum::extract::OriginalUri;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiResult;
use super::extract::Json;
use super::project_policies::RateLimitObject;
use crate::domain::gateway::{self, Call, Denial, KeyFacts, Owner};
use crate::domain::policy::RateLimit;
use crate::domain::project_key::looks_like_project_key;
use crate::domain::role::PERMISSIONS;
use crate::domain::{Error, secret};
use crate::store::gateway::DECISION_CACHE_TTL;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/gateway/check", post(check))
        .route("/gateway/auth", any(forward_auth))
        .route("/gateway/auth/{*original}", any(forward_auth))
}

#[derive(Debug, Deserialize)]
struct CheckRequest {
    api_key: String,
    permission: Option<String>,
    model: Option<String>,
    #[serde(default)]
    tools: Vec<String>,
    /// The PEM of the client certificate the gateway received (mutual TLS).
    client_certificate: Option<String>,
}

#[derive(Debug, Serialize)]
struct CheckAnswer {
    object: &'static str,
    allowed: bool,
    /// What the gateway should answer its caller: 200, or the denial's status.
    status: u16,
    error: Option<ErrorBody>,
    organization: Option<Identified>,
    project: Option<Named>,
    api_key: Option<Named>,
    owner: Option<Owner>,
    permissions: Vec<String>,
    expires_at: Option<i64>,
    /// The model's rate limit in the key's project; `null` without a model, or for a model the
    /// catalogue does not know.
    rate_limit: Option<RateLimitObject>,
    /// How long the gateway may reuse this answer.
    cache_ttl_ms: u64,
}

/// The OpenAI error body, as the gateway should send it back.
#[derive(Debug, Serialize)]
struct ErrorBody {
    message: String,
    #[serde(rename = "type")]
    kind: &'static str,
    param: Option<String>,
    code: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct Identified {
    id: String,
}

#[derive(Debug, Serialize)]
struct Named {
    id: String,
    name: String,
}

impl CheckAnswer {
    fn new(
        facts: Option<&KeyFacts>,
        outcome: Result<(), Denial>,
        rate_limit: Option<RateLimitObject>,
    ) -> CheckAnswer {
        // Whose the key is, even when this call is denied; nothing of a key that did not verify.
        let facts = facts.filter(|_| outcome.as_ref().err().is_none_or(Denial::key_verified));
        let (status, error) = match &outcome {
            Ok(()) => (200, None),
            Err(denial) => (
                denial.status(),
                Some(ErrorBody {
                    message: denial.message(),
                    kind: denial.kind(),
                    param: None,
                    code: denial.code(),
                }),
            ),
        };
        CheckAnswer {
            object: "gateway.check",
            allowed: outcome.is_ok(),
            status,
            error,
            organization: facts.map(|f| Identified {
                id: f.org_id.clone(),
            }),
            project: facts.map(|f| Named {
                id: f.project_id.clone(),
                name: f.project_name.clone(),
            }),
            api_key: facts.map(|f| Named {
                id: f.key_id.clone(),
                name: f.key_name.clone(),
            }),
            owner: facts.map(|f| f.owner.clone()),
            permissions: facts
                .map(|f| f.permissions.iter().cloned().collect())
                .unwrap_or_default(),
            expires_at: facts.and_then(|f| f.expires_at),
            rate_limit,
            cache_ttl_ms: u64::try_from(DECISION_CACHE_TTL.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

async fn check(
    State(state): State<AppState>,
    Json(request): Json<CheckRequest>,
) -> ApiResult<axum::Json<CheckAnswer>> {
    let permission = request
        .permission
        .as_deref()
        .unwrap_or(gateway::DEFAULT_PERMISSION);
    if !PERMISSIONS
        .iter()
        .any(|p| p.in_project && p.name == permission)
    {
        return Err(Error::invalid(
            format!(
                "Invalid 'permission': '{permission}' is not a permission a project API key can hold."
            ),
            "permission",
        )
        .into());
    }
    if let Some((i, tool)) = request
        .tools
        .iter()
        .enumerate()
        .find(|(_, t)| !gateway::HOSTED_TOOLS.contains(&t.as_str()))
    {
        return Err(Error::invalid(
            format!(
                "Invalid tool '{tool}': the hosted tools are {}.",
                gateway::HOSTED_TOOLS.join(", ")
            ),
            format!("tools[{i}]"),
        )
        .into());
    }
    let call = Call {
        presented: request.api_key.trim(),
        permission,
        model: request.model.as_deref(),
        tools: &request.tools,
        client_certificate: request.client_certificate.as_deref(),
    };
    let Verdict {
        facts,
        outcome,
        rate_limit,
    } = verdict(&state, &call).await?;
    Ok(axum::Json(CheckAnswer::new(
        facts.as_deref(),
        outcome,
        rate_limit.map(Into::into),
    )))
}

/// The decision about a call, and what the answer tells with it.
struct Verdict {
    facts: Option<Arc<KeyFacts>>,
    outcome: Result<(), Denial>,
    /// The model's rate limit in the key's project, for a key that verified.
    rate_limit: Option<RateLimit>,
}

/// The one decision behind both shapes of the question (the JSON check and forward auth): the
/// key's facts from the cache or one query, the domain's verdict, the model's limit.
async fn verdict(state: &AppState, call: &Call<'_>) -> ApiResult<Verdict> {
    let store = &state.store;
    let facts = if looks_like_project_key(call.presented) {
        let digest = secret::digest(call.presented);
        let facts = store.key_facts(&digest).await?;
        if let Some(facts) = &facts {
            store.key_used(&digest, facts, store.clock().now());
        }
        facts
    } else {
        None
    };
    let outcome = gateway::decide(facts.as_deref(), call, store.clock().now());
    let decided = outcome.as_ref().err().map_or("allowed", Denial::label);
    metrics::counter!("roster_gateway_decisions_total", "outcome" => decided).increment(1);
    let verified = outcome.as_ref().err().is_none_or(Denial::key_verified);
    let rate_limit = match (&facts, call.model) {
        (Some(facts), Some(model)) if verified => {
            state.settings.models.get(model).map(|organization| {
                facts
                    .rate_limits
                    .get(model)
                    .map_or_else(|| organization.clone(), |values| organization.with(values))
            })
        }
        _ => None,
    };
    Ok(Verdict {
        facts,
        outcome,
        rate_limit,
    })
}

/// Forward auth, for the gateways that ask an external service before they pass a request (nginx
/// `auth_request`, Caddy `forward_auth`, Traefik `ForwardAuth`, Envoy `ext_authz`): the same
/// decision as the check, answered as they understand it. Allowed: 200, no body, and headers for
/// the upstream. Denied: 401 or 403 only (nginx turns any other status into a 500), with the
/// OpenAI error body the caller should see.
async fn forward_auth(
    State(state): State<AppState>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    // The original request: from the headers Traefik and Caddy send (X-Forwarded-*) or nginx is
    // told to (X-Original-*), or else from the path below this one and this request's method
    // (Envoy's `path_prefix`).
    let suffix = uri
        .path()
        .strip_prefix("/v1/gateway/auth")
        .unwrap_or_default();
    let original_uri = header("x-forwarded-uri")
        .or_else(|| header("x-original-uri"))
        .or_else(|| (!suffix.is_empty()).then_some(suffix));
    let original_method = header("x-forwarded-method")
        .or_else(|| header("x-original-method"))
        .unwrap_or(method.as_str());
    let Some(original_uri) = original_uri else {
        return Ok(refusal(
            StatusCode::FORBIDDEN,
            "Roster could not tell which request to authorize: send its URI in X-Forwarded-Uri or \
             X-Original-URI, or append its path to /v1/gateway/auth.",
            None,
        ));
    };
    let Some(permission) = state
        .settings
        .routes
        .permission_for(original_method, original_uri)
    else {
        return Ok(refusal(
            StatusCode::FORBIDDEN,
            &format!(
                "{original_method} {} is not a route Roster authorizes: it maps the OpenAI API's \
                 routes to the permission each needs, and this one is not among them.",
                original_uri.split('?').next().unwrap_or_default()
            ),
            None,
        ));
    };
    let presented = header("authorization")
        .and_then(super::auth::bearer)
        .or_else(|| header("api-key"))
        .unwrap_or_default();
    // The client certificate as gateways pass it: URL-escaped PEM (nginx's
    // `$ssl_client_escaped_cert`, Caddy, Traefik and Envoy alike). `+` stays `+`.
    let client_certificate = header("x-client-cert").map(|escaped| {
        percent_encoding::percent_decode_str(escaped)
            .decode_utf8_lossy()
            .into_owned()
    });
    let call = Call {
        presented,
        permission,
        model: header("x-roster-model").filter(|m| !m.is_empty()),
        tools: &[],
        client_certificate: client_certificate.as_deref(),
    };
    let Verdict {
        facts,
        outcome,
        rate_limit,
    } = verdict(&state, &call).await?;
    let (Ok(()), Some(facts)) = (&outcome, &facts) else {
        let denial = outcome.err().unwrap_or(Denial::IncorrectKey {
            shown: String::new(),
        });
        let status = StatusCode::from_u16(denial.status()).unwrap_or(StatusCode::FORBIDDEN);
        return Ok(refusal(status, &denial.message(), denial.code()));
    };
    let (owner_type, owner_id) = match &facts.owner {
        Owner::User { id, .. } => ("user", id.as_str()),
        Owner::ServiceAccount { id, .. } => ("service_account", id.as_str()),
    };
    let mut upstream = vec![
        ("x-roster-organization-id", facts.org_id.clone()),
        ("x-roster-project-id", facts.project_id.clone()),
        ("x-roster-api-key-id", facts.key_id.clone()),
        ("x-roster-owner-type", owner_type.to_owned()),
        ("x-roster-owner-id", owner_id.to_owned()),
    ];
    if let Some(limit) = rate_limit {
        upstream.push((
            "x-roster-ratelimit-limit-requests",
            limit.max_requests_per_1_minute.to_string(),
        ));
        upstream.push((
            "x-roster-ratelimit-limit-tokens",
            limit.max_tokens_per_1_minute.to_string(),
        ));
    }
    let mut response = StatusCode::OK.into_response();
    for (name, value) in upstream {
        if let Ok(value) = HeaderValue::from_str(&value) {
            response
                .headers_mut()
                .insert(HeaderName::from_static(name), value);
        }
    }
    Ok(response)
}

/// A forward-auth refusal: the status, and the OpenAI error body for the gateway to pass on.
fn refusal(status: StatusCode, message: &str, code: Option<&'static str>) -> Response {
    let body = ErrorEnvelope {
        error: ErrorBody {
            message: message.to_owned(),
            kind: "invalid_request_error",
            param: None,
            code,
        },
    };
    (status, axum::Json(body)).into_response()
}

#[derive(Debug, Serialize)]
struct ErrorEnvelope {
    error: ErrorBody,
}
