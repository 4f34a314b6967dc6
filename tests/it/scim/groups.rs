//! Groups: members set by the hundred, every PATCH form, versions that follow the Admin API's
//! changes, and groups found by their members.

use super::*;

/// A group's members set in one request by the hundred, some named twice: each is a member once,
/// and a PUT, a PATCH that adds and one that removes leave exactly who they name.
#[tokio::test]
async fn a_group_of_hundreds_is_set_in_one_request() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let bodies: Vec<Value> = (0..300)
        .map(|i| user(&format!("m{i:03}@example.com"), &format!("m{i}"), "M"))
        .collect();
    let mut people: Vec<String> = create_many(&scim, &bodies)
        .await
        .iter()
        .map(|made| made["id"].as_str().unwrap().to_owned())
        .collect();
    people.sort();
    let refs =
        |ids: &[String]| -> Vec<Value> { ids.iter().map(|id| json!({"value": id})).collect() };
    let twice: Vec<Value> = refs(&people).into_iter().chain(refs(&people)).collect();
    let created = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Everyone",
            "members": twice,
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let group = format!("{GROUPS}/{}", created.body["id"].as_str().unwrap());
    let members = || {
        let (scim, group) = (&scim, &group);
        async move {
            let found = call(scim, Method::GET, group, None).await;
            let mut ids: Vec<String> = found.body["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(members().await, people);

    let (first, second) = people.split_at(150);
    let put = call(
        &scim,
        Method::PUT,
        &group,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Everyone",
            "members": refs(second),
        })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(members().await, second);

    let patch = |operations: Value| {
        let (scim, group) = (&scim, &group);
        async move {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations,
            });
            let patched = call(scim, Method::PATCH, group, Some(body)).await;
            assert!([200, 204].contains(&patched.status), "{}", patched.body);
        }
    };
    patch(json!([{"op": "add", "path": "members", "value": twice}])).await;
    assert_eq!(members().await, people);
    patch(json!([{"op": "remove", "path": "members", "value": refs(first)}])).await;
    assert_eq!(members().await, second);
    s.stop().await;
}

