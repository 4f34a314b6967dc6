//! `/Users`: an organization's users as SCIM resources.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};

use super::*;
use crate::domain::ids::UserId;
use crate::domain::scim::{self, Resource, ScimUser};

/// A page of users: `GET /Users`, or `POST /Users/.search`.
pub(super) async fn list_users(
    State(state): State<AppState>,
    Provider(token): Provider,
    request: ListRequest,
) -> Answer {
    let (start, count) = request.window();
    let filter = request.filter(Resource::User)?;
    let (total, users) = state
        .store
        .list_scim_users(&token.org_id, filter.as_ref(), start, count)
        .await?;
    let base = base(&state);
    let resources = users
        .iter()
        .map(|u| request.shaped(u.resource(&base)))
        .collect();
    Ok(Scim::ok(list_response(resources, total, start)))
}

pub(super) async fn retrieve_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Shape(shape): Shape,
) -> Answer {
    let user = state.store.get_scim_user(&token.org_id, &id).await?;
    read(&headers, ("User", &id, user.version), || {
        Ok(shape.shaped(user.resource(&base(&state))))
    })
}

pub(super) async fn create_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    Shape(shape): Shape,
    Body(body): Body,
) -> Answer {
    let user = ScimUser::from_resource(&body)?;
    let created = state.store.create_scim_user(&token.author(), &user).await?;
    Ok(Scim {
        status: StatusCode::CREATED,
        body: shape.shaped(created.resource(&base(&state))),
    })
}

pub(super) async fn replace_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Shape(shape): Shape,
    Body(body): Body,
) -> Answer {
    let user = ScimUser::from_resource(&body)?;
    let replaced = state
        .store
        .change_scim_user(&token.author(), &id, &precondition(&headers)?, |_| {
            Ok(user.clone())
        })
        .await?;
    Ok(Scim::ok(shape.shaped(replaced.resource(&base(&state)))))
}

pub(super) async fn patch_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Shape(shape): Shape,
    Body(body): Body,
) -> Answer {
    let operations = scim::patch_operations(&body)?;
    let base = base(&state);
    let patched = state
        .store
        .change_scim_user(&token.author(), &id, &precondition(&headers)?, |current| {
            let mut resource = current.resource(&base);
            scim::apply_patch(&mut resource, &operations)?;
            Ok(ScimUser::from_resource(&resource)?)
        })
        .await?;
    Ok(Scim::ok(shape.shaped(patched.resource(&base))))
}

pub(super) async fn delete_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    let user_id = UserId::parse(id.clone()).map_err(|_| ScimError::not_found("user", &id))?;
    state
        .store
        .delete_user(&token.author(), &user_id, Some(&precondition(&headers)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
