//! `POST /v1/gateway/check`: who may call what, decided for the gateways in front of the models.

use serde_json::{Value, json};

use crate::common::{Caller, TestServer, contract};

const CHECK: &str = "/v1/gateway/check";

/// A project with a service account's key, and a member (`role` in the project, a reader of the
/// organization) with a key of her own.
struct Fixture {
    project: String,
    account: String,
    account_key: String,
    member: String,
    member_key: String,
    member_key_id: String,
}

async fn fixture(s: &TestServer, role: &str) -> Fixture {
    let admin = s.admin();
    let bot = s.project_with_bot("Gateway").await;
    let project = bot.project;
    let member = s.add_user("ada@example.com", "reader", "Ada").await;
    s.add_member(&project, &member, role).await;
    let key = admin
        .post(
            &format!("/v1/organization/projects/{project}/users/{member}/api_keys"),
            json!({"name": "laptop"}),
        )
        .await;
    Fixture {
        project,
        account: bot.id,
        account_key: bot.key,
        member,
        member_key: key.ok()["value"].as_str().unwrap().to_owned(),
        member_key_id: key.id(),
    }
}

/// Asks the check about `key` and `permission`; the answer is always 200, and valid against the
/// served document.
async fn check(caller: &Caller<'_>, key: &str, permission: &str) -> Value {
    let answer = caller
        .post(CHECK, json!({"api_key": key, "permission": permission}))
        .await;
    answer.ok();
    contract::conforming("POST", CHECK, &answer).clone()
}

#[track_caller]
fn allowed(answer: &Value) {
    assert_eq!(answer["allowed"], true, "{answer}");
    assert_eq!(answer["status"], 200);
    assert_eq!(answer["error"], Value::Null);
}

/// Asserts a denial with its status, code and the start of its message.
#[track_caller]
fn denied(answer: &Value, status: u16, code: Option<&str>, starts: &str) {
    assert_eq!(answer["allowed"], false, "{answer}");
    assert_eq!(answer["status"], status, "{answer}");
    let error = &answer["error"];
    assert_eq!(error["type"], "invalid_request_error");
    assert_eq!(error["code"].as_str(), code, "{answer}");
    assert!(
        error["message"].as_str().unwrap().starts_with(starts),
        "{answer}"
    );
}

#[track_caller]
fn incorrect(answer: &Value) {
    denied(
        answer,
        401,
        Some("invalid_api_key"),
        "Incorrect API key provided: ",
    );
    assert_eq!(
        answer["api_key"],
        Value::Null,
        "nothing is told of a key that did not verify"
    );
    assert_eq!(answer["permissions"], json!([]));
}

#[tokio::test]
async fn a_service_accounts_key_and_a_members_key_are_allowed() {
    let s = TestServer::start().await;
    let f = fixture(&s, "member").await;
    // The key is the credential: no admin key.
    let anyone = s.anonymous();

    let answer = anyone
        .post(CHECK, json!({"api_key": f.account_key, "model": "gpt-4o"}))
        .await;
    let answer = answer.ok();
    allowed(answer);
    assert_eq!(answer["object"], "gateway.check");
    assert_eq!(answer["organization"]["id"], s.org_id.as_str());
    assert_eq!(
        answer["project"],
        json!({"id": f.project, "name": "Gateway"})
    );
    assert_eq!(
        answer["owner"],
        json!({"type": "service_account", "id": f.account, "name": "bot"})
    );
    assert_eq!(answer["expires_at"], Value::Null);
    assert!(answer["cache_ttl_ms"].as_u64().unwrap() <= 1000);
    let permissions: Vec<&str> = answer["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        permissions.contains(&"api.model.request"),
        "{permissions:?}"
    );
    assert!(
        !permissions.contains(&"api.roles.write"),
        "a member account holds no role permissions: {permissions:?}"
    );

    let answer = check(&anyone, &f.member_key, "api.model.request").await;
    allowed(&answer);
    assert_eq!(answer["api_key"]["id"], f.member_key_id.as_str());
    assert_eq!(
        answer["owner"],
        json!({"type": "user", "id": f.member, "email": "ada@example.com", "name": "Ada"})
    );
    s.stop().await;
}

