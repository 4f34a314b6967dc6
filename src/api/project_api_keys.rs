//! `/organization/projects/{project_id}/api_keys`: list, retrieve, delete; and Roster's
//! addition, a key for a project member.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, Listed};
use super::{AppState, Deleted};
use crate::domain::admin_key;
use crate::domain::ids::{ProjectApiKeyId, ProjectId, UserId};
use crate::domain::page::PageRequest;
use crate::domain::principal::Principal;
use crate::domain::project_key::{
    CreatedKey, KeyHolder, KeyOwner, NewKey, OwnerAccess, ProjectApiKey, validate_scopes,
};
use crate::domain::project_user::ProjectRole;
use crate::domain::{Error, Result};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/projects/{project_id}/api_keys", get(list))
        .route(
            "/organization/projects/{project_id}/api_keys/{api_key_id}",
            get(retrieve).post(update).delete(delete),
        )
        .route(
            "/organization/projects/{project_id}/users/{user_id}/api_keys",
            post(create_user_key),
        )
}

/// The contract's `ProjectApiKey`.
#[derive(Debug, Serialize)]
struct ProjectApiKeyObject {
    object: &'static str,
    id: String,
    name: String,
    redacted_value: String,
    created_at: i64,
    last_used_at: Option<i64>,
    owner_project_access: &'static str,
    owner: KeyOwnerObject,
}

#[derive(Debug, Serialize)]
struct KeyOwnerObject {
    #[serde(rename = "type")]
    owner_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<OwnerUser>,
    #[serde(skip_serializing_if = "Option::is_none")]
    service_account: Option<OwnerServiceAccount>,
}

/// The contract's `ProjectApiKeyOwnerUser`.
#[derive(Debug, Serialize)]
struct OwnerUser {
    id: String,
    email: String,
    name: String,
    created_at: i64,
    role: String,
}

/// The contract's `ProjectApiKeyOwnerServiceAccount`.
#[derive(Debug, Serialize)]
struct OwnerServiceAccount {
    id: String,
    name: String,
    created_at: i64,
    role: String,
}

impl From<ProjectApiKey> for ProjectApiKeyObject {
    fn from(k: ProjectApiKey) -> Self {
        let access = if k.owner_has_access() {
            "active"
        } else {
            "inactive"
        };
        let owner = match k.owner {
            KeyHolder::ServiceAccount(account) => KeyOwnerObject {
                owner_type: "service_account",
                user: None,
                service_account: Some(OwnerServiceAccount {
                    id: account.id,
                    name: account.name,
                    created_at: account.created_at,
                    role: account.role.as_str().to_owned(),
                }),
            },
            KeyHolder::User {
                id,
                email,
                name,
                added_at,
                member_role,
                ..
            } => KeyOwnerObject {
                owner_type: "user",
                user: Some(OwnerUser {
                    id,
                    email,
                    name,
                    created_at: added_at,
                    role: member_role.map_or("none", ProjectRole::as_str).to_owned(),
                }),
                service_account: None,
            },
        };
        ProjectApiKeyObject {
            object: "organization.project.api_key",
            id: k.id,
            name: k.name,
            redacted_value: k.redacted_value,
            created_at: k.created_at,
            last_used_at: k.last_used_at,
            owner_project_access: access,
            owner,
        }
    }
}

impl Listed for ProjectApiKeyObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// A key just made, with its value (shown only here): the contract's `ServiceAccountApiKeyBody`
/// and `ProjectServiceAccountApiKey`.
#[derive(Debug, Serialize)]
pub struct NewKeyObject {
    object: &'static str,
    id: String,
    name: String,
    created_at: i64,
    value: String,
}

impl NewKeyObject {
    pub fn new(key: CreatedKey, object: &'static str) -> Self {
        NewKeyObject {
            object,
            id: key.id,
            name: key.name,
            created_at: key.created_at,
            value: key.value,
        }
    }
}

/// The contract's `CreateProjectServiceAccountApiKeyBody`, with `expires_in_seconds` as the
/// real service takes it.
#[derive(Debug, Deserialize)]
pub struct CreateKey {
    name: Option<String>,
    scopes: Option<Vec<String>>,
    expires_in_seconds: Option<i64>,
}

impl CreateKey {
    pub async fn create(
        self,
        state: &AppState,
        principal: &Principal,
        project_id: &ProjectId,
        owner: &KeyOwner,
    ) -> Result<CreatedKey> {
        let now = state.store.clock().now();
        let key = NewKey {
            name: admin_key::validate_name(self.name.as_deref().unwrap_or("Secret Key"))?,
            expires_at: admin_key::expires_at(now, self.expires_in_seconds)?,
            scopes: validate_scopes(&self.scopes.unwrap_or_default())?,
        };
        state
            .store
            .create_project_key(&principal.into(), project_id, owner, &key)
            .await
    }
}

#[derive(Debug, Deserialize)]
struct KeyListQuery {
    after: Option<String>,
    limit: Option<i64>,
    owner_project_access: Option<OwnerAccess>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<KeyListQuery>,
) -> ApiResult<axum::Json<List<ProjectApiKeyObject>>> {
    let page = PageRequest::new(q.after, q.limit, None)?;
    let keys = state
        .store
        .list_project_keys(
            &principal.org_id,
            &project_id,
            &page,
            q.owner_project_access.unwrap_or_default(),
        )
        .await?;
    Ok(axum::Json(List::new(keys, ProjectApiKeyObject::from)))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, key_id)): Ids<(ProjectId, ProjectApiKeyId)>,
) -> ApiResult<axum::Json<ProjectApiKeyObject>> {
    let key = state
        .store
        .get_project_key(&principal.org_id, &project_id, &key_id)
        .await?;
    Ok(axum::Json(key.into()))
}

/// The body of the SDKs' `api_keys.update`: at least one of the two.
#[derive(Debug, Deserialize)]
struct UpdateKey {
    expires_in_seconds: Option<i64>,
    scopes: Option<Vec<String>>,
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, key_id)): Ids<(ProjectId, ProjectApiKeyId)>,
    Json(body): Json<UpdateKey>,
) -> ApiResult<axum::Json<ProjectApiKeyObject>> {
    if body.expires_in_seconds.is_none() && body.scopes.is_none() {
        return Err(
            Error::invalid("Provide scopes, expires_in_seconds, or both.", "scopes").into(),
        );
    }
    let expires_at = admin_key::expires_at(state.store.clock().now(), body.expires_in_seconds)?;
    let scopes = body.scopes.as_deref().map(validate_scopes).transpose()?;
    let key = state
        .store
        .update_project_key(
            &(&principal).into(),
            &project_id,
            &key_id,
            expires_at,
            scopes.as_deref(),
        )
        .await?;
    Ok(axum::Json(key.into()))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, key_id)): Ids<(ProjectId, ProjectApiKeyId)>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .delete_project_key(&(&principal).into(), &project_id, &key_id)
        .await?;
    Ok(Deleted::new("organization.project.api_key.deleted", key_id))
}

/// Roster's addition: a project key for a member of the project, shown once.
async fn create_user_key(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, user_id)): Ids<(ProjectId, UserId)>,
    Json(body): Json<CreateKey>,
) -> ApiResult<axum::Json<NewKeyObject>> {
    let owner = KeyOwner::User(user_id.into_string());
    let key = body.create(&state, &principal, &project_id, &owner).await?;
    Ok(axum::Json(NewKeyObject::new(
        key,
        "organization.project.api_key",
    )))
}
