//! Roles held by users and groups: `/organization/users/{user_id}/roles`,
//! `/projects/{project_id}/users/{user_id}/roles`, `/organization/groups/{group_id}/roles` and
//! `/projects/{project_id}/groups/{group_id}/roles`: list, assign, retrieve, unassign.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::AppState;
use super::error::{ApiError, ApiResult};
use super::extract::{Json, Path, Query};
use super::groups::{GroupRef, Removed};
use super::pagination::{ListQuery, Listed, NextList};
use super::roles::{ROLE_LIMITS, RoleObject};
use super::users::UserObject;
use crate::domain::Error;
use crate::domain::ids::{GroupId, ProjectId, RoleId, UserId};
use crate::domain::principal::Principal as Caller;
use crate::domain::role::{Role, RoleHolder, RoleScope};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/organization/users/{user_id}/roles",
            get(list).post(assign),
        )
        .route(
            "/organization/users/{user_id}/roles/{role_id}",
            get(retrieve).delete(unassign),
        )
        .route(
            "/projects/{project_id}/users/{user_id}/roles",
            get(list).post(assign),
        )
        .route(
            "/projects/{project_id}/users/{user_id}/roles/{role_id}",
            get(retrieve).delete(unassign),
        )
        .route(
            "/organization/groups/{group_id}/roles",
            get(list).post(assign),
        )
        .route(
            "/organization/groups/{group_id}/roles/{role_id}",
            get(retrieve).delete(unassign),
        )
        .route(
            "/projects/{project_id}/groups/{group_id}/roles",
            get(list).post(assign),
        )
        .route(
            "/projects/{project_id}/groups/{group_id}/roles/{role_id}",
            get(retrieve).delete(unassign),
        )
}

/// The contract's `AssignedRoleDetails`: a role as one principal holds it.
#[derive(Debug, Serialize)]
struct AssignedRole {
    id: String,
    name: String,
    description: Option<String>,
    permissions: Vec<String>,
    resource_type: String,
    predefined_role: bool,
    created_at: Option<i64>,
    updated_at: Option<i64>,
    created_by: Option<String>,
    created_by_user_obj: Option<Value>,
    metadata: Option<Value>,
    assignment_sources: Vec<AssignmentSource>,
}

#[derive(Debug, Serialize)]
struct AssignmentSource {
    principal_id: String,
    principal_type: &'static str,
}

impl AssignedRole {
    fn new(role: Role, holder: &RoleHolder) -> Self {
        AssignedRole {
            permissions: role.permission_list(),
            predefined_role: role.is_predefined(),
            id: role.id,
            name: role.name,
            description: role.description,
            resource_type: role.resource_type,
            created_at: Some(role.created_at),
            updated_at: Some(role.updated_at),
            created_by: role.created_by,
            created_by_user_obj: None,
            metadata: None,
            assignment_sources: vec![AssignmentSource {
                principal_id: holder.id().to_owned(),
                principal_type: holder.kind(),
            }],
        }
    }
}

impl Listed for AssignedRole {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's `PublicAssignOrganizationGroupRoleBody`.
#[derive(Debug, Deserialize)]
struct AssignRole {
    role_id: String,
}

/// The contract's `UserRoleAssignment` or `GroupRoleAssignment`.
#[derive(Debug, Serialize)]
#[serde(untagged)]
enum Assignment {
    User {
        object: &'static str,
        user: UserObject,
        role: RoleObject,
    },
    Group {
        object: &'static str,
        group: GroupRef,
        role: RoleObject,
    },
}

/// Every path of this family, as the route names it.
#[derive(Debug, Deserialize)]
struct RawRolesPath {
    project_id: Option<String>,
    user_id: Option<String>,
    group_id: Option<String>,
    role_id: Option<String>,
}

/// Where the roles are held (the organization, or a project) and by whom (a user or a group),
/// and the role when the path names one; each id checked for its form, in the route's order.
struct RolesPath {
    project_id: Option<ProjectId>,
    holder: RoleHolder,
    role_id: Option<RoleId>,
}

impl<S: Send + Sync> FromRequestParts<S> for RolesPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<RawRolesPath>::from_request_parts(parts, state).await?;
        let project_id = raw.project_id.map(ProjectId::parse).transpose()?;
        let holder = match (raw.user_id, raw.group_id) {
            (Some(user), _) => RoleHolder::User(UserId::parse(user)?),
            (None, group) => RoleHolder::Group(GroupId::parse(group.unwrap_or_default())?),
        };
        let role_id = raw.role_id.map(RoleId::parse).transpose()?;
        Ok(RolesPath {
            project_id,
            holder,
            role_id,
        })
    }
}

impl RolesPath {
    fn scope(&self, caller: &Caller) -> RoleScope {
        match &self.project_id {
            Some(project) => RoleScope::project(&caller.org_id, project),
            None => RoleScope::organization(&caller.org_id),
        }
    }

    /// The role the path names; only routes that name one call this.
    fn role_id(&self) -> Result<&RoleId, ApiError> {
        self.role_id
            .as_ref()
            .ok_or_else(|| Error::not_found("role", "", "role_id").into())
    }
}

async fn list(
    State(state): State<AppState>,
    caller: Caller,
    path: RolesPath,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<NextList<AssignedRole>>> {
    let holder = &path.holder;
    let roles = state
        .store
        .list_role_assignments(&path.scope(&caller), holder, &q.page_within(ROLE_LIMITS)?)
        .await?;
    Ok(axum::Json(NextList::new(roles, |r| {
        AssignedRole::new(r, holder)
    })))
}

async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    path: RolesPath,
    Json(body): Json<AssignRole>,
) -> ApiResult<axum::Json<Assignment>> {
    let scope = path.scope(&caller);
    let holder = &path.holder;
    let role = state
        .store
        .assign_role(&(&caller).into(), &scope, holder, &body.role_id)
        .await?;
    let assignment = match holder {
        RoleHolder::User(user_id) => Assignment::User {
            object: "user.role",
            user: state.store.get_user(&scope.org_id, user_id).await?.into(),
            role: role.into(),
        },
        RoleHolder::Group(group_id) => Assignment::Group {
            object: "group.role",
            group: state.store.get_group(&scope.org_id, group_id).await?.into(),
            role: role.into(),
        },
    };
    Ok(axum::Json(assignment))
}

async fn retrieve(
    State(state): State<AppState>,
    caller: Caller,
    path: RolesPath,
) -> ApiResult<axum::Json<AssignedRole>> {
    let holder = &path.holder;
    let role = state
        .store
        .get_role_assignment(&path.scope(&caller), holder, path.role_id()?)
        .await?;
    Ok(axum::Json(AssignedRole::new(role, holder)))
}

async fn unassign(
    State(state): State<AppState>,
    caller: Caller,
    path: RolesPath,
) -> ApiResult<axum::Json<Removed>> {
    let holder = &path.holder;
    state
        .store
        .unassign_role(
            &(&caller).into(),
            &path.scope(&caller),
            holder,
            path.role_id()?,
        )
        .await?;
    Ok(Removed::new(match holder {
        RoleHolder::User(_) => "user.role.deleted",
        RoleHolder::Group(_) => "group.role.deleted",
    }))
}
