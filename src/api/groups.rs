//! `/organization/groups` (with its `users`) and `/organization/projects/{project_id}/groups`.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{ListQuery, Listed, NextList};
use super::{AppState, Deleted};
use crate::domain::group::{Group, GroupMember, ProjectGroup};
use crate::domain::ids::{GroupId, ProjectId, UserId};
use crate::domain::page::{Limits, Order};
use crate::domain::principal::Principal;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/groups", get(list).post(create))
        .route(
            "/organization/groups/{group_id}",
            get(retrieve).post(rename).delete(delete),
        )
        .route(
            "/organization/groups/{group_id}/users",
            get(list_users).post(add_user),
        )
        .route(
            "/organization/groups/{group_id}/users/{user_id}",
            get(retrieve_user).delete(remove_user),
        )
        .route(
            "/organization/projects/{project_id}/groups",
            get(list_project_groups).post(add_project_group),
        )
        .route(
            "/organization/projects/{project_id}/groups/{group_id}",
            get(retrieve_project_group).delete(remove_project_group),
        )
}

const GROUP_LIMITS: Limits = Limits {
    min: 0,
    max: 1000,
    default: 100,
};
const PROJECT_GROUP_LIMITS: Limits = Limits {
    min: 0,
    max: 100,
    default: 20,
};

/// The contract's `GroupResponse`.
#[derive(Debug, Serialize)]
pub struct GroupObject {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub is_scim_managed: bool,
    pub group_type: &'static str,
}

impl From<Group> for GroupObject {
    fn from(g: Group) -> Self {
        GroupObject {
            id: g.id,
            name: g.name,
            created_at: g.created_at,
            is_scim_managed: g.scim_managed,
            group_type: "group",
        }
    }
}

impl Listed for GroupObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's `GroupResourceWithSuccess`, the answer to a rename.
#[derive(Debug, Serialize)]
struct RenamedGroup {
    id: String,
    name: String,
    created_at: i64,
    is_scim_managed: bool,
}

/// The contract's `Group`, inside a role assignment.
#[derive(Debug, Serialize)]
pub struct GroupRef {
    pub object: &'static str,
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub scim_managed: bool,
}

impl From<Group> for GroupRef {
    fn from(g: Group) -> Self {
        GroupRef {
            object: "group",
            id: g.id,
            name: g.name,
            created_at: g.created_at,
            scim_managed: g.scim_managed,
        }
    }
}

/// The contract's `GroupUser` (in lists).
#[derive(Debug, Serialize)]
struct GroupUserObject {
    id: String,
    name: String,
    email: Option<String>,
}

impl Listed for GroupUserObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's `GroupMemberUser` (retrieve).
#[derive(Debug, Serialize)]
struct GroupMemberObject {
    id: String,
    name: String,
    email: Option<String>,
    picture: Option<String>,
    is_service_account: Option<bool>,
    user_type: &'static str,
}

/// The contract's `GroupUserAssignment`.
#[derive(Debug, Serialize)]
struct GroupUserAssignment {
    object: &'static str,
    user_id: String,
    group_id: String,
}

/// The contract's `ProjectGroup`.
#[derive(Debug, Serialize)]
struct ProjectGroupObject {
    object: &'static str,
    project_id: String,
    group_id: String,
    group_name: String,
    group_type: &'static str,
    created_at: i64,
}

impl From<ProjectGroup> for ProjectGroupObject {
    fn from(p: ProjectGroup) -> Self {
        ProjectGroupObject {
            object: "project.group",
            project_id: p.project_id,
            group_id: p.group_id,
            group_name: p.group_name,
            group_type: "group",
            created_at: p.created_at,
        }
    }
}

impl Listed for ProjectGroupObject {
    fn id(&self) -> &str {
        &self.group_id
    }
}

/// A deletion answered without an id (`group.user.deleted`, `project.group.deleted`).
#[derive(Debug, Serialize)]
pub struct Removed {
    pub object: &'static str,
    pub deleted: bool,
}

impl Removed {
    pub fn new(object: &'static str) -> axum::Json<Removed> {
        axum::Json(Removed {
            object,
            deleted: true,
        })
    }
}

/// The contract's `CreateGroupBody` and `UpdateGroupBody`.
#[derive(Debug, Deserialize)]
struct GroupName {
    name: String,
}

#[derive(Debug, Deserialize)]
struct AddUser {
    user_id: String,
}

