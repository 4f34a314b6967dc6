//! `/organization/projects`: list, create, retrieve, modify, archive.

use axum::Router;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, Listed};
use crate::domain::ids::ProjectId;
use crate::domain::page::PageRequest;
use crate::domain::principal::Principal;
use crate::domain::project::{self, NewProject, Project, ProjectChanges};
use axum::extract::State;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/projects", get(list).post(create))
        .route(
            "/organization/projects/{project_id}",
            get(retrieve).post(modify),
        )
        .route("/organization/projects/{project_id}/archive", post(archive))
}

/// The contract's `Project`.
#[derive(Debug, Serialize)]
pub struct ProjectObject {
    pub id: String,
    pub object: &'static str,
    pub name: String,
    pub created_at: i64,
    pub archived_at: Option<i64>,
    pub status: &'static str,
    pub external_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub residency: Option<String>,
}

impl From<Project> for ProjectObject {
    fn from(p: Project) -> Self {
        ProjectObject {
            status: p.status(),
            id: p.id,
            object: "organization.project",
            name: p.name,
            created_at: p.created_at,
            archived_at: p.archived_at,
            external_key_id: p.external_key_id,
            residency: p.residency,
        }
    }
}

impl Listed for ProjectObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// Spelled out rather than flattening `ListQuery`: serde's flatten loses the types of
/// query-string values.
#[derive(Debug, Deserialize)]
struct ListProjectsQuery {
    after: Option<String>,
    limit: Option<i64>,
    include_archived: Option<bool>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListProjectsQuery>,
) -> ApiResult<axum::Json<List<ProjectObject>>> {
    let page = PageRequest::new(q.after, q.limit, None)?;
    let projects = state
        .store
        .list_projects(
            &principal.org_id,
            &page,
            q.include_archived.unwrap_or(false),
        )
        .await?;
    Ok(axum::Json(List::new(projects, ProjectObject::from)))
}

/// The contract's `ProjectCreateRequest`.
#[derive(Debug, Deserialize)]
struct CreateProject {
    name: String,
    residency: Option<String>,
    external_key_id: Option<String>,
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateProject>,
) -> ApiResult<axum::Json<ProjectObject>> {
    let new = NewProject {
        name: project::validate_name(&body.name)?,
        residency: body
            .residency
            .as_deref()
            .map(project::validate_residency)
            .transpose()?,
        external_key_id: body.external_key_id,
    };
    let project = state
        .store
        .create_project(&(&principal).into(), new)
        .await?;
    Ok(axum::Json(project.into()))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
) -> ApiResult<axum::Json<ProjectObject>> {
    Ok(axum::Json(
        state
            .store
            .get_project(&principal.org_id, &project_id)
            .await?
            .into(),
    ))
}

/// The contract's `ProjectUpdateRequest`: absent or null fields stay as they are.
#[derive(Debug, Deserialize)]
struct ModifyProject {
    name: Option<String>,
    external_key_id: Option<String>,
}

async fn modify(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<ModifyProject>,
) -> ApiResult<axum::Json<ProjectObject>> {
    let changes = ProjectChanges {
        name: body
            .name
            .as_deref()
            .map(project::validate_name)
            .transpose()?,
        external_key_id: body.external_key_id,
    };
    Ok(axum::Json(
        state
            .store
            .modify_project(&(&principal).into(), &project_id, changes)
            .await?
            .into(),
    ))
}

async fn archive(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
) -> ApiResult<axum::Json<ProjectObject>> {
    Ok(axum::Json(
        state
            .store
            .archive_project(&(&principal).into(), &project_id)
            .await?
            .into(),
    ))
}
