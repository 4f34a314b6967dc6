//! Projects: every operation of the contract, each error, pagination and isolation.

use serde_json::json;

use crate::common::{TestServer, walk};

#[tokio::test]
async fn create_retrieve_modify_archive() {
    let s = TestServer::start().await;
    let admin = s.admin();

    let created = admin
        .post(
            "/v1/organization/projects",
            json!({"name": "  Alpha  ", "external_key_id": "ek_1"}),
        )
        .await;
    let project = created.ok().clone();
    let id = created.id();
    assert!(id.starts_with("proj_"));
    assert_eq!(project["object"], "organization.project");
    assert_eq!(project["name"], "Alpha", "names are trimmed");
    assert_eq!(project["status"], "active");
    assert_eq!(project["archived_at"], json!(null));
    assert_eq!(project["external_key_id"], "ek_1");
    assert!(project["created_at"].as_i64().unwrap() > 1_700_000_000);

    assert_eq!(
        admin
            .get(&format!("/v1/organization/projects/{id}"))
            .await
            .ok(),
        &project
    );

    let renamed = admin
        .post(
            &format!("/v1/organization/projects/{id}"),
            json!({"name": "Beta"}),
        )
        .await;
    assert_eq!(renamed.ok()["name"], "Beta");
    assert_eq!(
        renamed.ok()["external_key_id"],
        "ek_1",
        "absent fields stay as they are"
    );
    assert_eq!(
        admin
            .get(&format!("/v1/organization/projects/{id}"))
            .await
            .ok()["name"],
        "Beta"
    );

    let archived = admin
        .post(
            &format!("/v1/organization/projects/{id}/archive"),
            json!({}),
        )
        .await;
    assert_eq!(archived.ok()["status"], "archived");
    assert!(archived.ok()["archived_at"].as_i64().is_some());
    assert_eq!(
        admin
            .get(&format!("/v1/organization/projects/{id}"))
            .await
            .ok()["status"],
        "archived"
    );
    s.stop().await;
}

#[tokio::test]
async fn residency_is_kept_and_checked() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let created = admin
        .post(
            "/v1/organization/projects",
            json!({"name": "EU", "residency": "EU_STORAGE_PROCESSING"}),
        )
        .await;
    assert_eq!(created.ok()["residency"], "EU_STORAGE_PROCESSING");
    admin
        .post(
            "/v1/organization/projects",
            json!({"name": "Moon", "residency": "MOON"}),
        )
        .await
        .error(400, Some("residency"));
    s.stop().await;
}

#[tokio::test]
async fn archived_projects_are_listed_only_on_request() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let keep = s.add_project("Keep").await;
    let gone = s.add_project("Gone").await;
    s.archive_project(&gone).await;

    let active = walk(&admin, "/v1/organization/projects", 20).await;
    assert_eq!(active, vec![s.default_project_id.clone(), keep.clone()]);
    let all = walk(
        &admin,
        "/v1/organization/projects?include_archived=true",
        20,
    )
    .await;
    assert_eq!(all, vec![s.default_project_id.clone(), keep, gone]);
    admin
        .get("/v1/organization/projects?include_archived=maybe")
        .await
        .error(400, Some("include_archived"));
    s.stop().await;
}

#[tokio::test]
async fn pagination_walks_250_projects_without_gap_or_duplicate() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let mut created = vec![s.default_project_id.clone()];
    for i in 0..249 {
        created.push(
            admin
                .post(
                    "/v1/organization/projects",
                    json!({"name": format!("p{i}")}),
                )
                .await
                .id(),
        );
    }
    for limit in [100, 7, 1] {
        assert_eq!(
            walk(&admin, "/v1/organization/projects", limit).await,
            created,
            "limit {limit}"
        );
    }
    let first = admin.get("/v1/organization/projects").await;
    assert_eq!(
        first.ok()["data"].as_array().unwrap().len(),
        20,
        "the default limit is 20"
    );
    assert_eq!(first.ok()["has_more"], true);
    let last = admin
        .get(&format!("/v1/organization/projects?after={}", created[249]))
        .await;
    assert_eq!(last.ok()["data"], json!([]));
    assert_eq!(last.ok()["first_id"], json!(null));
    assert_eq!(last.ok()["has_more"], false);
    s.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let path = "/v1/organization/projects";
    admin.post(path, json!({})).await.error(400, Some("name"));
    admin
        .post(path, json!({"name": ""}))
        .await
        .error(400, Some("name"));
    admin
        .post(path, json!({"name": "   "}))
        .await
        .error(400, Some("name"));
    admin
        .post(path, json!({"name": 42}))
        .await
        .error(400, Some("name"));
    admin
        .post(path, json!({"name": "x".repeat(257)}))
        .await
        .error(400, Some("name"));
    admin.post(path, json!(["name"])).await.error(400, None);
    admin.post_raw(path, "{\"name\": ").await.error(400, None);
    admin.post_raw(path, "").await.error(400, None);
    admin
        .post_raw(path, "{\"name\": \"a\"} trailing")
        .await
        .error(400, None);
    for limit in ["0", "101", "-1", "ten"] {
        admin
            .get(&format!("{path}?limit={limit}"))
            .await
            .error(400, Some("limit"));
    }
    assert_eq!(
        walk(&admin, path, 100).await,
        vec![s.default_project_id.clone()],
        "nothing was created"
    );
    s.stop().await;
}

