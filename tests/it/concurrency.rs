//! Correctness under concurrent requests, on whichever backend the suite runs.

use std::collections::HashSet;

use futures_util::future::join_all;
use roster::domain::Clock;
use roster::domain::organization::NewOrganization;
use roster::store::{Store, StoreOptions};
use serde_json::json;

use crate::common::{Outside, Resp, TestDatabase, TestServer, walk};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_never_skip_or_repeat_while_writers_insert() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let mut existing = vec![s.default_project_id.clone()];
    for i in 0..60 {
        existing.push(
            admin
                .post(
                    "/v1/organization/projects",
                    json!({"name": format!("before {i}")}),
                )
                .await
                .id(),
        );
    }
    let writers = async {
        let mut created = Vec::new();
        for round in 0..20 {
            let batch = (0..4).map(|w| {
                admin.post(
                    "/v1/organization/projects",
                    json!({"name": format!("during {round}.{w}")}),
                )
            });
            for response in join_all(batch).await {
                created.push(response.id());
            }
        }
        created
    };
    let (walked, _) = tokio::join!(walk(&admin, "/v1/organization/projects", 3), writers);
    let unique: HashSet<&String> = walked.iter().collect();
    assert_eq!(unique.len(), walked.len(), "no row is repeated");
    assert!(walked.windows(2).all(|w| w[0] < w[1]), "rows come in order");
    for id in &existing {
        assert!(
            unique.contains(id),
            "{id}, which existed before the walk, was skipped"
        );
    }
    s.stop().await;
}

/// Rounds each race runs: enough for the requests to interleave every way they can.
pub const ROUNDS: usize = 50;

/// Asserts that no attempt was answered 5xx, and returns the ones that succeeded.
fn successes<'a>(responses: &'a [Resp], what: &str) -> Vec<&'a Resp> {
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert!(
        statuses.iter().all(|&s| s < 500),
        "{what}: a server error among {statuses:?}"
    );
    responses.iter().filter(|r| r.status == 200).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_archives_archive_once_with_one_event() {
    let s = TestServer::start().await;
    let admin = s.admin();
    for round in 0..ROUNDS {
        let id = s.add_project(&format!("contested {round}")).await;
        let path = format!("/v1/organization/projects/{id}/archive");
        let attempts = join_all((0..8).map(|_| admin.post(&path, json!({})))).await;
        assert_eq!(successes(&attempts, &path).len(), 1, "round {round}");
        for refused in attempts.iter().filter(|r| r.status != 200) {
            assert_eq!(
                refused.error(400, None)["code"],
                "project_archived",
                "round {round}"
            );
        }
        let events = admin
            .get(&format!(
                "/v1/organization/audit_logs?event_types[]=project.archived&resource_ids[]={id}"
            ))
            .await;
        assert_eq!(
            events.ok()["data"].as_array().unwrap().len(),
            1,
            "round {round}: {}",
            events.body
        );
        let project = admin.get(&format!("/v1/organization/projects/{id}")).await;
        assert_eq!(project.ok()["status"], "archived");
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_invites_of_one_address_leave_one_pending() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let outside = Outside::connect(&s.database_url).await;
    for round in 0..ROUNDS {
        let email = format!("twice{round}@example.com");
        let attempts = join_all((0..6).map(|_| {
            admin.post(
                "/v1/organization/invites",
                json!({"email": email, "role": "reader"}),
            )
        }))
        .await;
        assert_eq!(successes(&attempts, &email).len(), 1, "round {round}");
        for refused in attempts.iter().filter(|r| r.status != 200) {
            refused.error_mentioning(400, Some("email"), "already has a pending invite");
        }
        let stored = outside
            .integers(&format!(
                "SELECT COUNT(*) FROM invites WHERE email = '{email}' AND accepted_at IS NULL"
            ))
            .await;
        assert_eq!(stored, [1], "round {round}: pending invites of {email}");
    }
    s.stop().await;
}

/// The organization's two owners demote each other at once, round after round: one change
/// lands, one owner is kept, and she promotes the other back for the next round.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn owners_demoting_each_other_keep_one_owner() {
    let s = TestServer::start().await;
    let (ada, ada_key) = s.add_owner_with_key("ada@example.com", "Ada").await;
    let owner = s.owner_id().await;
    let outside = Outside::connect(&s.database_url).await;
    // Each owner demotes the other, with her own key.
    let pairs = [
        (owner.clone(), s.with_key(&ada_key)),
        (ada.clone(), s.admin()),
    ];
    for round in 0..ROUNDS {
        let paths: Vec<String> = pairs
            .iter()
            .map(|(user, _)| format!("/v1/organization/users/{user}"))
            .collect();
        let demotions = join_all(
            pairs
                .iter()
                .zip(&paths)
                .map(|((_, caller), path)| caller.post(path, json!({"role": "reader"}))),
        )
        .await;
        let landed = successes(&demotions, "demotions");
        assert_eq!(landed.len(), 1, "round {round}");
        for refused in demotions.iter().filter(|r| r.status != 200) {
            // Refused by the rule, or because the caller's key stopped working when she was
            // demoted first.
            assert!(
                [400, 401].contains(&refused.status),
                "round {round}: {}",
                refused.body
            );
        }
        let owners = outside
            .integers(&format!(
                "SELECT COUNT(*) FROM users WHERE org_id = '{}' AND role = 'owner'",
                s.org_id
            ))
            .await;
        assert_eq!(owners, [1], "round {round}: owners kept");
        let demoted = landed[0].body["id"].as_str().unwrap().to_owned();
        let survivor = pairs
            .iter()
            .find(|(user, _)| *user == demoted)
            .map(|(_, caller)| caller)
            .unwrap();
        survivor
            .post(
                &format!("/v1/organization/users/{demoted}"),
                json!({"role": "owner"}),
            )
            .await
            .ok();
    }
    s.stop().await;
}

