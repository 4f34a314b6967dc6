//! The audit log on both backends: filters combined with both cursors, failed requests leaving
//! nothing, retention by the clock, and the `roster audit` commands.

mod filters_by_meaning;

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::cli::admin_key_in;
use crate::common::process::Site;
use crate::common::{Caller, TestServer, walk};

const LOG: &str = "/v1/organization/audit_logs";

async fn events(caller: &Caller<'_>, query: &str) -> Vec<Value> {
    let body = caller.get(&format!("{LOG}?limit=100&{query}")).await;
    body.ok()["data"].as_array().unwrap().clone()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().map(|e| e["type"].as_str().unwrap()).collect()
}

/// A page of the log: its events, and what it says of itself.
struct Page {
    events: Vec<Value>,
    has_more: bool,
}

async fn page(caller: &Caller<'_>, query: &str) -> Page {
    let body = caller.get(&format!("{LOG}?{query}")).await;
    let body = body.ok();
    let events = body["data"].as_array().expect("data").clone();
    let ids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(body["first_id"].as_str(), ids.first().copied(), "{query}");
    assert_eq!(body["last_id"].as_str(), ids.last().copied(), "{query}");
    let mut newest_first = ids.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(ids, newest_first, "a page is newest first: {query}");
    Page {
        events,
        has_more: body["has_more"].as_bool().expect("has_more"),
    }
}

fn ids(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect()
}

/// `query` with `more` parameters.
fn and(query: &str, more: &str) -> String {
    match query {
        "" => more.to_owned(),
        _ => format!("{query}&{more}"),
    }
}

/// The events of `query` older than `after` (or all), newest first, `limit` a page.
async fn walk_forward(
    caller: &Caller<'_>,
    query: &str,
    after: Option<&str>,
    limit: usize,
) -> Vec<Value> {
    let mut found: Vec<Value> = Vec::new();
    let mut cursor = after.map(str::to_owned);
    loop {
        let after = cursor.as_ref().map(|c| format!("&after={c}"));
        let query = and(
            query,
            &format!("limit={limit}{}", after.unwrap_or_default()),
        );
        let page = page(caller, &query).await;
        assert!(page.events.len() <= limit, "{query}");
        found.extend(page.events.iter().cloned());
        if !page.has_more {
            return found;
        }
        assert_eq!(
            page.events.len(),
            limit,
            "a page with more after it is full: {query}"
        );
        cursor = page
            .events
            .last()
            .and_then(|e| e["id"].as_str())
            .map(str::to_owned);
        assert!(found.len() < 100_000, "the walk does not end: {query}");
    }
}

/// The events of `query` newer than `before`, oldest first, `limit` a page.
async fn walk_back(caller: &Caller<'_>, query: &str, before: &str, limit: usize) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor = before.to_owned();
    loop {
        let query = and(query, &format!("limit={limit}&before={cursor}"));
        let page = page(caller, &query).await;
        assert!(page.events.len() <= limit, "{query}");
        found.extend(ids(&page.events).into_iter().rev());
        if !page.has_more {
            return found;
        }
        assert_eq!(
            page.events.len(),
            limit,
            "a page with more before it is full: {query}"
        );
        cursor = found.last().cloned().unwrap();
        assert!(found.len() < 100_000, "the walk does not end: {query}");
    }
}

