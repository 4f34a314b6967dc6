//! Invites, organization users and project users: the flow from invite to removal, each rule,
//! and the rules under concurrent requests.

use futures_util::future::join_all;
use serde_json::json;

use crate::common::{TestServer, walk};

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

#[tokio::test]
async fn invite_projects_default_and_empty() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let default = admin
        .post(INVITES, json!({"email": "d@example.com", "role": "owner"}))
        .await;
    assert_eq!(
        default.ok()["projects"],
        json!([{"id": s.default_project_id, "role": "member"}])
    );
    let none = admin
        .post(
            INVITES,
            json!({"email": "n@example.com", "role": "reader", "projects": []}),
        )
        .await;
    assert_eq!(none.ok()["projects"], json!([]));
    let token = s.invite_token("n@example.com").await.unwrap();
    let user = s
        .anonymous()
        .post(&accept_path(&token), json!({"name": "N"}))
        .await
        .id();
    let default_members = walk(
        &admin,
        &format!("/v1/organization/projects/{}/users", s.default_project_id),
        10,
    )
    .await;
    assert!(
        !default_members.contains(&user),
        "an empty project list joins no project"
    );
    s.stop().await;
}

#[tokio::test]
async fn invite_errors() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let archived = s.add_project("Old").await;
    s.archive_project(&archived).await;
    let active = s.add_project("New").await;

    admin
        .post(
            INVITES,
            json!({"email": "not-an-address", "role": "reader"}),
        )
        .await
        .error(400, Some("email"));
    admin
        .post(INVITES, json!({"role": "reader"}))
        .await
        .error(400, Some("email"));
    admin
        .post(INVITES, json!({"email": "a@example.com", "role": "admin"}))
        .await
        .error(400, Some("role"));
    admin
        .post(INVITES, json!({"email": "a@example.com", "role": "reader", "projects": [{"id": active, "role": "member"}, {"id": "proj_nope", "role": "member"}]}))
        .await
        .error(400, Some("projects[1].id"));
    admin
        .post(INVITES, json!({"email": "a@example.com", "role": "reader", "projects": [{"id": archived, "role": "member"}]}))
        .await
        .error(400, Some("projects[0].id"));
    admin
        .post(INVITES, json!({"email": "a@example.com", "role": "reader", "projects": [{"id": active, "role": "boss"}]}))
        .await
        .error(400, Some("projects[0].role"));
    admin
        .post(
            INVITES,
            json!({"email": "owner@example.com", "role": "reader"}),
        )
        .await
        .error(400, Some("email"));
    assert_eq!(
        walk(&admin, INVITES, 10).await.len(),
        0,
        "no refused invite was stored"
    );
    assert!(
        s.invite_token("a@example.com").await.is_none(),
        "and none was mailed"
    );

    admin
        .post(INVITES, json!({"email": "a@example.com", "role": "reader"}))
        .await
        .ok();
    let second = admin
        .post(INVITES, json!({"email": "A@example.com", "role": "owner"}))
        .await;
    second.error_mentioning(400, Some("email"), "pending");
    admin
        .get(&format!("{INVITES}/invite-nope"))
        .await
        .error(404, Some("invite_id"));
    s.stop().await;
}

