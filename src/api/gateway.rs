//! `POST /v1/gateway/check`, Roster's addition for the gateways in front of a team's models: may
//! this project API key make this call? The presented key is the credential (no admin key), and
//! the answer tells only about it. A well-formed question always gets 200, allowed or not, so
//! that a gateway tells "denied" from "Roster is down"; a denial carries the status and the
//! OpenAI error body to answer the caller with.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiResult;
use super::extract::Json;
use super::project_policies::RateLimitObject;
use crate::domain::gateway::{self, Call, Denial, KeyFacts, Owner};
use crate::domain::project_key::looks_like_project_key;
use crate::domain::role::PERMISSIONS;
use crate::domain::{Error, secret};
use crate::store::gateway::DECISION_CACHE_TTL;

pub fn routes() -> Router<AppState> {
    Router::new().route("/gateway/check", post(check))
}

#[derive(Debug, Deserialize)]
struct CheckRequest {
    api_key: String,
    permission: Option<String>,
    model: Option<String>,
    #[serde(default)]
    tools: Vec<String>,
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
    let presented = request.api_key.trim();
    let store = &state.store;
    let facts = if looks_like_project_key(presented) {
        let digest = secret::digest(presented);
        let facts = store.key_facts(&digest).await?;
        if let Some(facts) = &facts {
            store.key_used(&digest, facts, store.clock().now());
        }
        facts
    } else {
        None
    };
    let call = Call {
        presented,
        permission,
        model: request.model.as_deref(),
        tools: &request.tools,
    };
    let facts = facts.as_deref();
    let outcome = gateway::decide(facts, &call, store.clock().now());
    let verified = outcome.as_ref().err().is_none_or(Denial::key_verified);
    let rate_limit = match (facts, call.model) {
        (Some(facts), Some(model)) if verified => {
            state.settings.models.get(model).map(|organization| {
                let project = facts.rate_limits.get(model);
                project
                    .map_or_else(|| organization.clone(), |values| organization.with(values))
                    .into()
            })
        }
        _ => None,
    };
    Ok(axum::Json(CheckAnswer::new(facts, outcome, rate_limit)))
}
