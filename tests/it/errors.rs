//! What every request gets whatever it asks: request ids, envelopes on unknown routes and
//! methods, the body limit, health and the served contract.

use serde_json::json;

use crate::common::{Outside, TestServer};

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope() {
    let s = TestServer::start().await;
    let admin = s.admin();
    admin
        .get("/v1/organization/nothing-here")
        .await
        .error(404, None);
    admin.get("/not-even-v1").await.error(404, None);
    admin
        .delete("/v1/organization/projects")
        .await
        .error(405, None);
    admin
        .request(
            reqwest::Method::PUT,
            "/v1/organization/admin_api_keys",
            Some(json!({})),
        )
        .await
        .error(405, None);
    s.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_callers() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let plain = client
        .get(format!("{}/healthz", s.root))
        .send()
        .await
        .unwrap();
    let id = plain.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("req_"), "{id}");
    let echoed = client
        .get(format!("{}/v1/organization/projects", s.root))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status().as_u16(), 401);
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    s.stop().await;
}

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413_and_one_of_exactly_that_is_read() {
    let s = TestServer::start().await;
    let admin = s.admin();
    const LIMIT: usize = 1024 * 1024;
    // A JSON body of exactly `len` bytes: a project whose name is padded out with spaces, which
    // JSON ignores after the object.
    let body = |len: usize| {
        let object = r#"{"name": "Boundary"}"#;
        format!("{object}{}", " ".repeat(len - object.len()))
    };
    assert_eq!(body(LIMIT).len(), LIMIT);
    let at_limit = admin
        .post_raw("/v1/organization/projects", body(LIMIT))
        .await;
    assert_eq!(at_limit.ok()["name"], "Boundary", "1 MiB is read");
    admin
        .post_raw("/v1/organization/projects", body(LIMIT + 1))
        .await
        .error(413, None);
    let projects = admin.get("/v1/organization/projects").await;
    assert_eq!(
        projects.ok()["data"].as_array().unwrap().len(),
        2,
        "the default project and the one at the limit; nothing past it"
    );
    s.stop().await;
}

