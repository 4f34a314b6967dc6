//! Invites, organization users and project users: the flow from invite to removal and the real
//! service's words here; each rule beside it (`invites`, `users`, `project_users`), and the rules
//! under concurrent requests (`concurrent`).

use futures_util::future::join_all;
use serde_json::json;

use crate::common::{TestServer, walk};

mod concurrent;
mod invites;
mod project_users;
mod users;

const INVITES: &str = "/v1/organization/invites";

fn accept_path(token: &str) -> String {
    format!("/v1/invites/{token}/accept")
}

#[tokio::test]
async fn the_whole_flow_from_invite_to_removal() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let gateway = s.add_project("Gateway").await;

    let invite = admin
        .post(INVITES, json!({"email": "Ada@Example.com", "role": "reader", "projects": [{"id": gateway, "role": "member"}]}))
        .await;
    let body = invite.ok().clone();
    let invite_id = invite.id();
    assert!(invite_id.starts_with("invite-"));
    assert_eq!(body["object"], "organization.invite");
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["status"], "pending");
    assert_eq!(body["accepted_at"], json!(null));
    assert_eq!(
        body["expires_at"].as_i64().unwrap() - body["created_at"].as_i64().unwrap(),
        7 * 24 * 3600
    );
    assert_eq!(body["projects"], json!([{"id": gateway, "role": "member"}]));
    // Both generations of the invite object: the reference's `invited_at` is `created_at`.
    assert_eq!(body["invited_at"], body["created_at"]);

    let token = s
        .invite_token("ada@example.com")
        .await
        .expect("the invite was mailed");
    let page = reqwest::get(format!("{}/invite/{token}", s.root))
        .await
        .unwrap();
    assert_eq!(page.status().as_u16(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Test Organization")
            && html.contains("ada@example.com")
            && html.contains("<form"),
        "{html}"
    );

    let accepted = s
        .anonymous()
        .post(&accept_path(&token), json!({"name": "Ada Lovelace"}))
        .await;
    let ada = accepted.ok().clone();
    assert_eq!(ada["object"], "organization.user");
    assert_eq!(
        (
            ada["name"].as_str(),
            ada["email"].as_str(),
            ada["role"].as_str()
        ),
        (
            Some("Ada Lovelace"),
            Some("ada@example.com"),
            Some("reader")
        )
    );
    let ada_id = accepted.id();
    s.anonymous()
        .post(&accept_path(&token), json!({"name": "Again"}))
        .await
        .error(404, Some("token"));

    let after = admin.get(&format!("{INVITES}/{invite_id}")).await;
    assert_eq!(after.ok()["status"], "accepted");
    assert_eq!(after.ok()["invited_at"], body["created_at"]);
    let listed = admin.get(INVITES).await;
    assert!(
        listed.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["invited_at"] == i["created_at"] && i["invited_at"].is_i64())
    );
    assert!(after.ok()["accepted_at"].as_i64().is_some());
    assert_eq!(
        admin
            .get(&format!("/v1/organization/users/{ada_id}"))
            .await
            .ok(),
        &ada
    );
    let members = admin
        .get(&format!("/v1/organization/projects/{gateway}/users"))
        .await;
    assert_eq!(members.ok()["data"][0]["id"], ada_id.as_str());
    assert_eq!(members.ok()["data"][0]["name"], "Ada Lovelace");
    assert_eq!(members.ok()["data"][0]["role"], "member");

    let path = format!("/v1/organization/projects/{gateway}/users/{ada_id}");
    assert_eq!(
        admin.post(&path, json!({"role": "owner"})).await.ok()["role"],
        "owner"
    );
    assert_eq!(admin.get(&path).await.ok()["role"], "owner");
    // She is now the project's only owner, and can still be removed.
    let removed = admin.delete(&path).await;
    assert_eq!(
        removed.ok(),
        &json!({"object": "organization.project.user.deleted", "id": ada_id, "deleted": true})
    );
    admin.get(&path).await.error(404, Some("user_id"));
    let readded = admin
        .post(
            &format!("/v1/organization/projects/{gateway}/users"),
            json!({"email": "ada@example.com", "role": "member"}),
        )
        .await;
    assert_eq!(readded.ok()["id"], ada_id.as_str());

    let deleted = admin
        .delete(&format!("/v1/organization/users/{ada_id}"))
        .await;
    assert_eq!(
        deleted.ok(),
        &json!({"object": "organization.user.deleted", "id": ada_id, "deleted": true})
    );
    admin
        .get(&format!("/v1/organization/users/{ada_id}"))
        .await
        .error(404, Some("user_id"));
    assert_eq!(
        walk(
            &admin,
            &format!("/v1/organization/projects/{gateway}/users"),
            10
        )
        .await,
        Vec::<String>::new(),
        "her membership went with her"
    );
    s.stop().await;
}

/// Where tools match on the real service's words, Roster answers with them: 400
/// `invalid_request_error` (never 409), the phrase, and for an archived project its code.
#[tokio::test]
async fn refusals_carry_the_real_services_words() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    let project = s.add_project("Words").await;
    let says = |response: &crate::common::Resp, param: Option<&str>, words: &str| {
        let error = response.error_mentioning(400, param, words);
        assert_eq!(error["type"], "invalid_request_error", "{}", response.body);
    };

    let again = admin
        .post(
            INVITES,
            json!({"email": "ada@example.com", "role": "reader"}),
        )
        .await;
    says(&again, Some("email"), "already exists in this organization");

    s.add_member(&project, &ada, "member").await;
    let twice = admin
        .post(
            &format!("/v1/organization/projects/{project}/users"),
            json!({"user_id": ada, "role": "member"}),
        )
        .await;
    says(&twice, Some("user_id"), "already exists in project");
    let group = admin
        .post("/v1/organization/groups", json!({"name": "Eng"}))
        .await
        .id();
    let groups = format!("/v1/organization/projects/{project}/groups");
    let access = json!({"group_id": group, "role": "role-api-project-member"});
    admin.post(&groups, access.clone()).await.ok();
    says(
        &admin.post(&groups, access).await,
        Some("group_id"),
        "already exists in project",
    );

    let invites = admin.get(&format!("{INVITES}?limit=100")).await;
    let accepted = invites.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["email"] == "ada@example.com")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    says(
        &admin.delete(&format!("{INVITES}/{accepted}")).await,
        None,
        "already accepted",
    );

    s.add_member(&s.default_project_id, &ada, "member").await;
    let default_member = format!(
        "/v1/organization/projects/{}/users/{ada}",
        s.default_project_id
    );
    says(
        &admin.delete(&default_member).await,
        None,
        "Users cannot be removed from the Default project, unless they are being removed from the organization",
    );
    admin.get(&default_member).await.ok();

    s.archive_project(&project).await;
    for refused in [
        admin
            .post(
                &format!("/v1/organization/projects/{project}"),
                json!({"name": "Renamed"}),
            )
            .await,
        admin
            .post(
                &format!("/v1/organization/projects/{project}/users/{ada}"),
                json!({"role": "owner"}),
            )
            .await,
    ] {
        says(
            &refused,
            None,
            &format!("Project '{project}' is archived. You can only update an active project."),
        );
        assert_eq!(refused.body["error"]["code"], "project_archived");
    }
    s.stop().await;
}
