//! Service accounts and project API keys on both backends: the operations, their rules, and
//! keys that verify exactly while they should.

use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn service_accounts_and_their_keys() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let project = server.add_project("Gateway").await;
    let accounts = format!("/v1/organization/projects/{project}/service_accounts");

    let created = admin.post(&accounts, json!({"name": "ci-bot"})).await;
    let body = created.ok().clone();
    assert_eq!(body["object"], "organization.project.service_account");
    assert_eq!(body["role"], "member");
    assert_eq!(
        body["api_key"]["object"],
        "organization.project.service_account.api_key"
    );
    let account = body["id"].as_str().unwrap().to_owned();
    assert!(account.starts_with("svc_acct_"));
    let value = body["api_key"]["value"].as_str().unwrap().to_owned();
    assert!(value.starts_with("sk-svcacct-"));
    let verified = server
        .gateway_check(&value)
        .await
        .expect("the key verifies");
    assert_eq!(
        (&verified["project"]["id"], &verified["owner"]["id"]),
        (&json!(project), &json!(account))
    );

    // Shown once: afterwards only redacted.
    let key_id = body["api_key"]["id"].as_str().unwrap();
    let listed = admin
        .get(&format!(
            "/v1/organization/projects/{project}/api_keys/{key_id}"
        ))
        .await;
    let listed = listed.ok();
    assert!(listed.get("value").is_none());
    assert_eq!(listed["redacted_value"], secret_redacted(&value));
    assert_eq!(listed["owner"]["type"], "service_account");
    assert_eq!(listed["owner"]["service_account"]["id"], account.as_str());
    assert_eq!(listed["owner_project_access"], "active");

    let only = admin
        .post(
            &accounts,
            json!({"name": "terraform", "create_service_account_only": true}),
        )
        .await;
    assert_eq!(only.ok()["role"], "none");
    assert!(only.ok()["api_key"].is_null());
    let only = only.id();

    admin
        .post(&accounts, json!({}))
        .await
        .error(400, Some("name"));
    admin
        .post(&accounts, json!({"name": " "}))
        .await
        .error(400, Some("name"));
    let default = format!(
        "/v1/organization/projects/{}/service_accounts",
        server.default_project_id
    );
    admin
        .post(&default, json!({"name": "x"}))
        .await
        .error(400, Some("project_id"));

    let updated = admin
        .post(
            &format!("{accounts}/{only}"),
            json!({"role": "owner", "name": "tf"}),
        )
        .await;
    assert_eq!(
        (updated.ok()["role"].as_str(), updated.ok()["name"].as_str()),
        (Some("owner"), Some("tf"))
    );
    admin
        .post(&format!("{accounts}/{only}"), json!({"role": "admin"}))
        .await
        .error(400, Some("role"));
    assert_eq!(
        admin.get(&format!("{accounts}/{only}")).await.ok()["role"],
        "owner"
    );
    admin
        .get(&format!("{accounts}/svc_acct_nope"))
        .await
        .error(404, Some("service_account_id"));

    // Extra keys: bounded lifetime, known scopes, expiry by the clock.
    let keys = format!("{accounts}/{only}/api_keys");
    admin
        .post(&keys, json!({"expires_in_seconds": 0}))
        .await
        .error(400, Some("expires_in_seconds"));
    admin
        .post(&keys, json!({"expires_in_seconds": 31_536_001}))
        .await
        .error(400, Some("expires_in_seconds"));
    admin
        .post(&keys, json!({"scopes": ["api.fly"]}))
        .await
        .error(400, Some("scopes[0]"));
    let extra = admin
        .post(
            &keys,
            json!({"name": "short", "expires_in_seconds": 60, "scopes": ["api.responses.write"]}),
        )
        .await;
    assert_eq!(extra.ok()["name"], "short");
    let short = extra.ok()["value"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .gateway_check(&short)
            .await
            .expect("the key verifies")["permissions"],
        json!(["api.responses.write"])
    );
    server.clock.advance(61);
    assert!(
        server.gateway_check(&short).await.is_none(),
        "an expired key is refused"
    );

    // Deleting a service account's key one by one is refused; deleting the account revokes all.
    let api_keys = format!("/v1/organization/projects/{project}/api_keys");
    admin
        .delete(&format!("{api_keys}/{key_id}"))
        .await
        .error(400, Some("api_key_id"));
    admin
        .delete(&format!("{api_keys}/key_nope"))
        .await
        .error(404, Some("api_key_id"));
    let deleted = admin.delete(&format!("{accounts}/{account}")).await;
    assert_eq!(
        deleted.ok()["object"],
        "organization.project.service_account.deleted"
    );
    assert!(
        server.gateway_check(&value).await.is_none(),
        "revoked at once"
    );
    admin
        .get(&format!("{api_keys}/{key_id}"))
        .await
        .error(404, Some("api_key_id"));

    // An archived project takes no accounts or keys, and its keys stop verifying.
    let other = admin.post(&accounts, json!({"name": "late"})).await;
    let late = other.ok()["api_key"]["value"].as_str().unwrap().to_owned();
    server.archive_project(&project).await;
    assert!(server.gateway_check(&late).await.is_none());
    admin
        .post(&accounts, json!({"name": "x"}))
        .await
        .error(400, None);
    admin.get(&accounts).await.error(400, None);
    admin.post(&keys, json!({})).await.error(400, None);

    let log = admin.get(&format!("/v1/organization/audit_logs?project_ids[]={project}&event_types[]=service_account.created&event_types[]=service_account.updated&event_types[]=service_account.deleted&event_types[]=api_key.created")).await;
    let types: Vec<&str> = log.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .rev()
        .collect();
    assert_eq!(
        types,
        [
            "service_account.created",
            "api_key.created",
            "service_account.created",
            "service_account.updated",
            "api_key.created",
            "service_account.deleted",
            "service_account.created",
            "api_key.created",
        ]
    );
    server.stop().await;
}

