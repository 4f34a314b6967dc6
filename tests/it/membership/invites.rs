//! Invites: their projects, their refusals, deletion and expiry, acceptance and its form, and
//! the addresses the mailer can send to.

use super::*;

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
