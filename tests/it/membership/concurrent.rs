//! The membership rules under concurrent requests: one membership a person, an organization that
//! keeps an owner, one user an invite, and a project's changes to different people all landing.

use super::*;

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
