//! Correctness under concurrent requests, on whichever backend the suite runs.

use std::collections::HashSet;

use futures_util::future::join_all;
use roster::domain::Clock;
use roster::domain::organization::NewOrganization;
use roster::store::{Store, StoreOptions};
use serde_json::json;

use crate::common::{TestDatabase, TestServer, walk};

#[tokio::test]
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

#[tokio::test]
async fn simultaneous_archives_succeed_once() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let id = s.add_project("contested").await;
    let path = format!("/v1/organization/projects/{id}/archive");
    let attempts = (0..12).map(|_| admin.post(&path, json!({})));
    let statuses: Vec<u16> = join_all(attempts).await.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 400).count(),
        11,
        "{statuses:?}"
    );
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
#[tokio::test]
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
#[tokio::test]
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
