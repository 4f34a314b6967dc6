//! Admin API keys: the four operations, their errors, expiry, revocation and isolation.

use serde_json::json;

use crate::common::{BOOTSTRAP_KEY, TestServer, walk};

const PATH: &str = "/v1/organization/admin_api_keys";

#[tokio::test]
async fn create_shows_the_value_once_and_it_works() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let created = admin.post(PATH, json!({"name": "CI key"})).await;
    let body = created.ok().clone();
    let value = body["value"]
        .as_str()
        .expect("the value, on create")
        .to_owned();
    let id = created.id();
    assert!(id.starts_with("key_"));
    assert!(value.starts_with("sk-admin-") && value.len() >= 40);
    assert_eq!(body["object"], "organization.admin_api_key");
    assert_eq!(body["name"], "CI key");
    assert_eq!(
        body["redacted_value"],
        format!("sk-admin...{}", &value[value.len() - 4..])
    );
    assert_eq!(body["expires_at"], json!(null));
    assert_eq!(body["owner"]["type"], "user");
    assert_eq!(body["owner"]["object"], "organization.user");
    assert_eq!(body["owner"]["role"], "owner");
    assert_eq!(body["owner"]["name"], "Owner");
    assert!(body["owner"]["id"].as_str().unwrap().starts_with("user-"));

    let retrieved = admin.get(&format!("{PATH}/{id}")).await;
    assert!(
        retrieved.ok().get("value").is_none(),
        "the value is shown only on create"
    );
    assert_eq!(retrieved.ok()["redacted_value"], body["redacted_value"]);
    let listed = admin.get(PATH).await;
    assert!(
        listed.ok()["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|k| k.get("value").is_none())
    );

    // The new key is a working credential of the same organization.
    let with_new = s.with_key(&value);
    assert_eq!(
        with_new.get(&format!("{PATH}/{id}")).await.ok()["id"],
        id.as_str()
    );
    let used = admin.get(&format!("{PATH}/{id}")).await;
    assert!(
        used.ok()["last_used_at"].as_i64().is_some(),
        "last_used_at is kept"
    );
    s.stop().await;
}

#[tokio::test]
async fn list_pages_in_both_orders() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let bootstrap_id = admin.get(PATH).await.ok()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut ids = vec![bootstrap_id];
    for i in 0..24 {
        ids.push(
            admin
                .post(PATH, json!({"name": format!("k{i}")}))
                .await
                .id(),
        );
    }
    assert_eq!(walk(&admin, PATH, 10).await, ids);
    assert_eq!(walk(&admin, &format!("{PATH}?order=asc"), 3).await, ids);
    let mut descending = ids.clone();
    descending.reverse();
    assert_eq!(
        walk(&admin, &format!("{PATH}?order=desc"), 10).await,
        descending
    );
    admin
        .get(&format!("{PATH}?order=sideways"))
        .await
        .error(400, Some("order"));
    admin
        .get(&format!("{PATH}?limit=0"))
        .await
        .error(400, Some("limit"));
    admin
        .get(&format!("{PATH}?limit=101"))
        .await
        .error(400, Some("limit"));
    s.stop().await;
}

#[tokio::test]
async fn delete_revokes_at_once() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let created = admin.post(PATH, json!({"name": "short-lived"})).await;
    let (id, value) = (
        created.id(),
        created.ok()["value"].as_str().unwrap().to_owned(),
    );
    s.with_key(&value).get(PATH).await.ok();

    let deleted = admin.delete(&format!("{PATH}/{id}")).await;
    assert_eq!(
        deleted.ok(),
        &json!({"id": id, "object": "organization.admin_api_key.deleted", "deleted": true})
    );
    let refused = s.with_key(&value).get(PATH).await;
    assert_eq!(refused.error(401, None)["code"], "invalid_api_key");
    admin
        .get(&format!("{PATH}/{id}"))
        .await
        .error(404, Some("key_id"));
    admin
        .delete(&format!("{PATH}/{id}"))
        .await
        .error(404, Some("key_id"));
    s.stop().await;
}