#[tokio::test]
async fn groups_keep_their_members_through_every_patch_form() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut people = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let created = create(&scim, user(&format!("{name}@example.com"), name, name)).await;
        people.push(created["id"].as_str().unwrap().to_owned());
    }
    let [ann, ben, cat] = <[String; 3]>::try_from(people).unwrap();
    let created = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "g-eng",
            "members": [{"value": ann}],
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body,
        call(&scim, Method::GET, &format!("{GROUPS}/{id}"), None)
            .await
            .body
    );
    let members = |body: &Value| -> Vec<String> {
        body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(members(&created.body), [ann.as_str()]);
    let found = call(
        &scim,
        Method::GET,
        "/scim/v2/Groups?filter=displayName%20eq%20%22engineering%22",
        None,
    )
    .await;
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());

    let patch = |operations: Value| {
        let (scim, path) = (&scim, format!("{GROUPS}/{id}"));
        async move {
            let patched = call(
                scim,
                Method::PATCH,
                &path,
                Some(json!({"Operations": operations})),
            )
            .await;
            // 204, as Microsoft asks of a group PATCH, with the version the change left.
            assert_eq!(patched.status, 204, "{}", patched.body);
            assert_eq!(patched.body, "", "no body");
            let read = call(scim, Method::GET, &path, None).await;
            assert_eq!(
                patched.headers["etag"],
                read.body["meta"]["version"].as_str().unwrap()
            );
            // Asked for attributes, it answers the group as it left it, version and all.
            let asked = call(
                scim,
                Method::PATCH,
                &format!("{path}?excludedAttributes=externalId"),
                Some(json!({"Operations": [{"op": "add", "path": "members", "value": []}]})),
            )
            .await;
            assert_eq!(asked.status, 200, "{}", asked.body);
            let mut read = call(scim, Method::GET, &path, None).await.body;
            read.as_object_mut().unwrap().remove("externalId");
            assert_eq!(asked.body, read);
            read
        }
    };
    // Okta adds with a path; Entra removes by value; a value filter removes one.
    let body =
        patch(json!([{"op": "add", "path": "members", "value": [{"value": ben}, {"value": cat}]}]))
            .await;
    assert_eq!(members(&body), [ann.clone(), ben.clone(), cat.clone()]);
    let body = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": ann}]}])).await;
    assert_eq!(members(&body), [ben.clone(), cat.clone()]);
    let body =
        patch(json!([{"op": "remove", "path": format!("members[value eq \"{ben}\"]")}])).await;
    assert_eq!(members(&body), [cat.as_str()]);
    let body = patch(json!([
        {"op": "replace", "path": "displayName", "value": "Platform"},
        {"op": "replace", "path": "members", "value": [{"value": ann}]},
    ]))
    .await;
    assert_eq!(
        (body["displayName"].as_str(), members(&body)),
        (Some("Platform"), vec![ann.clone()])
    );
    let body = patch(json!([{"op": "remove", "path": "members"}])).await;
    assert!(members(&body).is_empty());
    let unknown = call(
        &scim,
        Method::PATCH,
        &format!("{GROUPS}/{id}"),
        Some(json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": ann}, {"value": "user-nope"}]}]})),
    )
    .await;
    refused(&unknown, 400, Some("invalidValue"));
    let unchanged = call(&scim, Method::GET, &format!("{GROUPS}/{id}"), None).await;
    assert_eq!(
        (members(&unchanged.body), &unchanged.body["meta"]["version"]),
        (vec![], &body["meta"]["version"]),
        "a refused change changes nothing"
    );
    // Adds and removes by id change those named alone, the last operation naming one
    // deciding, beside a rename as Okta sends it; the audit log names who changed.
    let body = patch(json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": ann}, {"value": ben}]},
        {"op": "Remove", "path": "members", "value": [{"value": ben}, {"value": cat}]},
        {"op": "add", "path": "members", "value": [{"value": ann}]},
        {"op": "replace", "value": {"id": id, "displayName": "Platform"}},
    ]))
    .await;
    assert_eq!(
        (body["displayName"].as_str(), members(&body)),
        (Some("Platform"), vec![ann.clone()])
    );
    let body = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": ann}, {"value": cat}]},
        {"op": "remove", "path": format!("members[value eq \"{ben}\"]")},
    ]))
    .await;
    assert_eq!(members(&body), [ann.clone(), cat.clone()]);
    let events = async || -> Vec<Value> {
        let path = format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&event_types[]=group.updated&limit=100"
        );
        s.admin().get(&path).await.ok()["data"]
            .as_array()
            .unwrap()
            .clone()
    };
    let changes = events().await;
    let member_changes: Vec<&Value> = changes
        .iter()
        .map(|e| &e["group.updated"]["changes_requested"])
        .filter(|change| change.get("users_added").is_some())
        .take(2)
        .collect();
    assert_eq!(
        member_changes,
        [
            &json!({"users_added": [cat], "users_removed": []}),
            &json!({"users_added": [ann], "users_removed": []}),
        ],
        "newest first: {changes:?}"
    );
    // A change of members alone records them alone, not the unchanged name beside them; a
    // rename records the name; every change records something.
    let recorded_by = async |operations: Value| -> Vec<Value> {
        let before = events().await.len();
        let path = format!("{GROUPS}/{id}");
        let body = json!({"Operations": operations});
        let patched = call(&scim, Method::PATCH, &path, Some(body)).await;
        assert_eq!(patched.status, 204, "{}", patched.body);
        let after = events().await;
        after[..after.len() - before]
            .iter()
            .map(|e| e["group.updated"]["changes_requested"].clone())
            .collect()
    };
    assert_eq!(
        recorded_by(json!([{"op": "remove", "path": "members", "value": [{"value": cat}]}])).await,
        [json!({"users_added": [], "users_removed": [cat]})]
    );
    assert_eq!(
        recorded_by(json!([
            {"op": "replace", "path": "displayName", "value": "Platform team"},
            {"op": "add", "path": "members", "value": [{"value": cat}]},
        ]))
        .await,
        [
            json!({"group_name": "Platform team"}),
            json!({"users_added": [cat], "users_removed": []}),
        ]
    );
    assert_eq!(
        recorded_by(json!([{"op": "replace", "path": "displayName", "value": "Platform"}])).await,
        [json!({"group_name": "Platform"})]
    );
    assert_eq!(
        recorded_by(json!([{"op": "add", "path": "members", "value": [{"value": cat}]}])).await,
        [json!({"group_name": "Platform"})],
        "a change that changes nothing still has its event"
    );

    // The Admin API shows it as SCIM-managed and leaves it alone.
    let admin = s.admin();
    let group = admin.get(&format!("/v1/organization/groups/{id}")).await;
    assert_eq!(group.ok()["is_scim_managed"], true);
    assert_eq!(group.ok()["name"], "Platform");
    admin
        .post(
            &format!("/v1/organization/groups/{id}"),
            json!({"name": "Mine"}),
        )
        .await
        .error_mentioning(400, None, "managed by SCIM");
    admin
        .post(
            &format!("/v1/organization/groups/{id}/users"),
            json!({"user_id": ann}),
        )
        .await
        .error_mentioning(400, None, "managed by SCIM");

    let deleted = call(&scim, Method::DELETE, &format!("{GROUPS}/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    refused(
        &call(&scim, Method::GET, &format!("{GROUPS}/{id}"), None).await,
        404,
        None,
    );
    let log = admin
        .get(&format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&limit=100"
        ))
        .await;
    let types: Vec<String> = log.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("group.deleted"));
    assert_eq!(types.last().map(String::as_str), Some("group.created"));
    s.stop().await;
}

