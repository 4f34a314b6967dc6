//! A project's policies: model permissions, hosted tool permissions and rate limits, as the
//! contract shapes them, audited, and enforced by the gateway check.

use serde_json::{Value, json};

use crate::common::contract::conforming;
use crate::common::{TestServer, walk};

async fn check(s: &TestServer, key: &str, model: Option<&str>, tools: &[&str]) -> Value {
    let answer = s
        .anonymous()
        .post(
            "/v1/gateway/check",
            json!({"api_key": key, "model": model, "tools": tools}),
        )
        .await;
    conforming("POST", "/v1/gateway/check", &answer).clone()
}

/// The events of `event_type` about `project`, newest first.
async fn events(s: &TestServer, event_type: &str, project: &str) -> Vec<Value> {
    let page = s
        .admin()
        .get(&format!(
            "/v1/organization/audit_logs?event_types[]={event_type}&project_ids[]={project}"
        ))
        .await;
    page.ok()["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn model_permissions_allow_or_deny_models_at_the_gateway() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let bot = s.project_with_bot("Policies").await;
    let (project, key) = (bot.project, bot.key);
    let path = format!("/v1/organization/projects/{project}/model_permissions");
    let template = "/v1/organization/projects/{project_id}/model_permissions";

    let none = admin.get(&path).await;
    assert_eq!(
        conforming("GET", template, &none),
        &json!({"object": "project.model_permissions", "mode": "deny_list", "model_ids": []}),
        "a project without model permissions allows every model"
    );
    assert_eq!(check(&s, &key, Some("gpt-5"), &[]).await["allowed"], true);

    let allow = admin
        .post(
            &path,
            json!({"mode": "allow_list", "model_ids": ["gpt-4o", "o3", "gpt-4o"]}),
        )
        .await;
    assert_eq!(
        conforming("POST", template, &allow),
        &json!({"object": "project.model_permissions", "mode": "allow_list", "model_ids": ["gpt-4o", "o3"]})
    );
    assert_eq!(admin.get(&path).await.ok(), allow.ok());
    assert_eq!(check(&s, &key, Some("o3"), &[]).await["allowed"], true);
    assert_eq!(
        check(&s, &key, None, &[]).await["allowed"],
        true,
        "no model, no model check"
    );
    let denied = check(&s, &key, Some("gpt-5"), &[]).await;
    assert_eq!(denied["allowed"], false);
    assert_eq!(denied["status"], 403);
    assert_eq!(
        denied["error"],
        json!({"message": format!("Project `{project}` does not have access to model `gpt-5`"),
               "type": "invalid_request_error", "param": null, "code": "model_not_found"})
    );

    admin
        .post(&path, json!({"mode": "deny_list", "model_ids": ["gpt-5"]}))
        .await
        .ok();
    assert_eq!(check(&s, &key, Some("gpt-5"), &[]).await["status"], 403);
    assert_eq!(check(&s, &key, Some("gpt-4o"), &[]).await["allowed"], true);

    let deleted = admin.delete(&path).await;
    assert_eq!(
        conforming("DELETE", template, &deleted),
        &json!({"object": "project.model_permissions.deleted", "deleted": true})
    );
    assert_eq!(admin.get(&path).await.ok()["model_ids"], json!([]));
    assert_eq!(check(&s, &key, Some("gpt-5"), &[]).await["allowed"], true);

    // Each change is a project.updated event of the project, newest first.
    let changes: Vec<Value> = events(&s, "project.updated", &project)
        .await
        .iter()
        .map(|e| e["project.updated"]["changes_requested"]["model_permissions"].clone())
        .collect();
    assert_eq!(
        changes,
        vec![
            Value::Null,
            json!({"mode": "deny_list", "model_ids": ["gpt-5"]}),
            json!({"mode": "allow_list", "model_ids": ["gpt-4o", "o3"]}),
        ]
    );

    // Refusals change nothing.
    let before = events(&s, "project.updated", &project).await.len();
    admin
        .post(&path, json!({"mode": "sometimes", "model_ids": []}))
        .await
        .error(400, Some("mode"));
    admin
        .post(&path, json!({"mode": "allow_list"}))
        .await
        .error(400, Some("model_ids"));
    admin
        .post(
            &path,
            json!({"mode": "allow_list", "model_ids": ["gpt-4o", " "]}),
        )
        .await
        .error(400, Some("model_ids[1]"));
    admin
        .get("/v1/organization/projects/proj_nope/model_permissions")
        .await
        .error(404, Some("project_id"));
    s.archive_project(&project).await;
    admin
        .post(&path, json!({"mode": "allow_list", "model_ids": ["o3"]}))
        .await
        .error_mentioning(400, None, "archived");
    assert_eq!(admin.get(&path).await.ok()["model_ids"], json!([]));
    assert_eq!(events(&s, "project.updated", &project).await.len(), before);
    s.stop().await;
}

#[tokio::test]
async fn hosted_tools_can_be_turned_off_and_on() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let bot = s.project_with_bot("Policies").await;
    let (project, key) = (bot.project, bot.key);
    let path = format!("/v1/organization/projects/{project}/hosted_tool_permissions");
    let template = "/v1/organization/projects/{project_id}/hosted_tool_permissions";
    let all_on = json!({
        "file_search": {"enabled": true}, "web_search": {"enabled": true},
        "image_generation": {"enabled": true}, "mcp": {"enabled": true},
        "code_interpreter": {"enabled": true}
    });
    assert_eq!(
        conforming("GET", template, &admin.get(&path).await),
        &all_on
    );

    let updated = admin
        .post(
            &path,
            json!({"web_search": {"enabled": false}, "mcp": null}),
        )
        .await;
    let mut expected = all_on.clone();
    expected["web_search"]["enabled"] = json!(false);
    assert_eq!(conforming("POST", template, &updated), &expected);
    assert_eq!(admin.get(&path).await.ok(), &expected);

    let denied = check(&s, &key, Some("gpt-4o"), &["mcp", "web_search"]).await;
    assert_eq!(
        (denied["allowed"].clone(), denied["status"].clone()),
        (json!(false), json!(403))
    );
    assert_eq!(
        denied["error"]["message"],
        format!(
            "The hosted tool `web_search` is disabled for project `{project}`; an owner of the \
             project can enable it in its hosted tool permissions."
        )
    );
    assert_eq!(
        check(&s, &key, Some("gpt-4o"), &["mcp"]).await["allowed"],
        true
    );

    admin
        .post(&path, json!({"web_search": {"enabled": "no"}}))
        .await
        .error(400, Some("web_search.enabled"));
    assert_eq!(
        admin.get(&path).await.ok(),
        &expected,
        "the refusal changed nothing"
    );
    admin
        .post(&path, json!({"web_search": {"enabled": true}}))
        .await
        .ok();
    assert_eq!(admin.get(&path).await.ok(), &all_on);
    assert_eq!(
        check(&s, &key, None, &["web_search"]).await["allowed"],
        true
    );
    let changes = events(&s, "project.updated", &project).await;
    assert_eq!(
        changes[1]["project.updated"]["changes_requested"]["hosted_tool_permissions"],
        json!({"web_search": {"enabled": false}})
    );
    s.stop().await;
}