#[tokio::test]
async fn keys_expire_when_the_clock_passes() {
    let s = TestServer::start().await;
    s.clock.freeze();
    let admin = s.admin();
    let created = admin
        .post(PATH, json!({"name": "hour", "expires_in_seconds": 3600}))
        .await;
    let body = created.ok().clone();
    assert_eq!(
        body["expires_at"].as_i64().unwrap() - body["created_at"].as_i64().unwrap(),
        3600
    );
    let value = body["value"].as_str().unwrap().to_owned();
    s.with_key(&value).get(PATH).await.ok();
    s.clock.advance(3599);
    s.with_key(&value).get(PATH).await.ok();
    s.clock.advance(1);
    assert_eq!(
        s.with_key(&value).get(PATH).await.error(401, None)["code"],
        "invalid_api_key"
    );
    admin.get(PATH).await.ok();
    s.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let admin = s.admin();
    admin.post(PATH, json!({})).await.error(400, Some("name"));
    admin
        .post(PATH, json!({"name": 7}))
        .await
        .error(400, Some("name"));
    for bad in [json!(0), json!(-5), json!(31_536_001)] {
        admin
            .post(PATH, json!({"name": "k", "expires_in_seconds": bad}))
            .await
            .error(400, Some("expires_in_seconds"));
    }
    admin
        .post(PATH, json!({"name": "k", "expires_in_seconds": "soon"}))
        .await
        .error(400, Some("expires_in_seconds"));
    admin
        .post(PATH, json!({"name": "k", "expires_in_seconds": 1.5}))
        .await
        .error(400, Some("expires_in_seconds"));
    assert_eq!(
        walk(&admin, PATH, 100).await.len(),
        1,
        "only the bootstrap key exists"
    );
    s.stop().await;
}

#[tokio::test]
async fn organizations_see_nothing_of_each_other() {
    let s = TestServer::start().await;
    let theirs_key = s.second_organization().await;
    let theirs = s.with_key(&theirs_key);
    let ours = s.admin();
    let our_keys = walk(&ours, PATH, 100).await;
    let their_keys = walk(&theirs, PATH, 100).await;
    assert_eq!(our_keys.len(), 1);
    assert_eq!(their_keys.len(), 1);
    assert_ne!(our_keys, their_keys);
    theirs
        .get(&format!("{PATH}/{}", our_keys[0]))
        .await
        .error(404, Some("key_id"));
    theirs
        .delete(&format!("{PATH}/{}", our_keys[0]))
        .await
        .error(404, Some("key_id"));
    ours.get(PATH).await.ok();
    assert_eq!(s.key, BOOTSTRAP_KEY);
    s.stop().await;
}

#[tokio::test]
async fn a_demoted_owners_admin_key_stops_working_at_once() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let (ada, her_key) = s.add_owner_with_key("ada@example.com", "Ada").await;
    let hers = s.with_key(&her_key);
    let projects = || async { walk(&admin, "/v1/organization/projects", 100).await };
    // Used once, so that this replica holds it in its key cache.
    hers.post("/v1/organization/projects", json!({"name": "By Ada"}))
        .await
        .ok();
    let before = projects().await;

    admin
        .post(
            &format!("/v1/organization/users/{ada}"),
            json!({"role": "reader"}),
        )
        .await
        .ok();
    let refused = hers
        .post(
            "/v1/organization/projects",
            json!({"name": "After demotion"}),
        )
        .await;
    let error = refused.error_mentioning(401, None, "no longer an owner");
    assert_eq!(error["code"], "invalid_api_key");
    assert_eq!(
        projects().await,
        before,
        "the refused request created nothing"
    );

    // Made owner again through the roles operations, the key works; demoted the same way, not.
    let user_roles = format!("/v1/organization/users/{ada}/roles");
    admin
        .post(
            &user_roles,
            json!({"role_id": "role-api-organization-owner"}),
        )
        .await
        .ok();
    hers.get("/v1/organization/projects").await.ok();
    admin
        .post(
            &user_roles,
            json!({"role_id": "role-api-organization-reader"}),
        )
        .await
        .ok();
    hers.get("/v1/organization/projects").await.error(401, None);
    s.stop().await;
}
