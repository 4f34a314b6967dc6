//! Okta's and Entra ID's request sequences, as each sends them.

use super::*;

/// Okta's first requests: a probe of the list, then a lookup by userName before each create.
#[tokio::test]
async fn okta_provisions_updates_deactivates_and_deletes() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let probe = call(
        &scim,
        Method::GET,
        "/scim/v2/Users?startIndex=1&count=2",
        None,
    )
    .await;
    assert_eq!(probe.status, 200, "{}", probe.body);
    assert_eq!(probe.body["totalResults"], 1, "the owner");
    assert_eq!(probe.body["startIndex"], 1);
    let lookup = call(
        &scim,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100",
        None,
    )
    .await;
    assert_eq!(
        (
            lookup.body["totalResults"].as_i64(),
            lookup.body["Resources"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    // Created with application/scim+json, as Okta sends it.
    let created = reqwest::Client::new()
        .post(format!("{}{USERS}", s.root))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json; charset=utf-8")
        .body({
            // With Okta's password sync on, the password comes along; and Okta sends
            // `groups`, which is read-only (RFC 7643 §4.1.2).
            let mut ada = user("ada@example.com", "00u1", "Ada");
            ada["password"] = json!("Sup3rSecret!");
            ada["groups"] = json!([]);
            ada.to_string()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let ada: Value = created.json().await.unwrap();
    let id = ada["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("user-"), "{ada}");
    assert_eq!(etag, "W/\"1\"");
    assert!(
        location.ends_with(&format!("/scim/v2/Users/{id}")),
        "{location}"
    );
    assert_eq!(ada["meta"]["version"], etag);
    assert!(ada.get("password").is_none(), "never returned: {ada}");
    assert!(ada.get("groups").is_none(), "not hers to set: {ada}");

    // In the Admin API: an organization user, with no invitation sent.
    let admin = s.admin();
    let listed = admin.get(&format!("/v1/organization/users/{id}")).await;
    assert_eq!(listed.ok()["email"], "ada@example.com");
    assert_eq!(
        listed.ok()["role"],
        "reader",
        "reader unless the extension says"
    );
    assert_eq!(listed.ok()["name"], "Ada");
    assert!(
        s.invite_token("ada@example.com").await.is_none(),
        "no invitation"
    );

    // Okta's profile push: PUT the whole user.
    let mut renamed = user("ada@example.com", "00u1", "Ada Lovelace");
    renamed[ROLE_EXTENSION] = json!({"role": "owner"});
    let put = call(&scim, Method::PUT, &format!("{USERS}/{id}"), Some(renamed)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["displayName"], "Ada Lovelace");
    assert_eq!(put.body["meta"]["version"], "W/\"2\"");
    assert_eq!(
        admin
            .get(&format!("/v1/organization/users/{id}"))
            .await
            .ok()["role"],
        "owner"
    );
    // A stale If-Match is refused, and changes nothing.
    let stale = reqwest::Client::new()
        .put(format!("{}{USERS}/{id}", s.root))
        .bearer_auth(&token)
        .header("if-match", "W/\"1\"")
        .json(&user("ada@example.com", "x", "Stale"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 412);

    // A change of what Roster keeps as sent (her title) still has its event.
    let titled = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({"Operations": [{"op": "replace", "path": "title", "value": "Analyst"}]})),
    )
    .await;
    assert_eq!(titled.body["title"], "Analyst", "{}", titled.body);

    // Deactivation: Okta's PATCH without a path.
    let deactivated = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}],
        })),
    )
    .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(deactivated.body["displayName"], "Ada Lovelace");

    let deleted = call(&scim, Method::DELETE, &format!("{USERS}/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    refused(
        &call(&scim, Method::GET, &format!("{USERS}/{id}"), None).await,
        404,
        None,
    );
    admin
        .get(&format!("/v1/organization/users/{id}"))
        .await
        .error(404, Some("user_id"));

    // Each change is in the audit log, by the SCIM token.
    let log = admin
        .get(&format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&limit=100"
        ))
        .await;
    let events = log.ok()["data"].as_array().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "user.deleted",
            "user.updated",
            "user.updated",
            "user.updated",
            "user.added"
        ],
        "{events:?}"
    );
    // Each change records what it changed: the profile push her name and role, the
    // deactivation her state alone; a change of none of them records her as she is.
    let changes: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "user.updated")
        .map(|e| &e["user.updated"]["changes_requested"])
        .collect();
    assert_eq!(
        changes,
        [
            &json!({"active": false}),
            &json!({"role": "owner", "active": true, "email": "ada@example.com", "name": "Ada Lovelace"}),
            &json!({"role": "owner", "name": "Ada Lovelace"}),
        ]
    );
    for event in &events {
        let key = &event["actor"]["api_key"];
        assert!(
            key["id"].as_str().unwrap().starts_with("scim_token_"),
            "{event}"
        );
    }
    s.stop().await;
}