#[tokio::test]
async fn deleting_and_expiring_invites() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let id = admin
        .post(INVITES, json!({"email": "b@example.com", "role": "reader"}))
        .await
        .id();
    let token = s.invite_token("b@example.com").await.unwrap();
    let deleted = admin.delete(&format!("{INVITES}/{id}")).await;
    assert_eq!(
        deleted.ok(),
        &json!({"object": "organization.invite.deleted", "id": id, "deleted": true})
    );
    s.anonymous()
        .post(&accept_path(&token), json!({"name": "B"}))
        .await
        .error(404, Some("token"));
    admin
        .get(&format!("{INVITES}/{id}"))
        .await
        .error(404, Some("invite_id"));

    // A new invite once the first is gone; it expires when the clock passes expires_at.
    let id = admin
        .post(INVITES, json!({"email": "b@example.com", "role": "reader"}))
        .await
        .id();
    let token = s.invite_token("b@example.com").await.unwrap();
    s.clock.advance(7 * 24 * 3600);
    assert_eq!(
        admin.get(&format!("{INVITES}/{id}")).await.ok()["status"],
        "expired"
    );
    let expired = s
        .anonymous()
        .post(&accept_path(&token), json!({"name": "B"}))
        .await;
    assert_eq!(expired.error(400, None)["code"], "invite_expired");
    // An expired invite no longer holds the address.
    let again = admin
        .post(INVITES, json!({"email": "b@example.com", "role": "reader"}))
        .await
        .id();
    let token = s.invite_token("b@example.com").await.unwrap();
    s.anonymous()
        .post(&accept_path(&token), json!({"name": "B"}))
        .await
        .ok();
    admin
        .delete(&format!("{INVITES}/{again}"))
        .await
        .error(400, None);
    assert_eq!(
        admin.get(&format!("{INVITES}/{again}")).await.ok()["status"],
        "accepted"
    );
    s.stop().await;
}

#[tokio::test]
async fn acceptance_errors_and_the_form() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let project = admin
        .post(
            "/v1/organization/projects",
            json!({"name": "Soon archived"}),
        )
        .await
        .id();
    admin.post(INVITES, json!({"email": "c@example.com", "role": "owner", "projects": [{"id": project, "role": "owner"}]})).await.ok();
    let token = s.invite_token("c@example.com").await.unwrap();
    s.anonymous()
        .post(&accept_path("inv-unknown"), json!({"name": "C"}))
        .await
        .error(404, Some("token"));
    s.anonymous()
        .post(&accept_path(&token), json!({"name": "  "}))
        .await
        .error(400, Some("name"));
    s.anonymous()
        .post(&accept_path(&token), json!({}))
        .await
        .error(400, Some("name"));
    s.archive_project(&project).await;

    let form = reqwest::Client::new()
        .post(format!("{}/invite/{token}", s.root))
        .form(&[("name", "Carol <b>")])
        .send()
        .await
        .unwrap();
    assert_eq!(form.status().as_u16(), 200);
    let welcome = form.text().await.unwrap();
    assert!(
        welcome.contains("Carol &#60;b&#62;") && !welcome.contains("Carol <b>"),
        "names are escaped: {welcome}"
    );
    let users = admin
        .get("/v1/organization/users?emails=c@example.com")
        .await;
    assert_eq!(users.ok()["data"][0]["role"], "owner");
    assert_eq!(users.ok()["data"][0]["name"], "Carol <b>");
    let again = reqwest::get(format!("{}/invite/{token}", s.root))
        .await
        .unwrap();
    assert_eq!(again.status().as_u16(), 410, "a used link is gone");
    s.stop().await;
}