#[tokio::test]
async fn combined_filters_page_both_ways() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let mut projects = Vec::new();
    for i in 0..12 {
        let id = admin
            .post(
                "/v1/organization/projects",
                json!({"name": format!("P{i}")}),
            )
            .await
            .id();
        admin
            .post(
                &format!("/v1/organization/projects/{id}"),
                json!({"name": format!("P{i} renamed")}),
            )
            .await
            .ok();
        projects.push(id);
    }
    // Three projects' events of two types, by the bootstrap key's owner.
    let chosen = &projects[3..6];
    let query = format!(
        "project_ids[]={}&project_ids[]={}&project_ids[]={}&event_types[]=project.updated&event_types[]=project.created&actor_emails[]=owner@example.com",
        chosen[0], chosen[1], chosen[2]
    );
    let newest_first = walk(&admin, &format!("{LOG}?{query}"), 2).await;
    assert_eq!(newest_first.len(), 6);
    let all = events(&admin, &query).await;
    assert_eq!(
        types(&all),
        [
            "project.updated",
            "project.created",
            "project.updated",
            "project.created",
            "project.updated",
            "project.created",
        ]
    );
    assert!(
        all.iter()
            .all(|e| chosen.contains(&e["project"]["id"].as_str().unwrap().to_owned()))
    );
    let oldest = newest_first.last().unwrap();
    let mut back = walk_back(&admin, &query, oldest, 2).await;
    back.insert(0, oldest.clone());
    back.reverse();
    assert_eq!(
        back, newest_first,
        "before walks the same events the other way"
    );

    // Projects and types alone: one index range per (project, type), both ways.
    let pairs = format!(
        "project_ids[]={}&project_ids[]={}&event_types[]=project.updated",
        chosen[0], chosen[2]
    );
    let renames = walk(&admin, &format!("{LOG}?{pairs}"), 1).await;
    assert_eq!(renames.len(), 2);
    let mut back = walk_back(&admin, &pairs, &renames[1], 1).await;
    back.insert(0, renames[1].clone());
    back.reverse();
    assert_eq!(back, renames);
    // A list's two spellings in one query name one list (they were a 400, "duplicate field").
    let mixed = format!(
        "project_ids[]={}&project_ids={}&event_types=project.updated",
        chosen[0], chosen[2]
    );
    assert_eq!(walk(&admin, &format!("{LOG}?{mixed}"), 100).await, renames);
    let renamed = events(&admin, &pairs).await;
    assert!(renamed.iter().all(|e| e["type"] == "project.updated"));
    assert_eq!(renamed[0]["project"]["id"], chosen[2].as_str());

    // The key's tracking id and the owner's user id name the same actor.
    let key_id = all[0]["actor"]["api_key"]["id"].as_str().unwrap();
    let user_id = all[0]["actor"]["api_key"]["user"]["id"].as_str().unwrap();
    let by_key = walk(&admin, &format!("{LOG}?actor_ids[]={key_id}"), 100).await;
    let by_user = walk(&admin, &format!("{LOG}?actor_ids={user_id}"), 100).await;
    assert_eq!(by_key, by_user);
    let both = walk(
        &admin,
        &format!("{LOG}?actor_ids[]={key_id}&actor_ids[]={user_id}"),
        7,
    )
    .await;
    assert_eq!(both, by_key, "an event matched twice is listed once");
    assert_eq!(by_key.len(), 24);

    let resource = events(
        &admin,
        &format!(
            "resource_ids[]={}&event_types[]=project.updated",
            projects[0]
        ),
    )
    .await;
    assert_eq!(types(&resource), ["project.updated"]);
    assert_eq!(
        resource[0]["project.updated"]["changes_requested"]["title"],
        "P0 renamed"
    );
    server.stop().await;
}