/// Entra ID capitalises its ops, sends booleans as strings and names sub-attributes in values.
#[tokio::test]
async fn entra_capitalised_ops_and_string_booleans() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let created = create(&scim, user("grace@example.com", "e-1", "Grace")).await;
    let id = created["id"].as_str().unwrap();
    let lookup = call(
        &scim,
        Method::GET,
        "/scim/v2/Users?filter=externalId%20eq%20%22e-1%22",
        None,
    )
    .await;
    assert_eq!(lookup.body["Resources"][0]["id"], id);
    let patched = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "value": {"name.familyName": "Hopper", "displayName": "Grace Hopper"}},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "hopper@example.com"},
                {"op": "Add", "path": "emails", "value": [{"value": "grace@home.test", "type": "home"}]},
                {"op": "Remove", "path": "emails[type eq \"home\"]"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Navy"},
                // Her manager as Entra ID sends one: the id alone.
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "user-0000"},
                // A phone number she has not had: Entra ID names the new value by its type.
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
                // An app role, as Entra ID's AppRoleAssignmentsComplex sends it.
                {"op": "Add", "path": "roles", "value": [
                    {"primary": "False", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"},
                ]},
            ],
        })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["name"]["familyName"], "Hopper");
    assert_eq!(patched.body["displayName"], "Grace Hopper");
    // The extension an op added is named in `schemas`, as RFC 7643 §3 asks.
    assert_eq!(patched.body[ENTERPRISE]["department"], "Navy");
    assert_eq!(
        patched.body[ENTERPRISE]["manager"],
        json!({"value": "user-0000"}),
        "complex, as RFC 7643 §4.3 has it"
    );
    assert!(
        patched.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE)),
        "{}",
        patched.body
    );
    assert_eq!(
        patched.body["emails"],
        json!([{"value": "hopper@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(
        patched.body["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    // A boolean sent as a string is kept as the boolean /Schemas says it is.
    assert_eq!(
        patched.body["roles"],
        json!([{"primary": false, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}])
    );
    assert_eq!(
        s.admin()
            .get(&format!("/v1/organization/users/{id}"))
            .await
            .ok()["email"],
        "hopper@example.com"
    );
    let reactivated = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]})),
    )
    .await;
    assert_eq!(reactivated.body["active"], true);
    // Her manager removed, as Entra ID names the one it removes.
    let path = format!("{ENTERPRISE}:manager");
    let unmanaged = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({"Operations": [{"op": "Remove", "path": path, "value": [{"value": "user-0000"}]}]})),
    )
    .await;
    assert_eq!(
        unmanaged.body[ENTERPRISE],
        json!({"department": "Navy"}),
        "{}",
        unmanaged.body
    );

    for (body, scim_type) in [
        (
            json!({"Operations": [{"op": "Move", "path": "active"}]}),
            "invalidSyntax",
        ),
        (json!({"Operations": [{"op": "Remove"}]}), "noTarget"),
        (
            json!({"Operations": [{"op": "Replace", "path": "emails[", "value": 1}]}),
            "invalidPath",
        ),
        (json!({"Operations": []}), "invalidSyntax"),
        (
            json!({"Operations": [{"op": "Replace", "path": "active", "value": "maybe"}]}),
            "invalidValue",
        ),
    ] {
        let response = call(&scim, Method::PATCH, &format!("{USERS}/{id}"), Some(body)).await;
        refused(&response, 400, Some(scim_type));
    }
    s.stop().await;
}
