//! Roles of the organization (`/organization/roles`) and of a project
//! (`/projects/{project_id}/roles`): list, create, retrieve, update, delete.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{ListQuery, Listed, NextList};
use super::{AppState, Deleted};
use crate::domain::ids::{ProjectId, RoleId};
use crate::domain::page::Limits;
use crate::domain::principal::Principal;
use crate::domain::role::Role;
use crate::domain::role::RoleScope;
use crate::store::roles::RoleChanges;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/roles", get(list_org).post(create_org))
        .route(
            "/organization/roles/{role_id}",
            get(retrieve_org).post(update_org).delete(delete_org),
        )
        .route(
            "/projects/{project_id}/roles",
            get(list_project).post(create_project),
        )
        .route(
            "/projects/{project_id}/roles/{role_id}",
            get(retrieve_project)
                .post(update_project)
                .delete(delete_project),
        )
}

/// Role lists take up to 1000 roles, all of them by default.
pub const ROLE_LIMITS: Limits = Limits {
    min: 0,
    max: 1000,
    default: 1000,
};

/// The contract's `Role`.
#[derive(Debug, Serialize)]
pub struct RoleObject {
    pub object: &'static str,
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub permissions: Vec<String>,
    pub resource_type: String,
    pub predefined_role: bool,
}

impl From<Role> for RoleObject {
    fn from(role: Role) -> Self {
        RoleObject {
            object: "role",
            permissions: role.permission_list(),
            predefined_role: role.is_predefined(),
            id: role.id,
            name: role.name,
            description: role.description,
            resource_type: role.resource_type,
        }
    }
}

impl Listed for RoleObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's `PublicCreateOrganizationRoleBody`.
#[derive(Debug, Deserialize)]
struct CreateRole {
    role_name: String,
    permissions: Vec<String>,
    description: Option<String>,
}

/// The contract's `PublicUpdateOrganizationRoleBody`: `null` or absent leaves a field as is.
#[derive(Debug, Deserialize)]
struct UpdateRole {
    role_name: Option<String>,
    permissions: Option<Vec<String>>,
    description: Option<String>,
}

async fn list(
    state: &AppState,
    scope: RoleScope,
    q: ListQuery,
) -> ApiResult<axum::Json<NextList<RoleObject>>> {
    let roles = state
        .store
        .list_roles(&scope, &q.page_within(ROLE_LIMITS)?)
        .await?;
    Ok(axum::Json(NextList::new(roles, RoleObject::from)))
}

async fn create(
    state: &AppState,
    principal: &Principal,
    scope: RoleScope,
    body: CreateRole,
) -> ApiResult<axum::Json<RoleObject>> {
    let role = state
        .store
        .create_role(
            &principal.into(),
            &scope,
            &body.role_name,
            body.description.as_deref(),
            &body.permissions,
        )
        .await?;
    Ok(axum::Json(role.into()))
}

async fn update(
    state: &AppState,
    principal: &Principal,
    scope: RoleScope,
    role_id: &RoleId,
    body: UpdateRole,
) -> ApiResult<axum::Json<RoleObject>> {
    let changes = RoleChanges {
        name: body.role_name,
        description: body.description,
        permissions: body.permissions,
    };
    let role = state
        .store
        .update_role(&principal.into(), &scope, role_id, &changes)
        .await?;
    Ok(axum::Json(role.into()))
}

async fn delete(
    state: &AppState,
    principal: &Principal,
    scope: RoleScope,
    role_id: &RoleId,
) -> ApiResult<axum::Json<Deleted>> {
    let id = state
        .store
        .delete_role(&principal.into(), &scope, role_id)
        .await?;
    Ok(Deleted::new("role.deleted", id))
}

async fn list_org(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<NextList<RoleObject>>> {
    list(&state, RoleScope::organization(&principal.org_id), q).await
}

async fn create_org(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateRole>,
) -> ApiResult<axum::Json<RoleObject>> {
    let scope = RoleScope::organization(&principal.org_id);
    create(&state, &principal, scope, body).await
}

async fn retrieve_org(
    State(state): State<AppState>,
    principal: Principal,
    Ids(role_id): Ids<RoleId>,
) -> ApiResult<axum::Json<RoleObject>> {
    let scope = RoleScope::organization(&principal.org_id);
    Ok(axum::Json(
        state.store.get_role(&scope, &role_id).await?.into(),
    ))
}

async fn update_org(
    State(state): State<AppState>,
    principal: Principal,
    Ids(role_id): Ids<RoleId>,
    Json(body): Json<UpdateRole>,
) -> ApiResult<axum::Json<RoleObject>> {
    let scope = RoleScope::organization(&principal.org_id);
    update(&state, &principal, scope, &role_id, body).await
}

async fn delete_org(
    State(state): State<AppState>,
    principal: Principal,
    Ids(role_id): Ids<RoleId>,
) -> ApiResult<axum::Json<Deleted>> {
    let scope = RoleScope::organization(&principal.org_id);
    delete(&state, &principal, scope, &role_id).await
}

async fn list_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<NextList<RoleObject>>> {
    list(
        &state,
        RoleScope::project(&principal.org_id, &project_id),
        q,
    )
    .await
}

async fn create_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<CreateRole>,
) -> ApiResult<axum::Json<RoleObject>> {
    let scope = RoleScope::project(&principal.org_id, &project_id);
    create(&state, &principal, scope, body).await
}

async fn retrieve_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, role_id)): Ids<(ProjectId, RoleId)>,
) -> ApiResult<axum::Json<RoleObject>> {
    let scope = RoleScope::project(&principal.org_id, &project_id);
    Ok(axum::Json(
        state.store.get_role(&scope, &role_id).await?.into(),
    ))
}

async fn update_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, role_id)): Ids<(ProjectId, RoleId)>,
    Json(body): Json<UpdateRole>,
) -> ApiResult<axum::Json<RoleObject>> {
    let scope = RoleScope::project(&principal.org_id, &project_id);
    update(&state, &principal, scope, &role_id, body).await
}

async fn delete_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, role_id)): Ids<(ProjectId, RoleId)>,
) -> ApiResult<axum::Json<Deleted>> {
    let scope = RoleScope::project(&principal.org_id, &project_id);
    delete(&state, &principal, scope, &role_id).await
}