/// A group the Admin API made is shown through SCIM too; a change of its members there moves its
/// version (the ETag), so an identity provider's If-Match sees it.
#[tokio::test]
async fn admin_api_member_changes_move_a_groups_etag() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let admin = s.admin();
    let group = admin
        .post(
            "/v1/organization/groups",
            json!({"name": "Made in the API"}),
        )
        .await
        .id();
    let path = format!("{GROUPS}/{group}");
    let before = call(&scim, Method::GET, &path, None).await.body;
    assert_eq!(before["meta"]["version"], "W/\"1\"", "{before}");
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    admin
        .post(
            &format!("/v1/organization/groups/{group}/users"),
            json!({"user_id": ada}),
        )
        .await
        .ok();
    let after = call(&scim, Method::GET, &path, None).await.body;
    assert_eq!(after["meta"]["version"], "W/\"2\"", "{after}");
    assert_eq!(after["members"][0]["value"], ada.as_str());
    admin
        .delete(&format!("/v1/organization/groups/{group}/users/{ada}"))
        .await
        .ok();
    let removed = call(&scim, Method::GET, &path, None).await.body;
    assert_eq!(removed["meta"]["version"], "W/\"3\"", "{removed}");
    assert_eq!(removed["members"], json!([]));
    s.stop().await;
}

