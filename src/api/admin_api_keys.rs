//! `/organization/admin_api_keys`: list, create, retrieve, delete.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, ListQuery, Listed};
use super::{AppState, Deleted};
use crate::domain::admin_key::{self, AdminApiKey};
use crate::domain::ids::AdminApiKeyId;
use crate::domain::principal::Principal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/admin_api_keys", get(list).post(create))
        .route(
            "/organization/admin_api_keys/{key_id}",
            get(retrieve).delete(delete),
        )
}

/// The contract's `AdminApiKey`.
#[derive(Debug, Serialize)]
pub struct AdminApiKeyObject {
    pub object: &'static str,
    pub id: String,
    pub name: Option<String>,
    pub redacted_value: String,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub owner: KeyOwner,
}

#[derive(Debug, Serialize)]
pub struct KeyOwner {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub object: &'static str,
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub role: String,
}

impl From<AdminApiKey> for AdminApiKeyObject {
    fn from(k: AdminApiKey) -> Self {
        AdminApiKeyObject {
            object: "organization.admin_api_key",
            id: k.id,
            name: k.name,
            redacted_value: k.redacted_value,
            created_at: k.created_at,
            expires_at: k.expires_at,
            last_used_at: k.last_used_at,
            owner: KeyOwner {
                kind: "user",
                object: "organization.user",
                id: k.owner_id,
                name: k.owner_name,
                created_at: k.owner_created_at,
                role: k.owner_role.as_str().to_owned(),
            },
        }
    }
}

impl Listed for AdminApiKeyObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's `AdminApiKeyCreateResponse`: the key and, this once, its value.
#[derive(Debug, Serialize)]
struct CreatedAdminApiKey {
    #[serde(flatten)]
    key: AdminApiKeyObject,
    value: String,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<List<AdminApiKeyObject>>> {
    let keys = state
        .store
        .list_admin_keys(&principal.org_id, &q.page()?)
        .await?;
    Ok(axum::Json(List::new(keys, AdminApiKeyObject::from)))
}

#[derive(Debug, Deserialize)]
struct CreateAdminApiKey {
    name: String,
    expires_in_seconds: Option<i64>,
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateAdminApiKey>,
) -> ApiResult<axum::Json<CreatedAdminApiKey>> {
    let name = admin_key::validate_name(&body.name)?;
    let expires_at = admin_key::expires_at(state.store.clock().now(), body.expires_in_seconds)?;
    let (key, value) = state
        .store
        .create_admin_key(
            &(&principal).into(),
            &principal.user_id,
            Some(&name),
            expires_at,
        )
        .await?;
    Ok(axum::Json(CreatedAdminApiKey {
        key: key.into(),
        value,
    }))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key_id): Ids<AdminApiKeyId>,
) -> ApiResult<axum::Json<AdminApiKeyObject>> {
    Ok(axum::Json(
        state
            .store
            .get_admin_key(&principal.org_id, &key_id)
            .await?
            .into(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids(key_id): Ids<AdminApiKeyId>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .delete_admin_key(&(&principal).into(), &key_id)
        .await?;
    Ok(Deleted::new("organization.admin_api_key.deleted", key_id))
}