#[tokio::test]
async fn health_readiness_and_the_served_contract() {
    let s = TestServer::start().await;
    let anonymous = s.anonymous();
    assert_eq!(
        anonymous.get("/healthz").await.ok(),
        &json!({"status": "ok"})
    );
    assert_eq!(
        anonymous.get("/readyz").await.ok(),
        &json!({"status": "ready"})
    );
    let spec = anonymous.get("/v1/openapi.yaml").await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.headers["content-type"], "application/yaml");
    let text = spec.body.as_str().expect("YAML text");
    for operation in [
        "operationId: list-projects",
        "operationId: admin-api-keys-create",
        "/healthz:",
        "/readyz:",
    ] {
        assert!(
            text.contains(operation),
            "the served document has {operation}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_gone() {
    let s = TestServer::start().await;
    s.store.close().await;
    let ready = s.anonymous().get("/readyz").await;
    ready.error(503, None);
    s.anonymous().get("/healthz").await.ok();
    s.stop().await;
}

#[tokio::test]
async fn a_path_id_of_the_wrong_form_is_404_before_any_query() {
    let s = TestServer::start().await;
    let admin = s.admin();
    // (route with a well-formed id that names nothing, the same route with a malformed one, param)
    let routes = [
        (
            "/v1/organization/projects/proj_unknown",
            "/v1/organization/projects/proj%20x",
            "project_id",
        ),
        (
            "/v1/organization/users/user-unknown",
            "/v1/organization/users/proj_abc",
            "user_id",
        ),
        (
            "/v1/organization/invites/invite-unknown",
            "/v1/organization/invites/invite-",
            "invite_id",
        ),
        (
            "/v1/organization/groups/group_unknown",
            "/v1/organization/groups/group_a.b",
            "group_id",
        ),
        (
            "/v1/organization/roles/role_unknown",
            "/v1/organization/roles/role_%2Fx",
            "role_id",
        ),
        (
            "/v1/organization/admin_api_keys/key_unknown",
            "/v1/organization/admin_api_keys/key_%C3%A9",
            "key_id",
        ),
        (
            "/v1/organization/projects/proj_unknown/users/user-unknown",
            "/v1/organization/projects/x/users/user-unknown",
            "project_id",
        ),
        (
            "/v1/organization/users/user-unknown/roles",
            "/v1/organization/users/user-%27--/roles",
            "user_id",
        ),
    ];
    for (known_form, wrong_form, param) in routes {
        let unknown = admin.get(known_form).await;
        unknown.error(404, Some(param));
        admin.get(wrong_form).await.error(404, Some(param));
    }
    // With the database gone, an id of the wrong form is still the same 404 (the admin key is
    // cached), while a well-formed one needs the database to be told apart.
    s.store.close().await;
    for (known_form, wrong_form, param) in routes {
        admin.get(wrong_form).await.error(404, Some(param));
        assert_eq!(admin.get(known_form).await.status, 503, "{known_form}");
    }
    s.stop().await;
}

/// How many audit events the organization holds: every change writes one, so an unchanged
/// count after a refused request shows that it changed nothing.
async fn events(s: &TestServer) -> usize {
    crate::common::walk(&s.admin(), "/v1/organization/audit_logs", 100)
        .await
        .len()
}

#[tokio::test]
async fn a_nul_character_anywhere_is_400_naming_the_field() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let project = s.add_project("P").await;
    let before = events(&s).await;
    let bodies = [
        (
            "/v1/organization/projects",
            json!({"name": "a\u{0}b"}),
            "name",
        ),
        (
            &format!("/v1/organization/projects/{project}"),
            json!({"name": "a\u{0}"}),
            "name",
        ),
        ("/v1/organization/groups", json!({"name": "g\u{0}"}), "name"),
        (
            "/v1/organization/roles",
            json!({"role_name": "r\u{0}", "permissions": ["api.model.read"]}),
            "role_name",
        ),
        (
            "/v1/organization/roles",
            json!({"role_name": "r", "permissions": ["api.model.read\u{0}"]}),
            "permissions[0]",
        ),
        (
            &format!("/v1/organization/projects/{project}/service_accounts"),
            json!({"name": "s\u{0}"}),
            "name",
        ),
        (
            "/v1/organization/admin_api_keys",
            json!({"name": "k\u{0}"}),
            "name",
        ),
        (
            "/v1/organization/invites",
            json!({"email": "a\u{0}@example.com", "role": "reader"}),
            "email",
        ),
        (
            "/v1/organization/invites",
            json!({"email": "a@example.com", "role": "reader", "projects": [{"id": "proj_\u{0}", "role": "member"}]}),
            "projects[0].id",
        ),
        (
            &format!("/v1/organization/projects/{project}/users"),
            json!({"user_id": "user-\u{0}", "role": "member"}),
            "user_id",
        ),
        (
            "/v1/invites/inv-abc/accept",
            json!({"name": "N\u{0}"}),
            "name",
        ),
    ];
    for (path, body, param) in bodies {
        admin
            .post(path, body)
            .await
            .error_mentioning(400, Some(param), "NUL");
    }
    let queries = [
        ("/v1/organization/projects/proj_%00x", "project_id"),
        (
            &format!("/v1/organization/projects/{project}/users/user-%00"),
            "user_id",
        ),
        ("/v1/organization/projects?after=proj_%00", "after"),
        ("/v1/organization/users?emails[]=a%00@example.com", "emails"),
        (
            "/v1/organization/audit_logs?project_ids[]=proj_%00",
            "project_ids",
        ),
        ("/v1/organization/audit_logs?after=%00", "after"),
    ];
    for (path, param) in queries {
        admin.get(path).await.error(400, Some(param));
    }
    admin
        .delete("/v1/organization/admin_api_keys/key_%00")
        .await
        .error(400, Some("key_id"));
    assert_eq!(
        events(&s).await,
        before,
        "no refused request changed anything"
    );
    s.stop().await;
}