/// Entra ID asks whether a group has a member before it adds or removes her
/// (`id eq "..." and members eq "..."`, answered with the id alone): a group is found by any of
/// its members, through each form of the path, as its members change.
#[tokio::test]
async fn groups_are_found_by_their_members() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut people = Vec::new();
    for name in ["ann", "ben"] {
        let created = create(&scim, user(&format!("{name}@example.com"), name, name)).await;
        people.push(created["id"].as_str().unwrap().to_owned());
    }
    let [ann, ben] = <[String; 2]>::try_from(people).unwrap();
    let mut groups = Vec::new();
    for (name, members) in [
        ("Eng", vec![&ann]),
        ("Ops", vec![&ann, &ben]),
        ("Empty", vec![]),
    ] {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        // Entra ID creates a group as Microsoft documents it: no members, its own schema too.
        let body = match members.is_empty() {
            true => json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": name,
                "meta": {"resourceType": "Group"},
            }),
            false => json!({"displayName": name, "members": members}),
        };
        let created = call(&scim, Method::POST, GROUPS, Some(body)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        groups.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let eng = &groups[0];
    let names = |list: &Value| -> Vec<String> {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = |filter: String| {
        let scim = &scim;
        async move {
            let found = call(scim, Method::GET, &filtered(GROUPS, &filter), None).await;
            assert_eq!(found.status, 200, "{filter}: {}", found.body);
            assert_eq!(
                found.body["totalResults"],
                names(&found.body).len(),
                "{filter}: {}",
                found.body
            );
            names(&found.body)
        }
    };

    // Entra ID's request, as it sends it.
    let asked = call(
        &scim,
        Method::GET,
        &format!(
            "{}&attributes=id",
            filtered(GROUPS, &format!(r#"id eq "{eng}" and members eq "{ann}""#))
        ),
        None,
    )
    .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_eq!(asked.body["totalResults"], 1, "{}", asked.body);
    assert_eq!(
        asked.body["Resources"],
        json!([{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": eng}])
    );
    assert!(
        listed(format!(r#"id eq "{eng}" and members eq "{ben}""#))
            .await
            .is_empty()
    );

    for (filter, expected) in [
        (format!(r#"members eq "{ann}""#), vec!["Eng", "Ops"]),
        (format!(r#"members.value eq "{ben}""#), vec!["Ops"]),
        (format!(r#"members[value eq "{ben}"]"#), vec!["Ops"]),
        (format!(r#"not (members eq "{ann}")"#), vec!["Empty"]),
        (format!(r#"members ne "{ann}""#), vec!["Ops"]),
        ("members pr".to_owned(), vec!["Eng", "Ops"]),
        ("not (members pr)".to_owned(), vec!["Empty"]),
        (
            format!(r#"members eq "{ben}" or displayName eq "empty""#),
            vec!["Ops", "Empty"],
        ),
    ] {
        let mut found = listed(filter.clone()).await;
        found.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(found, expected, "{filter}");
    }

    // Entra ID removes her from Eng; Roster removes ben altogether.
    let removed = call(
        &scim,
        Method::PATCH,
        &format!("{GROUPS}/{eng}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": ann}]}],
        })),
    )
    .await;
    assert!(
        removed.status == 200 || removed.status == 204,
        "{}",
        removed.body
    );
    assert_eq!(listed(format!(r#"members eq "{ann}""#)).await, ["Ops"]);
    let deleted = call(&scim, Method::DELETE, &format!("{USERS}/{ben}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(listed(format!(r#"members eq "{ben}""#)).await.is_empty());

    // A part or a range of ids is no member's id.
    for filter in [r#"members co "user""#, r#"members gt "user""#] {
        let refused_filter = call(&scim, Method::GET, &filtered(GROUPS, filter), None).await;
        refused(&refused_filter, 400, Some("invalidFilter"));
    }

    // Entra ID reads groups without their members; asked for, they are there.
    let ops = &groups[1];
    let without = call(
        &scim,
        Method::GET,
        &format!("{GROUPS}/{ops}?excludedAttributes=members"),
        None,
    )
    .await;
    assert_eq!(without.status, 200, "{}", without.body);
    assert_eq!(without.body["displayName"], "Ops", "{}", without.body);
    assert!(without.body.get("members").is_none(), "{}", without.body);
    let listed_without = call(
        &scim,
        Method::GET,
        &format!(
            "{}&excludedAttributes=members",
            filtered(GROUPS, r#"displayName eq "Ops""#)
        ),
        None,
    )
    .await;
    let found = &listed_without.body["Resources"][0];
    assert_eq!(found["displayName"], "Ops", "{}", listed_without.body);
    assert!(found.get("members").is_none(), "{found}");
    for path in [
        format!("{GROUPS}/{ops}?attributes=members.value"),
        format!("{GROUPS}/{ops}?excludedAttributes=members.display"),
    ] {
        let with = call(&scim, Method::GET, &path, None).await;
        assert_eq!(
            with.body["members"][0]["value"],
            ann.as_str(),
            "{path}: {}",
            with.body
        );
        assert_eq!(with.body["members"].as_array().map(Vec::len), Some(1));
    }
    s.stop().await;
}
