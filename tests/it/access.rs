//! Roles, role assignments and groups on both backends: every rule of the access model, the
//! cascades, effective access, and no duplicate assignment under concurrent requests.

use serde_json::{Value, json};

use crate::common::{Caller, TestServer};
use roster::domain::role::Access;

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Walks a `next`-cursor list to its end.
async fn walk_next(caller: &Caller<'_>, path: &str, limit: u32, order: &str) -> Vec<String> {
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let url = match &after {
            Some(a) => format!("{path}?limit={limit}&order={order}&after={a}"),
            None => format!("{path}?limit={limit}&order={order}"),
        };
        let page = caller.get(&url).await;
        let body = page.ok();
        all.extend(ids(body));
        if !body["has_more"].as_bool().unwrap() {
            assert!(body["next"].is_null());
            return all;
        }
        after = Some(body["next"].as_str().unwrap().to_owned());
    }
}

async fn role_names(caller: &Caller<'_>, path: &str) -> Vec<String> {
    let body = caller.get(path).await;
    body.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn predefined_and_custom_roles() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let project = server.add_project("P").await;

    let org_roles = admin.get("/v1/organization/roles").await;
    let org_roles = org_roles.ok()["data"].as_array().unwrap().clone();
    assert_eq!(
        org_roles
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["owner", "reader"]
    );
    assert!(
        org_roles
            .iter()
            .all(|r| r["predefined_role"] == true && r["resource_type"] == "api.organization")
    );
    assert_eq!(
        role_names(&admin, &format!("/v1/projects/{project}/roles")).await,
        ["member", "owner", "viewer"]
    );

    // A predefined role by its plain id and by its scoped id.
    let plain = admin
        .get(&format!(
            "/v1/projects/{project}/roles/role-api-project-member"
        ))
        .await;
    let scoped_id = format!("role-api-project-member__api-project__{project}");
    assert_eq!(plain.ok()["id"], scoped_id.as_str());
    assert!(
        plain.ok()["permissions"]
            .as_array()
            .unwrap()
            .contains(&json!("api.model.request"))
    );
    admin
        .get(&format!("/v1/projects/{project}/roles/{scoped_id}"))
        .await
        .ok();
    admin
        .post(
            "/v1/organization/roles/role-api-organization-owner",
            json!({"role_name": "boss"}),
        )
        .await
        .error(400, Some("role_id"));
    admin
        .delete(&format!("/v1/projects/{project}/roles/{scoped_id}"))
        .await
        .error(400, Some("role_id"));

    let created = admin.post("/v1/organization/roles", json!({"role_name": "Auditor", "permissions": ["api.audit_logs.read"], "description": "Reads the log"})).await;
    let auditor = created.id();
    assert_eq!(created.ok()["predefined_role"], false);
    admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "Auditor", "permissions": []}),
        )
        .await
        .error(400, Some("role_name"));
    admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "Empty", "permissions": []}),
        )
        .await
        .ok();
    admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "Bad", "permissions": ["api.usage.read", "api.fly"]}),
        )
        .await
        .error(400, Some("permissions[1]"));
    admin
        .post(
            &format!("/v1/projects/{project}/roles"),
            json!({"role_name": "Bad", "permissions": ["api.audit_logs.read"]}),
        )
        .await
        .error(400, Some("permissions[0]"));
    admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "", "permissions": []}),
        )
        .await
        .error(400, Some("role_name"));
    // The same name is free in another scope.
    admin
        .post(
            &format!("/v1/projects/{project}/roles"),
            json!({"role_name": "Auditor", "permissions": []}),
        )
        .await
        .ok();

    let updated = admin
        .post(
            &format!("/v1/organization/roles/{auditor}"),
            json!({"permissions": ["api.audit_logs.read", "api.usage.read"]}),
        )
        .await;
    assert_eq!(
        updated.ok()["name"],
        "Auditor",
        "a partial update keeps the name"
    );
    assert_eq!(updated.ok()["description"], "Reads the log");
    assert_eq!(
        updated.ok()["permissions"],
        json!(["api.audit_logs.read", "api.usage.read"])
    );
    let renamed = admin
        .post(
            &format!("/v1/organization/roles/{auditor}"),
            json!({"role_name": "Log reader", "permissions": null}),
        )
        .await;
    assert_eq!(
        renamed.ok()["permissions"],
        json!(["api.audit_logs.read", "api.usage.read"])
    );
    admin
        .post(
            &format!("/v1/organization/roles/{auditor}"),
            json!({"role_name": "Empty"}),
        )
        .await
        .error(400, Some("role_name"));

    let log = admin
        .get(&format!(
            "/v1/organization/audit_logs?resource_ids[]={auditor}"
        ))
        .await;
    let types: Vec<&str> = log.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["role.updated", "role.updated", "role.created"]);
    assert_eq!(
        log.ok()["data"][1]["role.updated"]["changes_requested"]["permissions_added"],
        json!(["api.usage.read"])
    );

    let deleted = admin
        .delete(&format!("/v1/organization/roles/{auditor}"))
        .await;
    assert_eq!(deleted.ok()["object"], "role.deleted");
    admin
        .get(&format!("/v1/organization/roles/{auditor}"))
        .await
        .error(404, Some("role_id"));
    admin
        .get("/v1/projects/proj_nope/roles")
        .await
        .error(404, Some("project_id"));

    // 150 custom roles page both ways with `next`.
    for i in 0..150 {
        admin
            .post(
                "/v1/organization/roles",
                json!({"role_name": format!("R{i:03}"), "permissions": []}),
            )
            .await
            .ok();
    }
    let asc = walk_next(&admin, "/v1/organization/roles", 40, "asc").await;
    let desc = walk_next(&admin, "/v1/organization/roles", 33, "desc").await;
    assert_eq!(asc.len(), 153);
    assert_eq!(desc, asc.iter().rev().cloned().collect::<Vec<_>>());
    server.stop().await;
}

