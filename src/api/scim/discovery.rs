//! Discovery at the base (RFC 7644 §4): the configuration, resource types and schemas.

use axum::extract::{Path, State};
use serde_json::{Value, json};

use super::*;
use crate::domain::scim::{
    self, ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, MAX_COUNT, ROSTER_USER_SCHEMA, USER_SCHEMA,
};

pub(super) async fn service_provider_config(State(state): State<AppState>, _: Provider) -> Scim {
    Scim::ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/roster-iam/roster#scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The organization's SCIM token, made with `roster scim token create`.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(&state)),
        },
    }))
}

fn resource_type_list(state: &AppState) -> Vec<Value> {
    let base = base(state);
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A user of the organization",
            "schema": USER_SCHEMA,
            "schemaExtensions": [
                {"schema": ENTERPRISE_USER_SCHEMA, "required": false},
                {"schema": ROSTER_USER_SCHEMA, "required": false},
            ],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of the organization's users",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

pub(super) async fn resource_types(State(state): State<AppState>, _: Provider) -> Scim {
    let types = resource_type_list(&state);
    let total = types.len() as i64;
    Scim::ok(list_response(types, total, 1))
}

pub(super) async fn resource_type(
    State(state): State<AppState>,
    _: Provider,
    Path(name): Path<String>,
) -> Answer {
    resource_type_list(&state)
        .into_iter()
        .find(|t| t["id"] == name.as_str())
        .map(Scim::ok)
        .ok_or_else(|| ScimError::not_found("resource type", &name).into())
}

pub(super) async fn schemas(State(state): State<AppState>, _: Provider) -> Scim {
    let all = scim::schemas(&base(&state));
    let total = all.len() as i64;
    Scim::ok(list_response(all, total, 1))
}

pub(super) async fn schema(
    State(state): State<AppState>,
    _: Provider,
    Path(id): Path<String>,
) -> Answer {
    scim::schemas(&base(&state))
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(Scim::ok)
        .ok_or_else(|| ScimError::not_found("schema", &id).into())
}