#[tokio::test]
async fn keys_that_do_not_verify_get_the_real_services_401() {
    let s = TestServer::start().await;
    let f = fixture(&s, "member").await;
    let anyone = s.anonymous();
    for key in [
        "sk-proj-0000000000000000000000000000000000000000unknown",
        "not-a-key",
        "",
        // An admin key is no project key.
        crate::common::BOOTSTRAP_KEY,
    ] {
        incorrect(&check(&anyone, key, "api.model.request").await);
    }
    let answer = check(
        &anyone,
        "sk-proj-0000000000000000000000000000000000000000unknown",
        "api.model.request",
    )
    .await;
    // The real service's mask: the first 8 and last 4 characters, a star for each between.
    assert_eq!(
        answer["error"]["message"],
        format!(
            "Incorrect API key provided: sk-proj-{}nown. You can find your API key at \
             https://platform.openai.com/account/api-keys.",
            "*".repeat(43)
        )
    );

    // An expired key, by the clock.
    let expiring = s
        .admin()
        .post(
            &format!(
                "/v1/organization/projects/{}/users/{}/api_keys",
                f.project, f.member
            ),
            json!({"name": "short", "expires_in_seconds": 60}),
        )
        .await;
    let expiring = expiring.ok()["value"].as_str().unwrap().to_owned();
    allowed(&check(&anyone, &expiring, "api.model.request").await);
    s.clock.advance(61);
    incorrect(&check(&anyone, &expiring, "api.model.request").await);
    s.stop().await;
}

#[tokio::test]
async fn a_permission_not_held_is_401_with_the_missing_scope() {
    let s = TestServer::start().await;
    let f = fixture(&s, "viewer").await;
    let anyone = s.anonymous();
    // A viewer may read models, not call them.
    allowed(&check(&anyone, &f.member_key, "api.model.read").await);
    let answer = check(&anyone, &f.member_key, "api.model.request").await;
    denied(
        &answer,
        401,
        None,
        "You have insufficient permissions for this operation. Missing scopes: api.model.request.",
    );
    assert_eq!(
        answer["api_key"]["id"],
        f.member_key_id.as_str(),
        "whose key it is, still"
    );

    // Scopes narrow a key: this one may only read models, though its owner may do more.
    let scoped = s
        .admin()
        .post(
            &format!(
                "/v1/organization/projects/{}/service_accounts/{}/api_keys",
                f.project, f.account
            ),
            json!({"name": "read-only", "scopes": ["api.model.read"]}),
        )
        .await;
    let scoped = scoped.ok()["value"].as_str().unwrap().to_owned();
    let answer = check(&anyone, &scoped, "api.model.read").await;
    allowed(&answer);
    assert_eq!(answer["permissions"], json!(["api.model.read"]));
    denied(
        &check(&anyone, &scoped, "api.responses.write").await,
        401,
        None,
        "You have insufficient permissions for this operation. Missing scopes: api.responses.write.",
    );
    s.stop().await;
}

#[tokio::test]
async fn organization_custom_and_group_roles_each_grant_and_their_removal_takes_away() {
    let s = TestServer::start().await;
    let f = fixture(&s, "viewer").await;
    let admin = s.admin();
    let anyone = s.anonymous();
    denied(
        &check(&anyone, &f.member_key, "api.model.request").await,
        401,
        None,
        "You have insufficient permissions",
    );

    // A custom project role.
    let caller = admin
        .post(
            &format!("/v1/projects/{}/roles", f.project),
            json!({"role_name": "Caller", "permissions": ["api.model.request"]}),
        )
        .await
        .id();
    let her_roles = format!("/v1/projects/{}/users/{}/roles", f.project, f.member);
    admin
        .post(&her_roles, json!({"role_id": caller}))
        .await
        .ok();
    allowed(&check(&anyone, &f.member_key, "api.model.request").await);
    admin.delete(&format!("{her_roles}/{caller}")).await.ok();
    denied(
        &check(&anyone, &f.member_key, "api.model.request").await,
        401,
        None,
        "You have insufficient permissions",
    );

    // A group's role in the project.
    let group = admin
        .post("/v1/organization/groups", json!({"name": "Callers"}))
        .await
        .id();
    admin
        .post(
            &format!("/v1/organization/groups/{group}/users"),
            json!({"user_id": f.member}),
        )
        .await
        .ok();
    let access = format!("/v1/organization/projects/{}/groups", f.project);
    admin
        .post(
            &access,
            json!({"group_id": group, "role": "role-api-project-member"}),
        )
        .await
        .ok();
    allowed(&check(&anyone, &f.member_key, "api.model.request").await);
    admin.delete(&format!("{access}/{group}")).await.ok();
    denied(
        &check(&anyone, &f.member_key, "api.model.request").await,
        401,
        None,
        "You have insufficient permissions",
    );

    // An organization role holds in every project: an organization owner may call any model.
    admin
        .post(
            &format!("/v1/organization/users/{}", f.member),
            json!({"role": "owner"}),
        )
        .await
        .ok();
    allowed(&check(&anyone, &f.member_key, "api.model.request").await);
    s.stop().await;
}