/// The contract's `InviteProjectGroupBody`: `role` is a project role's id (or a predefined
/// role's plain id).
#[derive(Debug, Deserialize)]
struct AddProjectGroup {
    group_id: String,
    role: String,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<NextList<GroupObject>>> {
    let groups = state
        .store
        .list_groups(&principal.org_id, &q.page_within(GROUP_LIMITS)?)
        .await?;
    Ok(axum::Json(NextList::new(groups, GroupObject::from)))
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<GroupName>,
) -> ApiResult<axum::Json<GroupObject>> {
    let group = state
        .store
        .create_group(&(&principal).into(), &body.name)
        .await?;
    Ok(axum::Json(group.into()))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids(group_id): Ids<GroupId>,
) -> ApiResult<axum::Json<GroupObject>> {
    let group = state.store.get_group(&principal.org_id, &group_id).await?;
    Ok(axum::Json(group.into()))
}

async fn rename(
    State(state): State<AppState>,
    principal: Principal,
    Ids(group_id): Ids<GroupId>,
    Json(body): Json<GroupName>,
) -> ApiResult<axum::Json<RenamedGroup>> {
    let group = state
        .store
        .rename_group(&(&principal).into(), &group_id, &body.name)
        .await?;
    Ok(axum::Json(RenamedGroup {
        id: group.id,
        name: group.name,
        created_at: group.created_at,
        is_scim_managed: group.scim_managed,
    }))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids(group_id): Ids<GroupId>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .delete_group(&(&principal).into(), &group_id)
        .await?;
    Ok(Deleted::new("group.deleted", group_id))
}

async fn list_users(
    State(state): State<AppState>,
    principal: Principal,
    Ids(group_id): Ids<GroupId>,
    Query(mut q): Query<ListQuery>,
) -> ApiResult<axum::Json<NextList<GroupUserObject>>> {
    // This list alone runs newest first unless asked otherwise.
    q.order = Some(q.order.unwrap_or(Order::Desc));
    let members = state
        .store
        .list_group_users(&principal.org_id, &group_id, &q.page_within(GROUP_LIMITS)?)
        .await?;
    Ok(axum::Json(NextList::new(members, |m: GroupMember| {
        GroupUserObject {
            id: m.id,
            name: m.name,
            email: Some(m.email),
        }
    })))
}

async fn add_user(
    State(state): State<AppState>,
    principal: Principal,
    Ids(group_id): Ids<GroupId>,
    Json(body): Json<AddUser>,
) -> ApiResult<axum::Json<GroupUserAssignment>> {
    state
        .store
        .add_group_user(&(&principal).into(), &group_id, &body.user_id)
        .await?;
    Ok(axum::Json(GroupUserAssignment {
        object: "group.user",
        user_id: body.user_id,
        group_id: group_id.into_string(),
    }))
}

async fn retrieve_user(
    State(state): State<AppState>,
    principal: Principal,
    Ids((group_id, user_id)): Ids<(GroupId, UserId)>,
) -> ApiResult<axum::Json<GroupMemberObject>> {
    let member = state
        .store
        .get_group_user(&principal.org_id, &group_id, &user_id)
        .await?;
    Ok(axum::Json(GroupMemberObject {
        id: member.id,
        name: member.name,
        email: Some(member.email),
        picture: None,
        is_service_account: Some(false),
        user_type: "user",
    }))
}

async fn remove_user(
    State(state): State<AppState>,
    principal: Principal,
    Ids((group_id, user_id)): Ids<(GroupId, UserId)>,
) -> ApiResult<axum::Json<Removed>> {
    state
        .store
        .remove_group_user(&(&principal).into(), &group_id, &user_id)
        .await?;
    Ok(Removed::new("group.user.deleted"))
}

async fn list_project_groups(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<NextList<ProjectGroupObject>>> {
    let groups = state
        .store
        .list_project_groups(
            &principal.org_id,
            &project_id,
            &q.page_within(PROJECT_GROUP_LIMITS)?,
        )
        .await?;
    Ok(axum::Json(NextList::new(groups, ProjectGroupObject::from)))
}

async fn add_project_group(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<AddProjectGroup>,
) -> ApiResult<axum::Json<ProjectGroupObject>> {
    let access = state
        .store
        .add_project_group(
            &(&principal).into(),
            &project_id,
            &body.group_id,
            &body.role,
        )
        .await?;
    Ok(axum::Json(access.into()))
}

/// `group_type` may be given; Roster's groups are all of type `group`.
#[derive(Debug, Deserialize)]
struct GroupTypeQuery {
    #[allow(dead_code)]
    group_type: Option<GroupType>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case")]
enum GroupType {
    Group,
    TenantGroup,
}

async fn retrieve_project_group(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, group_id)): Ids<(ProjectId, GroupId)>,
    Query(_): Query<GroupTypeQuery>,
) -> ApiResult<axum::Json<ProjectGroupObject>> {
    let access = state
        .store
        .get_project_group(&principal.org_id, &project_id, &group_id)
        .await?;
    Ok(axum::Json(access.into()))
}

async fn remove_project_group(
    State(state): State<AppState>,
    principal: Principal,
    Ids((project_id, group_id)): Ids<(ProjectId, GroupId)>,
) -> ApiResult<axum::Json<Removed>> {
    state
        .store
        .remove_project_group(&(&principal).into(), &project_id, &group_id)
        .await?;
    Ok(Removed::new("project.group.deleted"))
}