#[tokio::test]
async fn time_filters_follow_the_clock() {
    let server = TestServer::start().await;
    server.clock.freeze();
    let admin = server.admin();
    let before = server.clock.now();
    admin
        .post("/v1/organization/projects", json!({"name": "Early"}))
        .await
        .ok();
    server.clock.advance(1_000);
    let middle = server.clock.now();
    admin
        .post("/v1/organization/projects", json!({"name": "Late"}))
        .await
        .ok();
    let names = |events: Vec<Value>| -> Vec<String> {
        events
            .iter()
            .filter(|e| e["type"] == "project.created")
            .filter(|e| e["project.created"]["data"]["name"] != "Default project")
            .map(|e| {
                e["project.created"]["data"]["name"]
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect()
    };
    assert_eq!(
        names(events(&admin, &format!("effective_at[gte]={middle}")).await),
        ["Late"]
    );
    assert_eq!(
        names(events(&admin, &format!("effective_at[lt]={middle}")).await),
        ["Early"]
    );
    assert_eq!(
        names(
            events(
                &admin,
                &format!(
                    "effective_at[gt]={}&effective_at[lte]={}",
                    before - 1,
                    middle - 1
                )
            )
            .await
        ),
        ["Early"]
    );
    assert_eq!(
        names(events(&admin, &format!("effective_at[gt]={middle}")).await),
        Vec::<String>::new()
    );
    let late = events(&admin, &format!("effective_at[gte]={middle}")).await;
    assert_eq!(late[0]["effective_at"], middle);
    // Extreme values are ranges like any other.
    events(
        &admin,
        "effective_at[gte]=-5&effective_at[lt]=9223372036854775807",
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_failed_request_leaves_no_event() {
    let server = TestServer::start().await;
    let admin = server.admin();
    let count = || async { walk(&admin, LOG, 100).await.len() };
    let start = count().await;
    admin
        .post("/v1/organization/projects", json!({"name": ""}))
        .await
        .error(400, Some("name"));
    assert_eq!(count().await, start, "an invalid name");
    admin
        .post("/v1/organization/projects/proj_nope", json!({"name": "x"}))
        .await
        .error(404, Some("project_id"));
    assert_eq!(count().await, start, "an unknown project");
    admin.post("/v1/organization/invites", json!({"email": "a@example.com", "role": "owner", "projects": [{"id": "proj_nope", "role": "member"}]})).await.error(400, Some("projects[0].id"));
    assert_eq!(count().await, start, "an invite to an unknown project");
    admin
        .delete(&format!(
            "/v1/organization/users/{}",
            server.add_user("solo@example.com", "reader", "Solo").await
        ))
        .await
        .ok();
    let after_delete = count().await;
    assert!(after_delete > start);
    assert_eq!(types(&events(&admin, "").await)[0], "user.deleted");
    // The last owner cannot leave; the refusal writes nothing.
    let users = admin.get("/v1/organization/users").await;
    let owner = users.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["role"] == "owner")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    admin
        .delete(&format!("/v1/organization/users/{owner}"))
        .await
        .error_mentioning(400, None, "without an owner");
    assert_eq!(count().await, after_delete, "the last owner's removal");
    admin
        .delete("/v1/organization/admin_api_keys/key_nope")
        .await
        .error(404, Some("key_id"));
    assert_eq!(count().await, after_delete, "an unknown admin key");
    server.stop().await;
}

#[tokio::test]
async fn bad_filters_are_refused() {
    let server = TestServer::start().await;
    let admin = server.admin();
    admin
        .get(&format!("{LOG}?event_types[]=project.exploded"))
        .await
        .error(400, Some("event_types[]"));
    admin
        .get(&format!("{LOG}?event_types[]=tenant.user.added"))
        .await
        .error(400, Some("tenant_only"));
    admin
        .get(&format!("{LOG}?limit=0"))
        .await
        .error(400, Some("limit"));
    admin
        .get(&format!("{LOG}?limit=1&limit=2"))
        .await
        .error_mentioning(400, Some("limit"), "given more than once");
    admin
        .get(&format!("{LOG}?effective_at[gt]=yesterday"))
        .await
        .error(400, Some("effective_at[gt]"));
    let many: String = (0..101).map(|i| format!("resource_ids[]=r{i}&")).collect();
    admin
        .get(&format!("{LOG}?{many}"))
        .await
        .error(400, Some("resource_ids[]"));
    let tenant = admin
        .get(&format!(
            "{LOG}?tenant_only=true&event_types[]=tenant.user.added"
        ))
        .await;
    assert_eq!(
        tenant.ok()["data"],
        json!([]),
        "Roster records no tenant-scoped events"
    );
    server.stop().await;
}

#[tokio::test]
async fn retention_prunes_by_the_clock_and_says_so() {
    let server = TestServer::start().await;
    let admin = server.admin();
    admin
        .post("/v1/organization/projects", json!({"name": "Old"}))
        .await
        .ok();
    let old: BTreeSet<String> = walk(&admin, LOG, 100).await.into_iter().collect();
    let prune = || roster::prune_past_retention(&server.store, 3_600);
    assert_eq!(prune().await.unwrap(), [], "nothing is old yet");
    assert_eq!(walk(&admin, LOG, 100).await.len(), old.len());

    server.clock.advance(3_601);
    let pruned = prune().await.unwrap();
    assert_eq!(pruned.len(), 1, "{pruned:?}");
    assert_eq!(pruned[0].1, old.len() as u64);
    let kept = events(&admin, "").await;
    assert_eq!(types(&kept), ["resource.deleted"], "{kept:?}");

    // A later round finds nothing more to prune, and records nothing.
    admin
        .post("/v1/organization/projects", json!({"name": "New"}))
        .await
        .ok();
    assert_eq!(prune().await.unwrap(), []);
    let kept_after = events(&admin, "").await;
    assert_eq!(
        types(&kept_after),
        ["project.created", "resource.deleted"],
        "{kept_after:?}"
    );
    assert_eq!(kept_after[1], kept[0]);
    let pruned = &kept[0]["resource.deleted"];
    assert_eq!(pruned["deleted_count"], old.len());
    assert_eq!(pruned["resource_type"], "audit_log");
    assert!(kept[0]["actor"].is_null());
    assert_eq!(kept_after[0]["project.created"]["data"]["name"], "New");
    server.stop().await;
}

#[tokio::test]
async fn export_streams_the_api_shape_and_prune_leaves_an_event() {
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let served = site.serve(|_| {});
    let key = admin_key_in(&served.stdout()).unwrap();
    for name in ["One", "Two", "Three"] {
        let (status, _) = served
            .post(&key, "/v1/organization/projects", json!({"name": name}))
            .await;
        assert_eq!(status, 200);
    }
    let (_, listed) = served.get(&key, &format!("{LOG}?limit=100")).await;
    let mut listed = listed["data"].as_array().unwrap().clone();
    listed.reverse();

    let output = site.roster().args(["audit", "export"]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exported: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        exported, listed,
        "oldest first, exactly as the API lists them"
    );

    let since = listed[2]["effective_at"].as_i64().unwrap();
    let output = site
        .roster()
        .args(["audit", "export", "--since", &since.to_string()])
        .output()
        .unwrap();
    let lines: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let expected: Vec<&Value> = listed
        .iter()
        .filter(|e| e["effective_at"].as_i64().unwrap() >= since)
        .collect();
    assert_eq!(lines.iter().collect::<Vec<_>>(), expected);

    let output = site
        .roster()
        .args([
            "org",
            "create",
            "--name",
            "Other",
            "--owner-email",
            "o@example.com",
        ])
        .output()
        .unwrap();
    assert!(output.status.success());
    let other_key = admin_key_in(&String::from_utf8_lossy(&output.stdout)).unwrap();
    let output = site.roster().args(["audit", "export"]).output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("--org"));

    // Pruning one organization leaves the other's log whole.
    let future = listed.last().unwrap()["effective_at"].as_i64().unwrap() + 1;
    let listing = site.roster().args(["org", "list"]).output().unwrap();
    let listing = String::from_utf8(listing.stdout).unwrap();
    let other = listing
        .lines()
        .find(|l| l.contains("Other"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("{listing}"));
    let (_, others) = served.get(&other_key, &format!("{LOG}?limit=100")).await;
    let others = others["data"].as_array().unwrap().len();
    assert!(others > 0);
    let output = site
        .roster()
        .args(["audit", "prune", "--org", other, "--before"])
        .arg((future + 3_600).to_string())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{report}");
    assert!(
        report.contains(&format!("deleted {others} audit events")),
        "{report}"
    );
    let (_, kept) = served.get(&key, &format!("{LOG}?limit=100")).await;
    assert_eq!(kept["data"].as_array().unwrap().len(), listed.len());
    let (_, pruned) = served.get(&other_key, LOG).await;
    assert_eq!(
        types(pruned["data"].as_array().unwrap()),
        ["resource.deleted"]
    );

    let output = site
        .roster()
        .args(["audit", "prune", "--before", &future.to_string()])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report = String::from_utf8(output.stdout).unwrap();
    assert!(
        report.contains(&format!("deleted {} audit events", listed.len())),
        "{report}"
    );
    let (_, after) = served.get(&key, LOG).await;
    let after = after["data"].as_array().unwrap();
    assert_eq!(types(after), ["resource.deleted"]);
    assert_eq!(after[0]["resource.deleted"]["deleted_count"], listed.len());
    assert_eq!(after[0]["resource.deleted"]["effective_before"], future);
    assert!(served.terminate());
}
