//! A user's life through SCIM: suspension cutting off her keys, what the Admin API may not change,
//! the bounds of her strings, and the versions (ETags) her changes are conditional on.

use super::*;

#[tokio::test]
async fn suspension_stops_her_keys_at_once_and_reactivation_restores_them() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut owner = user("eve@example.com", "x-eve", "Eve");
    owner[ROLE_EXTENSION] = json!({"role": "owner"});
    let eve = create(&scim, owner).await;
    let id = eve["id"].as_str().unwrap().to_owned();
    let (_, admin_key) = s
        .store
        .create_admin_key(&s.cli_author(), &id, Some("eve"), None)
        .await
        .unwrap();
    let project = s.add_project("P").await;
    s.add_member(&project, &id, "member").await;
    let project_key = s
        .admin()
        .post(
            &format!("/v1/organization/projects/{project}/users/{id}/api_keys"),
            json!({"name": "laptop"}),
        )
        .await
        .ok()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let works = |key: String| {
        let s = &s;
        async move {
            s.with_key(&key)
                .get("/v1/organization/projects")
                .await
                .status
                == 200
        }
    };
    assert!(works(admin_key.clone()).await);
    assert!(s.gateway_check(&project_key).await.is_some());

    let active = |value: bool| {
        let scim = &scim;
        let path = format!("{USERS}/{id}");
        async move {
            let patched = call(
                scim,
                Method::PATCH,
                &path,
                Some(json!({"Operations": [{"op": "replace", "path": "active", "value": value}]})),
            )
            .await;
            assert_eq!(patched.status, 200, "{}", patched.body);
        }
    };
    active(false).await;
    let refused_key = s
        .with_key(&admin_key)
        .get("/v1/organization/projects")
        .await;
    assert!(
        refused_key.error(401, None)["message"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{}",
        refused_key.body
    );
    assert!(
        s.gateway_check(&project_key).await.is_none(),
        "the gateway refuses her key"
    );
    let key_object = s
        .admin()
        .get(&format!("/v1/organization/projects/{project}/api_keys"))
        .await;
    assert_eq!(
        key_object.ok()["data"][0]["owner_project_access"],
        "inactive"
    );

    active(true).await;
    assert!(works(admin_key).await, "her admin key works again");
    assert!(s.gateway_check(&project_key).await.is_some());
    s.stop().await;
}

#[tokio::test]
async fn what_scim_manages_the_admin_api_does_not_change() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let frank = create(&scim, user("frank@example.com", "x-frank", "Frank")).await;
    let id = frank["id"].as_str().unwrap();
    let admin = s.admin();
    let path = format!("/v1/organization/users/{id}");
    admin
        .post(&path, json!({"role": "owner"}))
        .await
        .error_mentioning(400, None, "managed by SCIM");
    admin
        .delete(&path)
        .await
        .error_mentioning(400, None, "managed by SCIM");
    assert_eq!(admin.get(&path).await.ok()["role"], "reader");

    // userName and email are unique whatever their case: 409 uniqueness.
    refused(
        &call(
            &scim,
            Method::POST,
            USERS,
            Some(user("FRANK@example.com", "y", "F")),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    refused(
        &call(
            &scim,
            Method::POST,
            USERS,
            Some(json!({"userName": "no-address"})),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    refused(
        &call(&scim, Method::GET, &format!("{USERS}/user-nope"), None).await,
        404,
        None,
    );
    s.stop().await;
}

/// The strings Roster indexes are bounded, so that no value fails in the database (PostgreSQL's
/// B-tree keeps no entry over 2,704 bytes): 512 characters of four bytes each are kept, one
/// more is refused with 400 and nothing made; a group is named as the Admin API names one. An
/// id with NUL (which PostgreSQL stores nowhere) is refused too.
#[tokio::test]
async fn strings_up_to_their_bounds_are_kept_and_past_them_refused() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let wide = |n: usize| "𝒜".repeat(n);
    let mut longest = user("longest@example.com", &wide(512), &wide(512));
    longest["userName"] = json!(wide(512));
    let made = create(&scim, longest).await;
    assert_eq!(made["userName"], wide(512));
    assert_eq!(made["externalId"], wide(512));
    let found = call(
        &scim,
        Method::POST,
        &format!("{USERS}/.search"),
        Some(json!({"filter": format!(r#"userName eq "{}""#, wide(512))})),
    )
    .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);

    for (attribute, detail) in [
        (
            "userName",
            "'userName' must be between 1 and 512 characters.",
        ),
        ("externalId", "'externalId' must be at most 512 characters."),
        (
            "displayName",
            "The user's name (displayName, else name) must be between 1 and 512 characters.",
        ),
    ] {
        let mut body = user("past@example.com", "x-past", "Past");
        body[attribute] = json!(wide(513));
        let refused_one = call(&scim, Method::POST, USERS, Some(body)).await;
        refused(&refused_one, 400, Some("invalidValue"));
        assert_eq!(refused_one.body["detail"], detail, "{attribute}");
    }
    let control = user("tab@example.com", "x-tab", "Tab\tName");
    refused(
        &call(&scim, Method::POST, USERS, Some(control)).await,
        400,
        Some("invalidValue"),
    );
    let listed = call(&scim, Method::GET, USERS, None).await;
    assert_eq!(
        listed.body["totalResults"], 2,
        "the owner and the longest only"
    );

    let group = |name: String, external: String| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "externalId": external,
        })
    };
    let kept = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(group(wide(255), wide(512))),
    )
    .await;
    assert_eq!(kept.status, 201, "{}", kept.body);
    for body in [
        group(wide(256), "g".into()),
        group("Line\nbreak".into(), "g".into()),
        group("Ops".into(), wide(513)),
    ] {
        refused(
            &call(&scim, Method::POST, GROUPS, Some(body)).await,
            400,
            Some("invalidValue"),
        );
    }
    let groups = call(&scim, Method::GET, GROUPS, None).await;
    assert_eq!(groups.body["totalResults"], 1);

    // An id holding NUL, which no database stores, is refused before one is asked.
    for base in [USERS, GROUPS] {
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let body = (method == Method::PUT || method == Method::PATCH).then(|| json!({}));
            let answer = call(&scim, method.clone(), &format!("{base}/a%00b"), body).await;
            refused(&answer, 400, Some("invalidValue"));
        }
    }
    s.stop().await;
}

