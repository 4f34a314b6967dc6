//! A project's policies, as the contract shapes them: model permissions (retrieve, update,
//! delete), hosted tool permissions (retrieve, update) and rate limits (list, update), one per
//! model of the model catalogue.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Ids, Json, Path, Query};
use super::pagination::{List, Listed};
use crate::domain::Error;
use crate::domain::ids::ProjectId;
use crate::domain::page::PageRequest;
use crate::domain::policy::{
    ModelMode, ModelPermissions, RateLimit, RateLimitValues, ToolPermissions,
};
use crate::domain::principal::Principal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/organization/projects/{project_id}/model_permissions",
            get(retrieve_models)
                .post(update_models)
                .delete(delete_models),
        )
        .route(
            "/organization/projects/{project_id}/hosted_tool_permissions",
            get(retrieve_tools).post(update_tools),
        )
        .route(
            "/organization/projects/{project_id}/rate_limits",
            get(list_rate_limits),
        )
        .route(
            "/organization/projects/{project_id}/rate_limits/{rate_limit_id}",
            post(update_rate_limit),
        )
}

/// The contract's `ProjectModelPermissions`.
#[derive(Debug, Serialize)]
struct ModelPermissionsObject {
    object: &'static str,
    mode: &'static str,
    model_ids: Vec<String>,
}

impl From<ModelPermissions> for ModelPermissionsObject {
    fn from(p: ModelPermissions) -> Self {
        ModelPermissionsObject {
            object: "project.model_permissions",
            mode: p.mode.as_str(),
            model_ids: p.model_ids,
        }
    }
}

async fn retrieve_models(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
) -> ApiResult<axum::Json<ModelPermissionsObject>> {
    let policies = state
        .store
        .project_policies(&principal.org_id, &project_id)
        .await?;
    Ok(axum::Json(policies.models.unwrap_or_default().into()))
}

/// The contract's `ProjectModelPermissionsUpdateRequest`.
#[derive(Debug, Deserialize)]
struct UpdateModels {
    mode: ModelMode,
    model_ids: Vec<String>,
}

async fn update_models(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<UpdateModels>,
) -> ApiResult<axum::Json<ModelPermissionsObject>> {
    let permissions = ModelPermissions::new(body.mode, &body.model_ids)?;
    state
        .store
        .set_model_permissions(&(&principal).into(), &project_id, Some(&permissions))
        .await?;
    Ok(axum::Json(permissions.into()))
}

#[derive(Debug, Serialize)]
struct ModelPermissionsDeleted {
    object: &'static str,
    deleted: bool,
}

async fn delete_models(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
) -> ApiResult<axum::Json<ModelPermissionsDeleted>> {
    state
        .store
        .set_model_permissions(&(&principal).into(), &project_id, None)
        .await?;
    Ok(axum::Json(ModelPermissionsDeleted {
        object: "project.model_permissions.deleted",
        deleted: true,
    }))
}

/// The contract's `HostedToolPermission`.
#[derive(Debug, Serialize, Deserialize)]
struct ToolPermission {
    enabled: bool,
}

/// The contract's `ProjectHostedToolPermissions`, and its update request (a tool left out, or
/// `null`, is left as it is).
#[derive(Debug, Default, Serialize, Deserialize)]
struct ToolPermissionsObject {
    file_search: Option<ToolPermission>,
    web_search: Option<ToolPermission>,
    image_generation: Option<ToolPermission>,
    mcp: Option<ToolPermission>,
    code_interpreter: Option<ToolPermission>,
}

impl ToolPermissionsObject {
    fn fields(&self) -> [(&'static str, &Option<ToolPermission>); 5] {
        [
            ("file_search", &self.file_search),
            ("web_search", &self.web_search),
            ("image_generation", &self.image_generation),
            ("mcp", &self.mcp),
            ("code_interpreter", &self.code_interpreter),
        ]
    }
}

impl From<ToolPermissions> for ToolPermissionsObject {
    fn from(tools: ToolPermissions) -> Self {
        let of = |tool: &str| {
            Some(ToolPermission {
                enabled: tools.enabled(tool),
            })
        };
        ToolPermissionsObject {
            file_search: of("file_search"),
            web_search: of("web_search"),
            image_generation: of("image_generation"),
            mcp: of("mcp"),
            code_interpreter: of("code_interpreter"),
        }
    }
}

async fn retrieve_tools(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
) -> ApiResult<axum::Json<ToolPermissionsObject>> {
    let policies = state
        .store
        .project_policies(&principal.org_id, &project_id)
        .await?;
    Ok(axum::Json(policies.tools.into()))
}

async fn update_tools(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<ToolPermissionsObject>,
) -> ApiResult<axum::Json<ToolPermissionsObject>> {
    let changes: Vec<(&str, bool)> = body
        .fields()
        .into_iter()
        .filter_map(|(tool, change)| change.as_ref().map(|c| (tool, c.enabled)))
        .collect();
    let tools = state
        .store
        .set_tool_permissions(&(&principal).into(), &project_id, &changes)
        .await?;
    Ok(axum::Json(tools.into()))
}

/// The contract's `ProjectRateLimit`.
#[derive(Debug, Serialize)]
pub struct RateLimitObject {
    object: &'static str,
    id: String,
    #[serde(flatten)]
    limit: RateLimit,
}

impl From<RateLimit> for RateLimitObject {
    fn from(limit: RateLimit) -> Self {
        RateLimitObject {
            object: "project.rate_limit",
            id: limit.id(),
            limit,
        }
    }
}

impl Listed for RateLimitObject {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Deserialize)]
struct RateLimitQuery {
    limit: Option<i64>,
    after: Option<String>,
    before: Option<String>,
}

async fn list_rate_limits(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<RateLimitQuery>,
) -> ApiResult<axum::Json<List<RateLimitObject>>> {
    let limit = PageRequest::new(None, q.limit, None)?.limit;
    let values = state
        .store
        .rate_limit_values(&principal.org_id, &project_id)
        .await?;
    let page = state.settings.models.page(
        q.after.as_deref().filter(|a| !a.is_empty()),
        q.before.as_deref().filter(|b| !b.is_empty()),
        usize::try_from(limit).unwrap_or(usize::MAX),
    );
    Ok(axum::Json(List::new(page, |organization| {
        let project = values
            .get(&organization.model)
            .map(|v| organization.with(v))
            .unwrap_or_else(|| organization.clone());
        project.into()
    })))
}

async fn update_rate_limit(
    State(state): State<AppState>,
    principal: Principal,
    Path((project_id, rate_limit_id)): Path<(String, String)>,
    Json(update): Json<RateLimitValues>,
) -> ApiResult<axum::Json<RateLimitObject>> {
    let project_id = ProjectId::parse(project_id)?;
    let organization = state
        .settings
        .models
        .by_id(&rate_limit_id)
        .ok_or_else(|| Error::not_found("rate limit", &rate_limit_id, "rate_limit_id"))?;
    let limit = state
        .store
        .set_rate_limit(&(&principal).into(), &project_id, organization, &update)
        .await?;
    Ok(axum::Json(limit.into()))
}