fn secret_redacted(value: &str) -> String {
    roster::domain::secret::redact(value)
}

#[tokio::test]
async fn user_keys_follow_the_membership() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let ada = server.add_user("ada@example.com", "reader", "Ada").await;
    let project = server.add_project("Gateway").await;
    let user_keys = format!("/v1/organization/projects/{project}/users/{ada}/api_keys");
    admin
        .post(&user_keys, json!({"name": "laptop"}))
        .await
        .error(400, Some("user_id"));
    server.add_member(&project, &ada, "member").await;
    let created = admin.post(&user_keys, json!({"name": "laptop"})).await;
    let value = created.ok()["value"].as_str().unwrap().to_owned();
    let key_id = created.id();
    assert!(value.starts_with("sk-proj-"));
    assert_eq!(
        server
            .gateway_check(&value)
            .await
            .expect("the key verifies")["owner"]["id"],
        json!(ada)
    );

    let api_keys = format!("/v1/organization/projects/{project}/api_keys");
    let key = admin.get(&format!("{api_keys}/{key_id}")).await;
    assert_eq!(key.ok()["owner"]["type"], "user");
    assert_eq!(key.ok()["owner"]["user"]["email"], "ada@example.com");
    assert_eq!(key.ok()["owner"]["user"]["role"], "member");

    // A removed member's key stops verifying and lists as inactive until she is back.
    admin
        .delete(&format!("/v1/organization/projects/{project}/users/{ada}"))
        .await
        .ok();
    assert!(server.gateway_check(&value).await.is_none());
    let inactive = admin
        .get(&format!("{api_keys}?owner_project_access=inactive"))
        .await;
    assert_eq!(inactive.ok()["data"][0]["id"], key_id.as_str());
    assert_eq!(
        admin
            .get(&format!("{api_keys}?owner_project_access=active"))
            .await
            .ok()["data"],
        json!([])
    );
    assert_eq!(
        admin.get(&api_keys).await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    admin
        .get(&format!("{api_keys}?owner_project_access=some"))
        .await
        .error(400, Some("owner_project_access"));
    server.add_member(&project, &ada, "owner").await;
    assert!(server.gateway_check(&value).await.is_some());

    let deleted = admin.delete(&format!("{api_keys}/{key_id}")).await;
    assert_eq!(
        deleted.ok()["object"],
        "organization.project.api_key.deleted"
    );
    assert!(server.gateway_check(&value).await.is_none());
    assert!(server.gateway_check("sk-proj-not-a-key").await.is_none());
    assert!(server.gateway_check("garbage").await.is_none());
    server.stop().await;
}