#[tokio::test]
async fn archive_rules() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let default = &s.default_project_id;
    admin
        .post(
            &format!("/v1/organization/projects/{default}/archive"),
            json!({}),
        )
        .await
        .error(400, None);
    admin
        .post(
            &format!("/v1/organization/projects/{default}"),
            json!({"name": "Renamed"}),
        )
        .await
        .error(400, None);
    let default_project = admin
        .get(&format!("/v1/organization/projects/{default}"))
        .await;
    assert_eq!(default_project.ok()["status"], "active");
    assert_eq!(default_project.ok()["name"], "Default project");

    let id = s.add_project("Once").await;
    let archived = admin
        .post(
            &format!("/v1/organization/projects/{id}/archive"),
            json!({}),
        )
        .await
        .ok()
        .clone();
    // Archiving again and renaming are both changes to an archived project, in the same words.
    for again in [
        admin
            .post(
                &format!("/v1/organization/projects/{id}/archive"),
                json!({}),
            )
            .await,
        admin
            .post(
                &format!("/v1/organization/projects/{id}"),
                json!({"name": "Twice"}),
            )
            .await,
    ] {
        let error = again.error_mentioning(
            400,
            None,
            &format!("Project '{id}' is archived. You can only update an active project."),
        );
        assert_eq!(error["code"], "project_archived");
    }
    assert_eq!(
        admin
            .get(&format!("/v1/organization/projects/{id}"))
            .await
            .ok(),
        &archived,
        "refusals change nothing"
    );
    s.stop().await;
}

#[tokio::test]
async fn unknown_projects_are_404() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let missing = "proj_doesnotexist";
    admin
        .get(&format!("/v1/organization/projects/{missing}"))
        .await
        .error(404, Some("project_id"));
    admin
        .post(
            &format!("/v1/organization/projects/{missing}"),
            json!({"name": "x"}),
        )
        .await
        .error(404, Some("project_id"));
    admin
        .post(
            &format!("/v1/organization/projects/{missing}/archive"),
            json!({}),
        )
        .await
        .error(404, Some("project_id"));
    s.stop().await;
}

#[tokio::test]
async fn organizations_see_nothing_of_each_other() {
    let s = TestServer::start().await;
    let ours = s.admin();
    let theirs_key = s.second_organization().await;
    let theirs = s.with_key(&theirs_key);

    let our_project = ours
        .post("/v1/organization/projects", json!({"name": "Ours"}))
        .await
        .id();
    let their_project = theirs
        .post("/v1/organization/projects", json!({"name": "Theirs"}))
        .await
        .id();

    let our_list = walk(
        &ours,
        "/v1/organization/projects?include_archived=true",
        100,
    )
    .await;
    let their_list = walk(
        &theirs,
        "/v1/organization/projects?include_archived=true",
        100,
    )
    .await;
    assert!(our_list.contains(&our_project) && !our_list.contains(&their_project));
    assert!(their_list.contains(&their_project) && !their_list.contains(&our_project));
    assert_eq!(their_list.len(), 2, "their default project and theirs");

    theirs
        .get(&format!("/v1/organization/projects/{our_project}"))
        .await
        .error(404, Some("project_id"));
    theirs
        .post(
            &format!("/v1/organization/projects/{our_project}"),
            json!({"name": "Hijacked"}),
        )
        .await
        .error(404, Some("project_id"));
    theirs
        .post(
            &format!("/v1/organization/projects/{our_project}/archive"),
            json!({}),
        )
        .await
        .error(404, Some("project_id"));
    let ours_after = ours
        .get(&format!("/v1/organization/projects/{our_project}"))
        .await;
    assert_eq!(ours_after.ok()["name"], "Ours");
    assert_eq!(ours_after.ok()["status"], "active");

    // A cursor from another organization's list is only a position: the page holds our own
    // projects that sort after it, and none of theirs. One of ours is made after theirs, so the
    // page is not empty.
    let later = s.add_project("Later").await;
    let after_theirs = ours
        .get(&format!(
            "/v1/organization/projects?after={their_project}&include_archived=true"
        ))
        .await;
    let page: Vec<&str> = after_theirs.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    let all = walk(
        &ours,
        "/v1/organization/projects?include_archived=true",
        100,
    )
    .await;
    let expected: Vec<&str> = all
        .iter()
        .map(String::as_str)
        .filter(|id| *id > their_project.as_str())
        .collect();
    assert_eq!(page, expected, "our projects after the cursor, in order");
    assert!(page.contains(&later.as_str()));
    s.stop().await;
}