#[tokio::test]
async fn rate_limits_per_model_within_the_organizations() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let bot = s.project_with_bot("Policies").await;
    let (project, key) = (bot.project, bot.key);
    let path = format!("/v1/organization/projects/{project}/rate_limits");
    let template = "/v1/organization/projects/{project_id}/rate_limits";

    let first = admin.get(&format!("{path}?limit=3")).await;
    let first = conforming("GET", template, &first);
    assert_eq!(first["object"], "list");
    assert_eq!(first["data"].as_array().unwrap().len(), 3);
    assert_eq!(first["has_more"], true);
    let ids = walk(&admin, &path, 4).await;
    assert!(ids.contains(&"rl-gpt-4o".to_owned()), "{ids:?}");
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "in id order: {ids:?}");
    let earlier = admin
        .get(&format!("{path}?before={}&limit=2", ids[3]))
        .await;
    let earlier: Vec<&str> = earlier.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(earlier, [ids[1].as_str(), ids[2].as_str()]);

    let gpt_4o = |listed: &Value| {
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["id"] == "rl-gpt-4o")
            .cloned()
            .unwrap()
    };
    let organization = gpt_4o(admin.get(&format!("{path}?limit=100")).await.ok());
    assert_eq!(organization["object"], "project.rate_limit");
    assert_eq!(organization["model"], "gpt-4o");
    let ceiling = organization["max_requests_per_1_minute"].as_i64().unwrap();

    let update = format!("{path}/rl-gpt-4o");
    let updated = admin
        .post(&update, json!({"max_requests_per_1_minute": 100}))
        .await;
    let updated = conforming(
        "POST",
        "/v1/organization/projects/{project_id}/rate_limits/{rate_limit_id}",
        &updated,
    );
    assert_eq!(updated["max_requests_per_1_minute"], 100);
    assert_eq!(
        updated["max_tokens_per_1_minute"], organization["max_tokens_per_1_minute"],
        "what was not set stays the organization's"
    );
    assert_eq!(
        &gpt_4o(admin.get(&format!("{path}?limit=100")).await.ok()),
        updated
    );
    let answer = check(&s, &key, Some("gpt-4o"), &[]).await;
    assert_eq!(
        &answer["rate_limit"], updated,
        "the gateway learns the project's limit"
    );
    assert_eq!(
        check(&s, &key, Some("a-model-nobody-knows"), &[]).await["rate_limit"],
        Value::Null
    );

    let events_before = events(&s, "rate_limit.updated", &project).await;
    assert_eq!(
        events_before[0]["rate_limit.updated"],
        json!({"id": "rl-gpt-4o", "changes_requested": {"max_requests_per_1_minute": 100}})
    );
    admin
        .post(&update, json!({"max_requests_per_1_minute": ceiling + 1}))
        .await
        .error_mentioning(
            400,
            Some("max_requests_per_1_minute"),
            "organization's limit",
        );
    admin
        .post(&update, json!({"max_tokens_per_1_minute": 0}))
        .await
        .error(400, Some("max_tokens_per_1_minute"));
    admin
        .post(&update, json!({"max_images_per_1_minute": 1}))
        .await
        .error(400, Some("max_images_per_1_minute"));
    admin
        .post(
            &format!("{path}/rl-nope"),
            json!({"max_requests_per_1_minute": 1}),
        )
        .await
        .error(404, Some("rate_limit_id"));
    admin
        .get("/v1/organization/projects/proj_nope/rate_limits")
        .await
        .error(404, Some("project_id"));
    assert_eq!(
        &gpt_4o(admin.get(&format!("{path}?limit=100")).await.ok()),
        updated,
        "refusals changed nothing"
    );
    assert_eq!(
        events(&s, "rate_limit.updated", &project).await.len(),
        events_before.len()
    );
    s.stop().await;
}

#[tokio::test]
async fn a_policy_change_reaches_the_gateway_at_once() {
    let s = TestServer::start().await;
    let bot = s.project_with_bot("Policies").await;
    let (project, key) = (bot.project, bot.key);
    // Cached on this replica by the first check; the change clears it.
    assert_eq!(check(&s, &key, Some("o3"), &[]).await["allowed"], true);
    s.admin()
        .post(
            &format!("/v1/organization/projects/{project}/model_permissions"),
            json!({"mode": "allow_list", "model_ids": ["gpt-4o"]}),
        )
        .await
        .ok();
    assert_eq!(check(&s, &key, Some("o3"), &[]).await["status"], 403);
    s.stop().await;
}