#[tokio::test]
async fn replicas_starting_together_migrate_and_bootstrap_once() {
    let (database, url) = TestDatabase::create().await;
    let new = NewOrganization::new("Raced", "race@example.com", "Racer").unwrap();
    let starts = (0..4).map(|_| {
        let (url, new) = (url.clone(), new.clone());
        tokio::spawn(async move {
            let store = Store::open(&url, &StoreOptions::default(), Clock::default())
                .await
                .expect("every replica starts");
            let founded = store
                .bootstrap(&new, None)
                .await
                .expect("bootstrap answers");
            (store, founded.is_some())
        })
    });
    let mut founders = 0;
    let mut stores = Vec::new();
    for start in starts {
        let (store, founded) = start.await.unwrap();
        founders += usize::from(founded);
        stores.push(store);
    }
    assert_eq!(
        founders, 1,
        "exactly one replica founds the first organization"
    );
    assert_eq!(stores[0].list_organizations().await.unwrap().len(), 1);
    for store in stores {
        store.close().await;
    }
    drop(database);
}

/// Assigning a user a predefined role is one transaction: of several requests giving her the
/// role at once, one changes it (with its one event) and the others find she holds it already.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_predefined_role_assignments_succeed_once() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let ada = s.add_user("ada@example.com", "owner", "Ada").await;
    let project = admin
        .post(
            "/v1/organization/projects",
            json!({"name": "contested roles"}),
        )
        .await
        .id();
    s.add_member(&project, &ada, "member").await;
    for (path, role_id, role) in [
        (
            format!("/v1/organization/users/{ada}/roles"),
            "role-api-organization-reader",
            "reader",
        ),
        (
            format!("/v1/projects/{project}/users/{ada}/roles"),
            "role-api-project-owner",
            "owner",
        ),
    ] {
        let attempts = (0..8).map(|_| admin.post(&path, json!({"role_id": role_id})));
        let responses = join_all(attempts).await;
        let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses.iter().filter(|&&s| s == 200).count(),
            1,
            "{path}: {statuses:?}"
        );
        for refused in responses.iter().filter(|r| r.status != 200) {
            refused.error_mentioning(400, Some("role_id"), "already holds role");
        }
        let held = admin.get(&path).await.ok()["data"].clone();
        let names: Vec<&str> = held
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|r| r["name"].as_str())
            .collect();
        assert_eq!(names, [role], "{path}");
    }
    let log = admin
        .get(&format!(
            "/v1/organization/audit_logs?event_types[]=user.updated&resource_ids[]={ada}"
        ))
        .await;
    assert_eq!(
        log.ok()["data"].as_array().unwrap().len(),
        2,
        "one change in the organization, one in the project: {}",
        log.body
    );
    s.stop().await;
}

/// Transactions that commit together (SQLite's group commit) fail alone: of concurrent changes,
/// those refused leave nothing behind and the others all land, each with its event.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_changes_that_fail_leave_the_others_whole() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let project = s.add_project("together").await;
    let members = format!("/v1/organization/projects/{project}/users");
    let mut users = Vec::new();
    for i in 0..8 {
        users.push(
            s.add_user(&format!("u{i}@example.com"), "reader", &format!("U{i}"))
                .await,
        );
    }
    for user in &users[..4] {
        s.add_member(&project, user, "member").await;
    }
    let attempts = users
        .iter()
        .map(|user| admin.post(&members, json!({"user_id": user, "role": "member"})));
    let statuses: Vec<u16> = join_all(attempts).await.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [400, 400, 400, 400, 200, 200, 200, 200]);
    let listed: HashSet<String> = walk(&admin, &members, 3).await.into_iter().collect();
    assert_eq!(listed, users.iter().cloned().collect::<HashSet<_>>());
    let added = admin
        .get(&format!(
            "/v1/organization/audit_logs?event_types[]=user.added&project_ids[]={project}&limit=100"
        ))
        .await;
    assert_eq!(
        added.ok()["data"].as_array().unwrap().len(),
        8,
        "{}",
        added.body
    );
    s.stop().await;
}