#[tokio::test]
async fn organization_users_and_the_last_owner() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let owner_id = admin.get("/v1/organization/users").await.ok()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    let bob = s.add_user("bob@example.com", "reader", "Bob").await;

    assert_eq!(
        walk(&admin, "/v1/organization/users", 2).await,
        vec![owner_id.clone(), ada.clone(), bob.clone()]
    );
    let filtered = admin
        .get("/v1/organization/users?emails=bob@example.com&emails=ADA@example.com")
        .await;
    let ids: Vec<&str> = filtered.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![ada.as_str(), bob.as_str()]);
    admin
        .post(
            &format!("/v1/organization/users/{ada}"),
            json!({"role": "admin"}),
        )
        .await
        .error(400, Some("role"));
    admin
        .post(&format!("/v1/organization/users/{ada}"), json!({}))
        .await
        .error(400, Some("role"));
    admin
        .get("/v1/organization/users/user-nope")
        .await
        .error(404, Some("user_id"));

    admin
        .post(
            &format!("/v1/organization/users/{owner_id}"),
            json!({"role": "reader"}),
        )
        .await
        .error(400, None);
    admin
        .delete(&format!("/v1/organization/users/{owner_id}"))
        .await
        .error(400, None);
    assert_eq!(
        admin
            .get(&format!("/v1/organization/users/{owner_id}"))
            .await
            .ok()["role"],
        "owner"
    );

    assert_eq!(
        admin
            .post(
                &format!("/v1/organization/users/{ada}"),
                json!({"role": "owner"})
            )
            .await
            .ok()["role"],
        "owner"
    );
    // Ada, now the other owner, acts with a key of her own: the demoted owner's key stops working.
    let (_, ada_key) = s
        .store
        .create_admin_key(&s.cli_author(), &ada, Some("Ada's key"), None)
        .await
        .unwrap();
    assert_eq!(
        admin
            .post(
                &format!("/v1/organization/users/{owner_id}"),
                json!({"role": "reader"})
            )
            .await
            .ok()["role"],
        "reader"
    );
    s.with_key(&ada_key)
        .post(
            &format!("/v1/organization/users/{ada}"),
            json!({"role": "reader"}),
        )
        .await
        .error(400, None);
    assert_eq!(
        s.with_key(&ada_key)
            .get(&format!("/v1/organization/users/{ada}"))
            .await
            .ok()["role"],
        "owner",
        "the refused demotion changed nothing"
    );
    s.stop().await;
}

#[tokio::test]
async fn deleting_a_user_revokes_her_admin_keys() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let (ada, her_key) = s.add_owner_with_key("ada@example.com", "Ada").await;
    assert_eq!(
        s.with_key(&her_key)
            .get("/v1/organization/users")
            .await
            .status,
        200
    );
    admin
        .delete(&format!("/v1/organization/users/{ada}"))
        .await
        .ok();
    assert_eq!(
        s.with_key(&her_key)
            .get("/v1/organization/users")
            .await
            .error(401, None)["code"],
        "invalid_api_key"
    );
    s.stop().await;
}

#[tokio::test]
async fn project_user_rules() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    let project = s.add_project("P").await;
    let users = format!("/v1/organization/projects/{project}/users");

    admin
        .post(&users, json!({"role": "member"}))
        .await
        .error(400, Some("user_id"));
    admin
        .post(&users, json!({"user_id": ada, "role": "boss"}))
        .await
        .error(400, Some("role"));
    admin
        .post(&users, json!({"user_id": ada}))
        .await
        .error(400, Some("role"));
    let stranger = admin
        .post(
            &users,
            json!({"email": "stranger@example.com", "role": "member"}),
        )
        .await;
    stranger.error_mentioning(
        400,
        Some("email"),
        "must already be members of the organization",
    );
    admin
        .post(&users, json!({"user_id": "user-nope", "role": "member"}))
        .await
        .error(400, Some("user_id"));
    admin
        .post(
            &users,
            json!({"user_id": ada, "email": "owner@example.com", "role": "member"}),
        )
        .await
        .error(400, Some("email"));
    assert_eq!(
        walk(&admin, &users, 10).await.len(),
        0,
        "refusals added no one"
    );

    let added = admin
        .post(
            &users,
            json!({"user_id": ada, "email": "ADA@example.com", "role": "owner"}),
        )
        .await;
    assert_eq!(added.ok()["object"], "organization.project.user");
    assert_eq!(added.ok()["email"], "ada@example.com");
    admin
        .post(&users, json!({"user_id": ada, "role": "member"}))
        .await
        .error(400, Some("user_id"));
    admin
        .post(&format!("{users}/{ada}"), json!({"role": "reader"}))
        .await
        .error(400, Some("role"));
    // Ada is the project's only owner; as in the real service, she can still be demoted (the
    // organization's owners administer the project).
    let demoted = admin
        .post(&format!("{users}/{ada}"), json!({"role": "member"}))
        .await;
    assert_eq!(demoted.ok()["role"], "member");
    let owner_id = s.owner_id().await;
    admin
        .get(&format!("{users}/{owner_id}"))
        .await
        .error(404, Some("user_id"));
    admin
        .delete(&format!("{users}/{owner_id}"))
        .await
        .error(404, Some("user_id"));
    admin
        .get("/v1/organization/projects/proj_nope/users")
        .await
        .error(404, Some("project_id"));

    s.archive_project(&project).await;
    for response in [
        admin.get(&users).await,
        admin
            .post(&users, json!({"user_id": owner_id, "role": "member"}))
            .await,
        admin.get(&format!("{users}/{ada}")).await,
        admin
            .post(&format!("{users}/{ada}"), json!({"role": "member"}))
            .await,
        admin.delete(&format!("{users}/{ada}")).await,
    ] {
        response.error_mentioning(400, None, "archived");
    }
    s.stop().await;
}

