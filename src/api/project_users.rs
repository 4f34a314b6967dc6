//! `/organization/projects/{project_id}/users`: list, create, retrieve, modify, delete.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, ListQuery, Listed};
use super::users::required_role;
use super::{AppState, Deleted};
use crate::domain::ids::{ProjectId, UserId};
use crate::domain::principal::Principal;
use crate::domain::project_user::{Member, ProjectRole, ProjectUser};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/organization/projects/{project_id}/users",
            get(list).post(create),
        )
        .route(
            "/organization/projects/{project_id}/users/{user_id}",
            get(retrieve).post(modify).delete(delete),
        )
}

/// The contract's `ProjectUser`.
#[derive(Debug, Serialize)]
pub struct ProjectUserObject {
    pub object: &'static str,
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub added_at: i64,
}

impl From<ProjectUser> for ProjectUserObject {
    fn from(m: ProjectUser) -> Self {
        ProjectUserObject {
            object: "organization.project.user",
            id: m.id,
            name: m.name,
            email: m.email,
            role: m.role.as_str().to_owned(),
            added_at: m.added_at,
        }
    }
}

impl Listed for ProjectUserObject {
    fn id(&self) -> &str {
        &self.id
    }
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<List<ProjectUserObject>>> {
    let members = state
        .store
        .list_project_users(&principal.org_id, &project_id, &q.page()?)
        .await?;
    Ok(axum::Json(List::new(members, ProjectUserObject::from)))
}

/// The contract's `ProjectUserCreateRequest`.
#[derive(Debug, Deserialize)]
struct CreateProjectUser {
    user_id: Option<String>,
    email: Option<String>,
    role: String,
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<CreateProjectUser>,
) -> ApiResult<axum::Json<ProjectUserObject>> {
    let role = ProjectRole::parse(&body.role, "role")?;
    let member = Member::new(body.user_id, body.email)?;
    Ok(axum::Json(
        state
            .store
            .add_project_user(&(&principal).into(), &project_id, &member, role)
            .await?
            .into(),
    ))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, user_id)): Ids<(ProjectId, UserId)>,
) -> ApiResult<axum::Json<ProjectUserObject>> {
    Ok(axum::Json(
        state
            .store
            .get_project_user(&principal.org_id, &project_id, &user_id)
            .await?
            .into(),
    ))
}

/// The contract's `ProjectUserUpdateRequest`.
#[derive(Debug, Deserialize)]
struct ModifyProjectUser {
    role: Option<String>,
}

async fn modify(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, user_id)): Ids<(ProjectId, UserId)>,
    Json(body): Json<ModifyProjectUser>,
) -> ApiResult<axum::Json<ProjectUserObject>> {
    let role = ProjectRole::parse(&required_role(body.role)?, "role")?;
    Ok(axum::Json(
        state
            .store
            .modify_project_user(&(&principal).into(), &project_id, &user_id, role)
            .await?
            .into(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, user_id)): Ids<(ProjectId, UserId)>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .remove_project_user(&(&principal).into(), &project_id, &user_id)
        .await?;
    Ok(Deleted::new("organization.project.user.deleted", user_id))
}