#[tokio::test]
async fn assignments_follow_the_rules_and_the_legacy_role() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let ada = server.add_user("ada@example.com", "reader", "Ada").await;
    let p1 = server.add_project("P1").await;
    let p2 = server.add_project("P2").await;
    let custom = admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "Usage", "permissions": ["api.usage.read"]}),
        )
        .await
        .id();
    let p2_role = admin.post(&format!("/v1/projects/{p2}/roles"), json!({"role_name": "Keys", "permissions": ["api.organization.projects.api_keys.read"]})).await.id();
    let user_roles = format!("/v1/organization/users/{ada}/roles");

    assert_eq!(
        role_names(&admin, &user_roles).await,
        ["reader"],
        "the legacy role is an assignment"
    );
    let assigned = admin.post(&user_roles, json!({"role_id": custom})).await;
    assert_eq!(assigned.ok()["object"], "user.role");
    assert_eq!(assigned.ok()["user"]["id"], ada.as_str());
    assert_eq!(assigned.ok()["role"]["id"], custom.as_str());
    admin
        .post(&user_roles, json!({"role_id": custom}))
        .await
        .error(400, Some("role_id"));
    admin
        .post(
            &user_roles,
            json!({"role_id": "role-api-organization-reader"}),
        )
        .await
        .error(400, Some("role_id"));
    admin
        .post(&user_roles, json!({"role_id": p2_role}))
        .await
        .error(400, Some("role_id"));
    admin
        .post(&user_roles, json!({"role_id": "role_nope"}))
        .await
        .error(404, Some("role_id"));
    let held = admin.get(&format!("{user_roles}/{custom}")).await;
    assert_eq!(
        held.ok()["assignment_sources"],
        json!([{"principal_id": ada, "principal_type": "user"}])
    );

    // Organization role: the roles operations and modify-user are two views of one fact.
    admin
        .post(
            &user_roles,
            json!({"role_id": "role-api-organization-owner"}),
        )
        .await
        .ok();
    assert_eq!(
        admin
            .get(&format!("/v1/organization/users/{ada}"))
            .await
            .ok()["role"],
        "owner"
    );
    assert_eq!(role_names(&admin, &user_roles).await, ["owner", "Usage"]);
    admin
        .post(
            &format!("/v1/organization/users/{ada}"),
            json!({"role": "reader"}),
        )
        .await
        .ok();
    assert_eq!(role_names(&admin, &user_roles).await, ["reader", "Usage"]);
    admin
        .delete(&format!("{user_roles}/role-api-organization-reader"))
        .await
        .error(400, Some("role_id"));

    // Project roles need a member.
    let p1_user_roles = format!("/v1/projects/{p1}/users/{ada}/roles");
    admin
        .post(&p1_user_roles, json!({"role_id": "role-api-project-owner"}))
        .await
        .error(400, Some("user_id"));
    server.add_member(&p1, &ada, "member").await;
    assert_eq!(role_names(&admin, &p1_user_roles).await, ["member"]);
    admin
        .post(&p1_user_roles, json!({"role_id": p2_role}))
        .await
        .error(400, Some("role_id"));
    admin
        .post(&p1_user_roles, json!({"role_id": custom}))
        .await
        .error(400, Some("role_id"));
    admin
        .post(
            &p1_user_roles,
            json!({"role_id": format!("role-api-project-viewer__api-project__{p1}")}),
        )
        .await
        .ok();
    let member = admin
        .get(&format!("/v1/organization/projects/{p1}/users/{ada}"))
        .await;
    assert_eq!(member.ok()["role"], "viewer");
    admin
        .post(
            &format!("/v1/organization/projects/{p1}/users/{ada}"),
            json!({"role": "owner"}),
        )
        .await
        .ok();
    assert_eq!(role_names(&admin, &p1_user_roles).await, ["owner"]);
    let p1_custom = admin
        .post(
            &format!("/v1/projects/{p1}/roles"),
            json!({"role_name": "Caller", "permissions": ["api.model.request"]}),
        )
        .await
        .id();
    admin
        .post(&p1_user_roles, json!({"role_id": p1_custom}))
        .await
        .ok();
    assert_eq!(
        role_names(&admin, &p1_user_roles).await,
        ["owner", "Caller"]
    );

    let removed = admin.delete(&format!("{user_roles}/{custom}")).await;
    assert_eq!(removed.ok()["object"], "user.role.deleted");
    admin
        .delete(&format!("{user_roles}/{custom}"))
        .await
        .error(404, Some("role_id"));
    admin
        .get(&format!("{user_roles}/{custom}"))
        .await
        .error(404, Some("role_id"));

    let log = admin.get("/v1/organization/audit_logs?event_types[]=role.assignment.created&event_types[]=role.assignment.deleted").await;
    let events = log.ok()["data"].as_array().unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(
        events[0]["role.assignment.deleted"]["principal_id"],
        ada.as_str()
    );
    assert_eq!(events[1]["project"]["id"], p1.as_str());
    server.stop().await;
}