/// RFC 7644 §3.14: a read names the version it holds (`If-None-Match`: 304, its ETag and no
/// body) or the one it wants (`If-Match`: 412 for another); a change or a deletion goes ahead
/// only when its `If-Match` names the current version among its list, and its `If-None-Match`
/// does not; a refused one changes nothing.
#[tokio::test]
async fn conditional_requests_follow_the_versions_they_name() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let ada = create(&scim, user("ada@example.com", "x-ada", "Ada")).await;
    let group = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Ops",
        })),
    )
    .await
    .body;
    for (path, body) in [
        (
            format!("{USERS}/{}", ada["id"].as_str().unwrap()),
            user("ada@example.com", "x-ada", "Ada L"),
        ),
        (
            format!("{GROUPS}/{}", group["id"].as_str().unwrap()),
            json!({"displayName": "Ops 2"}),
        ),
    ] {
        let with = |method: Method, headers: &'static [(&'static str, &'static str)]| {
            let (scim, path, body) = (&scim, &path, &body);
            async move {
                let body = (method == Method::PUT).then(|| body.clone());
                scim.request_with(method, path, body, headers).await
            }
        };
        let unchanged = with(Method::GET, &[("if-none-match", "W/\"1\"")]).await;
        assert_eq!(unchanged.status, 304, "{path}: {}", unchanged.body);
        assert_eq!(unchanged.headers["etag"], "W/\"1\"");
        assert_eq!(unchanged.body, "");
        assert_eq!(
            with(Method::GET, &[("if-none-match", "W/\"0\", W/\"7\"")])
                .await
                .status,
            200
        );
        refused(
            &with(Method::GET, &[("if-match", "W/\"7\"")]).await,
            412,
            None,
        );
        for headers in [
            &[("if-match", "W/\"7\"")][..],
            &[("if-none-match", "*")],
            &[("if-none-match", "W/\"1\"")],
        ] {
            refused(&with(Method::PUT, headers).await, 412, None);
            refused(&with(Method::DELETE, headers).await, 412, None);
        }
        refused(
            &with(Method::PUT, &[("if-match", "seven")]).await,
            400,
            Some("invalidValue"),
        );
        let still = with(Method::GET, &[]).await;
        assert_eq!(
            still.body["meta"]["version"], "W/\"1\"",
            "{path}: nothing changed"
        );
        let changed = with(Method::PUT, &[("if-match", "W/\"7\", W/\"1\"")]).await;
        assert_eq!(changed.status, 200, "{path}: {}", changed.body);
        assert_eq!(changed.body["meta"]["version"], "W/\"2\"");
        assert_eq!(
            with(Method::DELETE, &[("if-match", "W/\"2\"")])
                .await
                .status,
            204
        );
        refused(&with(Method::GET, &[]).await, 404, None);
    }
    s.stop().await;
}
