//! Organization users: roles, the last owner, and the admin keys that go with a deleted user.

use super::*;

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
