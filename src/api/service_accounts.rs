//! `/organization/projects/{project_id}/service_accounts`: list, create, retrieve, update,
//! delete, and an extra key for an account.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, ListQuery, Listed};
use super::project_api_keys::{CreateKey, NewKeyObject};
use super::{AppState, Deleted};
use crate::domain::ids::{ProjectId, ServiceAccountId};
use crate::domain::principal::Principal;
use crate::domain::project_key::KeyOwner;
use crate::domain::project_key::{
    ServiceAccount, ServiceAccountRole, validate_service_account_name,
};
use crate::domain::{Error, admin_key};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/organization/projects/{project_id}/service_accounts",
            get(list).post(create),
        )
        .route(
            "/organization/projects/{project_id}/service_accounts/{service_account_id}",
            get(retrieve).post(update).delete(delete),
        )
        .route(
            "/organization/projects/{project_id}/service_accounts/{service_account_id}/api_keys",
            post(create_key),
        )
}

/// The contract's `ProjectServiceAccount`.
#[derive(Debug, Serialize)]
pub struct ServiceAccountObject {
    object: &'static str,
    id: String,
    name: String,
    role: String,
    created_at: i64,
}

impl From<ServiceAccount> for ServiceAccountObject {
    fn from(a: ServiceAccount) -> Self {
        ServiceAccountObject {
            object: "organization.project.service_account",
            id: a.id,
            name: a.name,
            role: a.role.as_str().to_owned(),
            created_at: a.created_at,
        }
    }
}

impl Listed for ServiceAccountObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's `ProjectServiceAccountCreateResponse`: the account and its first key.
#[derive(Debug, Serialize)]
struct CreatedAccount {
    #[serde(flatten)]
    account: ServiceAccountObject,
    api_key: Option<NewKeyObject>,
}

/// The contract's `ProjectServiceAccountCreateRequest`.
#[derive(Debug, Deserialize)]
struct CreateAccount {
    name: String,
    create_service_account_only: Option<bool>,
    /// The first key's lifetime, as the SDKs send it.
    expires_in_seconds: Option<i64>,
}

/// The contract's `UpdateProjectServiceAccountBody`.
#[derive(Debug, Deserialize)]
struct UpdateAccount {
    name: Option<String>,
    role: Option<ServiceAccountRole>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<List<ServiceAccountObject>>> {
    let accounts = state
        .store
        .list_service_accounts(&principal.org_id, &project_id, &q.page()?)
        .await?;
    Ok(axum::Json(List::new(accounts, ServiceAccountObject::from)))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<CreateAccount>,
) -> ApiResult<axum::Json<CreatedAccount>> {
    let name = validate_service_account_name(&body.name)?;
    let without_key = body.create_service_account_only.unwrap_or(false);
    if without_key && body.expires_in_seconds.is_some() {
        return Err(Error::invalid(
            "An account made with create_service_account_only has no key to expire.",
            "expires_in_seconds",
        )
        .into());
    }
    let expires_at = admin_key::expires_at(state.store.clock().now(), body.expires_in_seconds)?;
    let (account, key) = state
        .store
        .create_service_account(
            &(&principal).into(),
            &project_id,
            &name,
            without_key,
            expires_at,
        )
        .await?;
    Ok(axum::Json(CreatedAccount {
        account: account.into(),
        api_key: key.map(|k| NewKeyObject::new(k, "organization.project.service_account.api_key")),
    }))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, account_id)): Ids<(ProjectId, ServiceAccountId)>,
) -> ApiResult<axum::Json<ServiceAccountObject>> {
    let account = state
        .store
        .get_service_account(&principal.org_id, &project_id, &account_id)
        .await?;
    Ok(axum::Json(account.into()))
}

async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, account_id)): Ids<(ProjectId, ServiceAccountId)>,
    Json(body): Json<UpdateAccount>,
) -> ApiResult<axum::Json<ServiceAccountObject>> {
    let name = body
        .name
        .as_deref()
        .map(validate_service_account_name)
        .transpose()?;
    let account = state
        .store
        .update_service_account(
            &(&principal).into(),
            &project_id,
            &account_id,
            name.as_deref(),
            body.role,
        )
        .await?;
    Ok(axum::Json(account.into()))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, account_id)): Ids<(ProjectId, ServiceAccountId)>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .delete_service_account(&(&principal).into(), &project_id, &account_id)
        .await?;
    Ok(Deleted::new(
        "organization.project.service_account.deleted",
        account_id,
    ))
}

async fn create_key(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, account_id)): Ids<(ProjectId, ServiceAccountId)>,
    Json(body): Json<CreateKey>,
) -> ApiResult<axum::Json<NewKeyObject>> {
    let owner = KeyOwner::ServiceAccount(account_id.into_string());
    let key = body.create(&state, &principal, &project_id, &owner).await?;
    Ok(axum::Json(NewKeyObject::new(
        key,
        "organization.project.service_account.api_key",
    )))
}