#[tokio::test]
async fn pagination_over_150_project_members() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let project = s.add_project("Big").await;
    let users = format!("/v1/organization/projects/{project}/users");
    let mut added = Vec::new();
    for i in 0..150 {
        let id = s
            .add_user(&format!("u{i}@example.com"), "reader", &format!("U{i}"))
            .await;
        added.push(id);
    }
    // Added in an order other than the users' own.
    added.reverse();
    for id in &added {
        s.add_member(&project, id, "member").await;
    }
    for limit in [100, 7] {
        assert_eq!(
            walk(&admin, &users, limit).await,
            added,
            "limit {limit}: in the order added"
        );
    }
    assert_eq!(
        admin.get(&users).await.ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    admin
        .get(&format!("{users}?limit=101"))
        .await
        .error(400, Some("limit"));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn rules_hold_under_concurrent_requests() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let (ada, ada_key) = s.add_owner_with_key("ada@example.com", "Ada").await;
    let project = s.add_project("P").await;
    let users = format!("/v1/organization/projects/{project}/users");

    let adds =
        join_all((0..8).map(|_| admin.post(&users, json!({"user_id": ada, "role": "member"}))))
            .await;
    assert_eq!(
        adds.iter().filter(|r| r.status == 200).count(),
        1,
        "one membership"
    );
    assert!(adds.iter().all(|r| r.status == 200 || r.status == 400));
    assert_eq!(walk(&admin, &users, 10).await, vec![ada.clone()]);

    // The two owners demote each other at once: one owner remains, and from then on only her
    // admin key works (the other's owner is no longer an owner).
    let owner_id = s.owner_id().await;
    let paths = [&owner_id, &ada].map(|id| format!("/v1/organization/users/{id}"));
    let demotions = join_all(
        paths
            .iter()
            .map(|path| admin.post(path, json!({"role": "reader"}))),
    )
    .await;
    let statuses: Vec<u16> = demotions.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    let admin = if statuses[0] == 200 {
        s.with_key(&ada_key)
    } else {
        s.admin()
    };
    let owners = walk(&admin, "/v1/organization/users", 10).await;
    let mut owner_count = 0;
    for id in owners {
        owner_count += usize::from(
            admin
                .get(&format!("/v1/organization/users/{id}"))
                .await
                .ok()["role"]
                == "owner",
        );
    }
    assert_eq!(owner_count, 1);

    // One token, many simultaneous acceptances: one user.
    admin
        .post(
            INVITES,
            json!({"email": "race@example.com", "role": "reader"}),
        )
        .await
        .ok();
    let token = s.invite_token("race@example.com").await.unwrap();
    let (anonymous, path) = (s.anonymous(), accept_path(&token));
    let accepts =
        join_all((0..6).map(|i| anonymous.post(&path, json!({"name": format!("R{i}")})))).await;
    assert_eq!(accepts.iter().filter(|r| r.status == 200).count(), 1);
    assert_eq!(
        admin
            .get("/v1/organization/users?emails=race@example.com")
            .await
            .ok()["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Simultaneous invites of one address: `concurrency::simultaneous_invites_*`.
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn project_rules_hold_under_concurrent_requests() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let project = s.add_project("P").await;
    let users = format!("/v1/organization/projects/{project}/users");
    let mut people = Vec::new();
    for i in 0..8 {
        let email = format!("u{i}@example.com");
        people.push(s.add_user(&email, "reader", &format!("U{i}")).await);
    }

    // Additions of different people share the project: all of them land.
    let adds = join_all(
        people
            .iter()
            .map(|id| admin.post(&users, json!({"user_id": id, "role": "owner"}))),
    )
    .await;
    let statuses: Vec<u16> = adds.iter().map(|r| r.status).collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let mut listed = walk(&admin, &users, 3).await;
    listed.sort();
    let mut expected = people.clone();
    expected.sort();
    assert_eq!(listed, expected);

    // Six owners removed and two demoted at once: every change lands, and the project is left
    // without owners, as the real service allows (the organization's owners administer it).
    let paths: Vec<String> = people.iter().map(|id| format!("{users}/{id}")).collect();
    let (removed, demoted) = paths.split_at(6);
    let removals = removed.iter().map(|path| admin.delete(path));
    let demotions = demoted
        .iter()
        .map(|path| admin.post(path, json!({"role": "member"})));
    let (removals, demotions) =
        futures_util::future::join(join_all(removals), join_all(demotions)).await;
    let statuses: Vec<u16> = removals
        .iter()
        .chain(&demotions)
        .map(|r| r.status)
        .collect();
    assert!(statuses.iter().all(|&s| s == 200), "{statuses:?}");
    let left = walk(&admin, &users, 10).await;
    assert_eq!(left.len(), 2, "the two demoted stay");
    for id in left {
        assert_eq!(
            admin.get(&format!("{users}/{id}")).await.ok()["role"],
            "member"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn only_addresses_the_mailer_can_send_to_are_invited() {
    let s = TestServer::start().await;
    let admin = s.admin();
    for odd in [
        "a..b@x.test",
        ".a@x.test",
        "a.@x.test",
        "a@-x.test",
        "a@x..test",
        "a@[127.0.0.1]",
        "a@127.0.0.1",
        "a(comment)@x.test",
        "a,b@x.test",
        "\"a b\"@x.test",
        "Ada <a@x.test>",
        "a@x.test.",
    ] {
        let refused = admin
            .post(INVITES, json!({"email": odd, "role": "reader"}))
            .await;
        refused.error_mentioning(400, Some("email"), "is not a valid email address");
    }
    assert_eq!(walk(&admin, INVITES, 100).await, Vec::<String>::new());
    // A plain address is invited, and its email is written.
    admin
        .post(
            INVITES,
            json!({"email": "a.b+tag@x-y.test", "role": "reader"}),
        )
        .await
        .ok();
    assert!(s.invite_token("a.b+tag@x-y.test").await.is_some());
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

/// The real service has no rule that a project keeps an owner (organization owners administer
/// every project): its last owner can be demoted and removed.
#[tokio::test]
async fn a_project_can_be_left_without_owners() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let project = s.add_project("Ownerless").await;
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    let bob = s.add_user("bob@example.com", "reader", "Bob").await;
    s.add_member(&project, &ada, "owner").await;
    s.add_member(&project, &bob, "owner").await;
    let users = format!("/v1/organization/projects/{project}/users");
    let demoted = admin
        .post(&format!("{users}/{ada}"), json!({"role": "member"}))
        .await;
    assert_eq!(demoted.ok()["role"], "member");
    admin.delete(&format!("{users}/{bob}")).await.ok();
    let left = walk(&admin, &users, 10).await;
    assert_eq!(left, std::slice::from_ref(&ada));
    assert_eq!(
        admin.get(&format!("{users}/{ada}")).await.ok()["role"],
        "member",
        "no owner left"
    );
    s.stop().await;
}