#[tokio::test]
async fn names_with_control_characters_are_refused() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let before = events(&s).await;
    for name in ["line\nbreak", "tab\there", "bell\u{7}", "\u{1b}[31mred"] {
        for (path, body, param) in [
            ("/v1/organization/projects", json!({"name": name}), "name"),
            ("/v1/organization/groups", json!({"name": name}), "name"),
            (
                "/v1/organization/roles",
                json!({"role_name": name, "permissions": []}),
                "role_name",
            ),
            (
                "/v1/organization/admin_api_keys",
                json!({"name": name}),
                "name",
            ),
        ] {
            admin
                .post(path, body)
                .await
                .error_mentioning(400, Some(param), "control characters");
        }
    }
    assert_eq!(events(&s).await, before);
    // Letters of any script, and spaces inside, are names like any other.
    let named = admin
        .post(
            "/v1/organization/projects",
            json!({"name": "  Ünïcødé 名前 project "}),
        )
        .await;
    assert_eq!(named.ok()["name"], "Ünïcødé 名前 project");
    s.stop().await;
}

#[tokio::test]
async fn an_unknown_time_operator_is_refused_not_ignored() {
    let s = TestServer::start().await;
    let admin = s.admin();
    for query in ["effective_at[xx]=1", "effective_at=1", "effective_at[GT]=1"] {
        admin
            .get(&format!("/v1/organization/audit_logs?{query}"))
            .await
            .error_mentioning(400, Some("effective_at"), "effective_at[gte]");
    }
    admin
        .get("/v1/organization/audit_logs?effective_at[gte]=1&effective_at[lt]=99999999999")
        .await
        .ok();
    s.stop().await;
}

#[tokio::test]
async fn a_value_of_the_wrong_json_type_is_named_as_such() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let error = admin
        .post(
            "/v1/organization/invites",
            json!({"email": "a@example.com", "role": 7}),
        )
        .await;
    let error = error.error_mentioning(
        400,
        Some("role"),
        "Invalid type for 'role': got integer `7`",
    );
    assert_eq!(error["code"], "invalid_type");
    let error = admin
        .post("/v1/organization/projects", json!({"name": ["P"]}))
        .await;
    assert_eq!(error.error(400, Some("name"))["code"], "invalid_type");
    // What is not JSON at all is still told as such.
    admin
        .post_raw("/v1/organization/projects", "{\"name\": ")
        .await
        .error_mentioning(400, None, "not valid JSON");
    s.stop().await;
}

#[tokio::test]
async fn a_change_that_waits_on_a_lock_past_the_statement_timeout_is_503() {
    let s = TestServer::start_with(
        roster::store::StoreOptions {
            statement_timeout: std::time::Duration::from_secs(1),
            ..roster::store::StoreOptions::default()
        },
        |_| {},
    )
    .await;
    let admin = s.admin();
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    let user = format!("/v1/organization/users/{ada}");

    // Another client of the database holds the lock the change needs: SQLite's write lock, or
    // the organization's row on PostgreSQL.
    let holder = Outside::connect(&s.database_url).await;
    holder
        .execute(&if s.database_url.starts_with("sqlite") {
            "BEGIN IMMEDIATE".to_owned()
        } else {
            format!(
                "BEGIN; SELECT id FROM organizations WHERE id = '{}' FOR UPDATE",
                s.org_id
            )
        })
        .await;
    let started = std::time::Instant::now();
    let refused = admin.post(&user, json!({"role": "owner"})).await;
    refused.error(503, None);
    assert_eq!(refused.body["error"]["type"], "server_error");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    holder.execute("ROLLBACK").await;
    drop(holder);

    assert_eq!(
        admin.get(&user).await.ok()["role"],
        "reader",
        "nothing changed"
    );
    assert_eq!(
        admin.post(&user, json!({"role": "owner"})).await.ok()["role"],
        "owner",
        "the same change succeeds once the lock is released"
    );
    s.stop().await;
}
