//! Project users: their rules, pages over 150 members, and a project left without owners.

use super::*;

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