#[tokio::test]
async fn groups_members_project_access_and_cascades() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let ada = server.add_user("ada@example.com", "reader", "Ada").await;
    let bob = server.add_user("bob@example.com", "reader", "Bob").await;
    let project = server.add_project("P").await;

    admin
        .post("/v1/organization/groups", json!({"name": ""}))
        .await
        .error(400, Some("name"));
    admin
        .post("/v1/organization/groups", json!({}))
        .await
        .error(400, Some("name"));
    let group = admin
        .post("/v1/organization/groups", json!({"name": "Eng"}))
        .await;
    assert_eq!(group.ok()["group_type"], "group");
    assert_eq!(group.ok()["is_scim_managed"], false);
    let group = group.id();
    let renamed = admin
        .post(
            &format!("/v1/organization/groups/{group}"),
            json!({"name": "Engineering"}),
        )
        .await;
    assert_eq!(renamed.ok()["name"], "Engineering");
    assert_eq!(
        admin
            .get(&format!("/v1/organization/groups/{group}"))
            .await
            .ok()["name"],
        "Engineering"
    );

    let members = format!("/v1/organization/groups/{group}/users");
    let added = admin.post(&members, json!({"user_id": ada})).await;
    assert_eq!(added.ok()["object"], "group.user");
    admin.post(&members, json!({"user_id": bob})).await.ok();
    admin
        .post(&members, json!({"user_id": ada}))
        .await
        .error(400, Some("user_id"));
    admin
        .post(&members, json!({"user_id": "user-nobody"}))
        .await
        .error(400, Some("user_id"));
    let listed = admin.get(&members).await;
    assert_eq!(
        ids(listed.ok()),
        [bob.clone(), ada.clone()],
        "newest first by default"
    );
    let one = admin.get(&format!("{members}/{ada}")).await;
    assert_eq!(one.ok()["email"], "ada@example.com");
    assert_eq!(one.ok()["user_type"], "user");

    // Access: a group role in the organization, a group role in a project.
    let usage = admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "Usage", "permissions": ["api.usage.read", "api.groups.write"]}),
        )
        .await
        .id();
    admin
        .post(
            &format!("/v1/organization/groups/{group}/roles"),
            json!({"role_id": usage}),
        )
        .await
        .ok();
    let access = format!("/v1/organization/projects/{project}/groups");
    let given = admin
        .post(
            &access,
            json!({"group_id": group, "role": "role-api-project-member"}),
        )
        .await;
    assert_eq!(given.ok()["object"], "project.group");
    assert_eq!(given.ok()["group_name"], "Engineering");
    admin
        .post(
            &access,
            json!({"group_id": group, "role": "role-api-project-member"}),
        )
        .await
        .error(400, Some("group_id"));
    let listed = admin.get(&access).await;
    assert_eq!(listed.ok()["data"][0]["group_id"], group.as_str());
    admin.get(&format!("{access}/{group}")).await.ok();
    let group_project_roles = format!("/v1/projects/{project}/groups/{group}/roles");
    assert_eq!(role_names(&admin, &group_project_roles).await, ["member"]);
    let keys = admin.post(&format!("/v1/projects/{project}/roles"), json!({"role_name": "Keys", "permissions": ["api.organization.projects.api_keys.write"]})).await.id();
    let assigned = admin
        .post(&group_project_roles, json!({"role_id": keys}))
        .await;
    assert_eq!(assigned.ok()["object"], "group.role");
    assert_eq!(assigned.ok()["group"]["id"], group.as_str());

    // Effective access: own role + group roles + custom roles, computed by one function.
    let grants = server
        .store
        .grants_of_user(&server.org_id, &ada)
        .await
        .unwrap();
    let union = Access::union(grants);
    assert!(
        union.allows(None, "api.organization.read"),
        "her own reader role"
    );
    assert!(
        union.allows(None, "api.groups.write"),
        "through the group's custom role"
    );
    assert!(
        union.allows(Some(&project), "api.model.request"),
        "through the group's project role"
    );
    assert!(union.allows(Some(&project), "api.organization.projects.api_keys.write"));
    assert!(!union.allows(None, "api.model.request"));
    admin.delete(&format!("{members}/{ada}")).await.ok();
    let after = Access::union(
        server
            .store
            .grants_of_user(&server.org_id, &ada)
            .await
            .unwrap(),
    );
    assert!(
        !after.allows(None, "api.groups.write"),
        "leaving the group takes its access at once"
    );
    assert!(!after.allows(Some(&project), "api.model.request"));
    assert!(after.allows(None, "api.organization.read"));

    // Cascades: a role in use, a group in use.
    admin
        .delete(&format!("/v1/projects/{project}/roles/{keys}"))
        .await
        .ok();
    assert_eq!(role_names(&admin, &group_project_roles).await, ["member"]);
    let deleted = admin
        .delete(&format!("/v1/organization/groups/{group}"))
        .await;
    assert_eq!(deleted.ok()["object"], "group.deleted");
    admin
        .get(&format!("/v1/organization/groups/{group}"))
        .await
        .error(404, Some("group_id"));
    assert_eq!(admin.get(&access).await.ok()["data"], json!([]));
    let bob_access = Access::union(
        server
            .store
            .grants_of_user(&server.org_id, &bob)
            .await
            .unwrap(),
    );
    assert!(!bob_access.allows(None, "api.groups.write"));

    // Removing a member takes her project roles; deleting a user takes all of hers.
    let caller = admin
        .post(
            &format!("/v1/projects/{project}/roles"),
            json!({"role_name": "Caller", "permissions": ["api.model.request"]}),
        )
        .await
        .id();
    server.add_member(&project, &bob, "member").await;
    admin
        .post(
            &format!("/v1/projects/{project}/users/{bob}/roles"),
            json!({"role_id": caller}),
        )
        .await
        .ok();
    admin
        .post(
            &format!("/v1/organization/users/{bob}/roles"),
            json!({"role_id": usage}),
        )
        .await
        .ok();
    admin
        .delete(&format!("/v1/organization/projects/{project}/users/{bob}"))
        .await
        .ok();
    server.add_member(&project, &bob, "member").await;
    assert_eq!(
        role_names(&admin, &format!("/v1/projects/{project}/users/{bob}/roles")).await,
        ["member"]
    );
    admin
        .delete(&format!("/v1/organization/users/{bob}"))
        .await
        .ok();
    assert!(
        server
            .store
            .grants_of_user(&server.org_id, &bob)
            .await
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_assignments_of_one_role_make_one() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let ada = server.add_user("ada@example.com", "reader", "Ada").await;
    let role = admin
        .post(
            "/v1/organization/roles",
            json!({"role_name": "Usage", "permissions": ["api.usage.read"]}),
        )
        .await
        .id();
    let path = format!("/v1/organization/users/{ada}/roles");
    for round in 0..crate::concurrency::ROUNDS {
        let attempts = (0..8).map(|_| admin.post(&path, json!({"role_id": role})));
        let responses = futures_util::future::join_all(attempts).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses.iter().filter(|s| **s == 200).count(),
            1,
            "round {round}: {statuses:?}"
        );
        for refused in responses.iter().filter(|r| r.status != 200) {
            refused.error_mentioning(400, Some("role_id"), "already holds role");
        }
        assert_eq!(role_names(&admin, &path).await, ["reader", "Usage"]);
        admin.delete(&format!("{path}/{role}")).await.ok();
    }
    server.stop().await;
}
