//! `/organization/scim/tokens`: Roster's addition for an organization's owners to make, list and
//! revoke the bearer tokens their identity provider calls `/scim/v2` with.

use axum::Router;
use axum::extract::State;
use axum::routing::{delete, get};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json};
use super::{AppState, Deleted};
use crate::domain::ids::ScimTokenId;
use crate::domain::name::NameRule;
use crate::domain::principal::Principal;
use crate::store::scim::ScimToken;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/scim/tokens", get(list).post(create))
        .route("/organization/scim/tokens/{token_id}", delete(revoke))
}

/// A token as listed: never its value.
#[derive(Debug, Serialize)]
struct TokenObject {
    object: &'static str,
    id: String,
    name: Option<String>,
    created_at: i64,
    /// Only in the answer to its creation: shown once.
    #[serde(skip_serializing_if = "Option::is_none")]
    value: Option<String>,
}

impl TokenObject {
    fn new(token: ScimToken, value: Option<String>) -> TokenObject {
        TokenObject {
            object: "organization.scim_token",
            id: token.id,
            name: token.name,
            created_at: token.created_at,
            value,
        }
    }
}

#[derive(Debug, Serialize)]
struct TokenList {
    object: &'static str,
    data: Vec<TokenObject>,
}

/// A token's name says which identity provider holds it.
const TOKEN_NAME: NameRule = NameRule {
    called: "A SCIM token's name",
    param: "name",
    min_chars: 0,
    max_chars: 256,
};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateToken {
    name: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateToken>,
) -> ApiResult<axum::Json<TokenObject>> {
    let name = body
        .name
        .as_deref()
        .map(|n| TOKEN_NAME.check(n))
        .transpose()?;
    let (token, value) = state
        .store
        .create_scim_token(&(&principal).into(), name.as_deref())
        .await?;
    Ok(axum::Json(TokenObject::new(token, Some(value))))
}

/// An organization has a few tokens (one per identity provider, and one more while rotating):
/// listed whole, newest last.
async fn list(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<axum::Json<TokenList>> {
    let tokens = state.store.list_scim_tokens(&principal.org_id).await?;
    Ok(axum::Json(TokenList {
        object: "list",
        data: tokens
            .into_iter()
            .map(|t| TokenObject::new(t, None))
            .collect(),
    }))
}

async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Ids(token_id): Ids<ScimTokenId>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .revoke_scim_token(&(&principal).into(), &token_id)
        .await?;
    Ok(Deleted::new("organization.scim_token.deleted", token_id))
}
