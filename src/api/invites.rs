//! `/organization/invites`: list, create, retrieve, delete. Creating one queues its email in the
//! same transaction; the delivery worker sends it.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::{Deserialize, Serialize};

use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, ListQuery, Listed};
use super::{AppState, Deleted};
use crate::domain::ids::InviteId;
use crate::domain::invite::{self, Invite, InviteProject};
use crate::domain::principal::Principal;
use crate::domain::user::{OrgRole, validate_email};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/invites", get(list).post(create))
        .route(
            "/organization/invites/{invite_id}",
            get(retrieve).delete(delete),
        )
}

/// The contract's `Invite`.
#[derive(Debug, Serialize)]
pub struct InviteObject {
    pub object: &'static str,
    pub id: String,
    pub email: String,
    pub role: String,
    pub status: &'static str,
    pub created_at: i64,
    /// The same moment under the name the real service's "Create invite" reference gives it
    /// (the older generation of the invite object), for tools written against either.
    pub invited_at: i64,
    pub expires_at: Option<i64>,
    pub accepted_at: Option<i64>,
    pub projects: Vec<InviteProject>,
}

impl InviteObject {
    fn new(invite: Invite, now: i64) -> Self {
        InviteObject {
            object: "organization.invite",
            status: invite.status(now),
            projects: invite.projects(),
            id: invite.id,
            email: invite.email,
            role: invite.role.as_str().to_owned(),
            created_at: invite.created_at,
            invited_at: invite.created_at,
            expires_at: Some(invite.expires_at),
            accepted_at: invite.accepted_at,
        }
    }
}

impl Listed for InviteObject {
    fn id(&self) -> &str {
        &self.id
    }
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<List<InviteObject>>> {
    let invites = state
        .store
        .list_invites(&principal.org_id, &q.page()?)
        .await?;
    let now = state.store.clock().now();
    Ok(axum::Json(List::new(invites, |i| {
        InviteObject::new(i, now)
    })))
}

/// The contract's `InviteRequest`.
#[derive(Debug, Deserialize)]
struct CreateInvite {
    email: String,
    role: OrgRole,
    projects: Option<Vec<RequestedProject>>,
}

#[derive(Debug, Deserialize)]
struct RequestedProject {
    id: String,
    role: String,
}

async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<CreateInvite>,
) -> ApiResult<axum::Json<InviteObject>> {
    let email = validate_email(&body.email, "email")?;
    let requested = body
        .projects
        .map(|ps| ps.into_iter().map(|p| (p.id, p.role)).collect());
    let projects = invite::requested_projects(requested, &principal.default_project_id)?;
    let settings = &state.settings;
    let invite = state
        .store
        .create_invite(
            &(&principal).into(),
            &email,
            body.role,
            &projects,
            settings.invite_lifetime_seconds,
            &settings.public_url,
        )
        .await?;
    Ok(axum::Json(InviteObject::new(
        invite,
        state.store.clock().now(),
    )))
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids(invite_id): Ids<InviteId>,
) -> ApiResult<axum::Json<InviteObject>> {
    let invite = state
        .store
        .get_invite(&principal.org_id, &invite_id)
        .await?;
    Ok(axum::Json(InviteObject::new(
        invite,
        state.store.clock().now(),
    )))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids(invite_id): Ids<InviteId>,
) -> ApiResult<axum::Json<Deleted>> {
    state
        .store
        .delete_invite(&(&principal).into(), &invite_id)
        .await?;
    Ok(Deleted::new("organization.invite.deleted", invite_id))
}
