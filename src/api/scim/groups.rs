//! `/Groups`: an organization's groups, with their members, as SCIM resources.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::*;
use crate::domain::scim::{self, Resource, ScimGroup};
use crate::store::scim::{GroupWithMembers, MemberChange};

pub(super) fn group_resource(state: &AppState, (group, members): &GroupWithMembers) -> Value {
    group.resource(&base(state), members)
}

/// A page of groups: `GET /Groups`, or `POST /Groups/.search`.
pub(super) async fn list_groups(
    State(state): State<AppState>,
    Provider(token): Provider,
    request: ListRequest,
) -> Answer {
    let (start, count) = request.window();
    let filter = request.filter(Resource::Group)?;
    let (total, groups) = state
        .store
        .list_scim_groups(
            &token.org_id,
            filter.as_ref(),
            start,
            count,
            request.returns("members"),
        )
        .await?;
    let resources = groups
        .iter()
        .map(|g| request.shaped(group_resource(&state, g)))
        .collect();
    Ok(Scim::ok(list_response(resources, total, start)))
}

pub(super) async fn retrieve_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Shape(shape): Shape,
) -> Answer {
    let group = state
        .store
        .get_scim_group(&token.org_id, &id, shape.returns("members"))
        .await?;
    read(&headers, ("Group", &id, group.0.version), || {
        Ok(shape.shaped(group_resource(&state, &group)))
    })
}

pub(super) async fn create_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    Shape(shape): Shape,
    Body(body): Body,
) -> Answer {
    let group = ScimGroup::from_resource(&body)?;
    let created = state
        .store
        .create_scim_group(&token.author(), &group)
        .await?;
    Ok(Scim {
        status: StatusCode::CREATED,
        body: shape.shaped(group_resource(&state, &created)),
    })
}

pub(super) async fn replace_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Shape(shape): Shape,
    Body(body): Body,
) -> Answer {
    let group = ScimGroup::from_resource(&body)?;
    let replaced = state
        .store
        .change_scim_group(
            &token.author(),
            &id,
            &precondition(&headers)?,
            MemberChange::Replaced,
            |_, _| Ok(group.clone()),
            shape.returns("members"),
        )
        .await?;
    Ok(Scim::ok(shape.shaped(group_resource(&state, &replaced))))
}

pub(super) async fn patch_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    Shape(shape): Shape,
    Body(body): Body,
) -> Answer {
    let operations = scim::patch_operations(&body)?;
    // Members added or removed by id change alone; any other form patches the group whole.
    let by_id = scim::member_changes(&operations);
    let (members, operations) = match &by_id {
        Some(changes) => (MemberChange::Named(&changes.members), &changes.others),
        None => (MemberChange::Replaced, &operations),
    };
    let base = base(&state);
    let patched = state
        .store
        .change_scim_group(
            &token.author(),
            &id,
            &precondition(&headers)?,
            members,
            |current, members| {
                let mut resource = current.resource(&base, members);
                scim::apply_patch(&mut resource, operations)?;
                Ok(ScimGroup::from_resource(&resource)?)
            },
            shape.names_attributes() && shape.returns("members"),
        )
        .await?;
    // 204 and the new ETag, as Microsoft asks of a group PATCH ("returning a body with a list of
    // all the members isn't advisable") and RFC 7644 §3.5.2 allows, unless the request names the
    // attributes to answer with.
    if !shape.names_attributes() {
        return Ok(Scim::bodiless(StatusCode::NO_CONTENT, patched.0.version));
    }
    Ok(Scim::ok(shape.shaped(group_resource(&state, &patched))))
}

pub(super) async fn delete_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    state
        .store
        .delete_scim_group(&token.author(), &id, &precondition(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
