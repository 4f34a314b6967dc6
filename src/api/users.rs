//! `/organization/users`: list, retrieve, modify, delete.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, Listed};
use super::{AppState, Deleted};
use crate::domain::ids::UserId;
use crate::domain::page::PageRequest;
use crate::domain::principal::Principal;
use crate::domain::user::{OrgRole, User};
use crate::domain::{Error, Result};

pub fn routes() -> Router<AppState> {
    Router::new().route("/organization/users", get(list)).route(
        "/organization/users/{user_id}",
        get(retrieve).post(modify).delete(delete),
    )
}

/// The contract's `User`.
#[derive(Debug, Serialize)]
pub struct UserObject {
    pub object: &'static str,
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
    pub added_at: i64,
}

impl From<User> for UserObject {
    fn from(u: User) -> Self {
        UserObject {
            object: "organization.user",
            id: u.id,
            name: u.name,
            email: u.email,
            role: u.role.as_str().to_owned(),
            added_at: u.added_at,
        }
    }
}

impl Listed for UserObject {
    fn id(&self) -> &str {
        &self.id
    }
}

#[derive(Debug, Deserialize)]
struct ListUsersQuery {
    after: Option<String>,
    limit: Option<i64>,
    /// Repeated (`emails=a&emails=b`), with or without brackets.
    #[serde(default)]
    emails: Vec<String>,
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListUsersQuery>,
) -> ApiResult<axum::Json<List<UserObject>>> {
    let page = PageRequest::new(q.after, q.limit, None)?;
    let users = state
        .store
        .list_users(&principal.org_id, &page, &q.emails)
        .await?;
    Ok(axum::Json(List::new(users, UserObject::from)))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids(user_id): Ids<UserId>,
) -> ApiResult<axum::Json<UserObject>> {
    Ok(axum::Json(
        state
            .store
            .get_user(&principal.org_id, &user_id)
            .await?
            .into(),
    ))
}

/// The contract's `UserRoleUpdateRequest`; `role_id` arrives with custom roles.
#[derive(Debug, Deserialize)]
struct ModifyUser {
    role: Option<String>,
}

async fn modify(
    State(state): State<AppState>,
    principal: Principal,
    Ids(user_id): Ids<UserId>,
    Json(body): Json<ModifyUser>,
) -> ApiResult<axum::Json<UserObject>> {
    let role: OrgRole = required_role(body.role)?.parse()?;
    Ok(axum::Json(
        state
            .store
            .modify_user_role(&(&principal).into(), &user_id, role)
            .await?
            .into(),
    ))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids(user_id): Ids<UserId>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .delete_user(&(&principal).into(), &user_id, None)
        .await?;
    Ok(Deleted::new("organization.user.deleted", user_id))
}

/// `role` is optional in the contract's shape but the only change there is to make.
pub fn required_role(role: Option<String>) -> Result<String> {
    role.ok_or_else(|| Error::Invalid {
        message: "Missing required parameter: 'role'.".into(),
        param: Some("role".into()),
        code: Some("missing_required_parameter"),
    })
}