#[tokio::test]
async fn revocations_are_refused_at_once_on_the_replica_that_made_them() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let anyone = s.anonymous();

    // A deleted key.
    let f = fixture(&s, "member").await;
    allowed(&check(&anyone, &f.member_key, "api.model.request").await);
    admin
        .delete(&format!(
            "/v1/organization/projects/{}/api_keys/{}",
            f.project, f.member_key_id
        ))
        .await
        .ok();
    incorrect(&check(&anyone, &f.member_key, "api.model.request").await);

    // A removed member's keys, and a deleted service account's.
    let other = admin
        .post(
            &format!(
                "/v1/organization/projects/{}/users/{}/api_keys",
                f.project, f.member
            ),
            json!({"name": "second"}),
        )
        .await;
    let other = other.ok()["value"].as_str().unwrap().to_owned();
    allowed(&check(&anyone, &other, "api.model.request").await);
    admin
        .delete(&format!(
            "/v1/organization/projects/{}/users/{}",
            f.project, f.member
        ))
        .await
        .ok();
    incorrect(&check(&anyone, &other, "api.model.request").await);
    allowed(&check(&anyone, &f.account_key, "api.model.request").await);
    admin
        .delete(&format!(
            "/v1/organization/projects/{}/service_accounts/{}",
            f.project, f.account
        ))
        .await
        .ok();
    incorrect(&check(&anyone, &f.account_key, "api.model.request").await);

    // Every key of an archived project.
    let account = admin
        .post(
            &format!("/v1/organization/projects/{}/service_accounts", f.project),
            json!({"name": "bot-2"}),
        )
        .await;
    let key = account.ok()["api_key"]["value"]
        .as_str()
        .unwrap()
        .to_owned();
    allowed(&check(&anyone, &key, "api.model.request").await);
    admin
        .post(
            &format!("/v1/organization/projects/{}/archive", f.project),
            json!({}),
        )
        .await
        .ok();
    incorrect(&check(&anyone, &key, "api.model.request").await);
    s.stop().await;
}

#[tokio::test]
async fn a_keys_last_use_follows_its_checks() {
    let s = TestServer::start().await;
    s.clock.freeze();
    let f = fixture(&s, "member").await;
    let key = format!(
        "/v1/organization/projects/{}/api_keys/{}",
        f.project, f.member_key_id
    );
    assert_eq!(s.admin().get(&key).await.ok()["last_used_at"], Value::Null);
    allowed(&check(&s.anonymous(), &f.member_key, "api.model.request").await);
    let now = s.clock.now();
    // Written in the background, off the check's path.
    for _ in 0..100 {
        if s.admin().get(&key).await.ok()["last_used_at"] == json!(now) {
            s.stop().await;
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("last_used_at did not follow the check");
}

#[tokio::test]
async fn a_malformed_question_is_400() {
    let s = TestServer::start().await;
    let anyone = s.anonymous();
    anyone
        .post(CHECK, json!({"permission": "api.model.request"}))
        .await
        .error(400, Some("api_key"));
    anyone
        .post(
            CHECK,
            json!({"api_key": "sk-proj-x", "permission": "api.models.fly"}),
        )
        .await
        .error_mentioning(400, Some("permission"), "api.models.fly");
    anyone
        .post(
            CHECK,
            json!({"api_key": "sk-proj-x", "permission": "api.organization.write"}),
        )
        .await
        .error(400, Some("permission"));
    anyone
        .post(
            CHECK,
            json!({"api_key": "sk-proj-x", "tools": ["web_search", "teleport"]}),
        )
        .await
        .error_mentioning(400, Some("tools[1]"), "teleport");
    anyone
        .post(CHECK, json!({"api_key": 7}))
        .await
        .error(400, Some("api_key"));
    s.stop().await;
}

#[tokio::test]
async fn the_gateway_can_have_an_address_of_its_own() {
    let s = TestServer::start_with(roster::store::StoreOptions::default(), |settings| {
        settings.gateway_listen = Some("127.0.0.1:0".parse().unwrap());
    })
    .await;
    let gateway = s.gateway_root.clone().expect("a gateway address");
    let admin_api = s.root.clone();
    let client = reqwest::Client::new();
    let status = |url: String| {
        let client = client.clone();
        async move {
            client
                .post(url)
                .bearer_auth(crate::common::BOOTSTRAP_KEY)
                .json(&json!({"api_key": "sk-proj-unknown-0000000000", "name": "x"}))
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(format!("{gateway}/v1/gateway/check")).await, 200);
    assert_eq!(
        status(format!("{admin_api}/v1/gateway/check")).await,
        404,
        "not beside the Admin API"
    );
    assert_eq!(
        status(format!("{admin_api}/v1/organization/projects")).await,
        200
    );
    assert_eq!(
        status(format!("{gateway}/v1/organization/projects")).await,
        404,
        "no Admin API on the gateway's address"
    );
    s.stop().await;
}
