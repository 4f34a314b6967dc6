//! What every request gets whatever it asks: request ids, envelopes on unknown routes and
//! methods, the body limit, health and the served contract.

use serde_json::json;

use crate::common::TestServer;

#[tokio::test]
async fn unknown_routes_and_methods_get_the_envelope() {
    let s = TestServer::start().await;
    let admin = s.admin();
    admin
        .get("/v1/organization/nothing-here")
        .await
        .error(404, None);
    admin.get("/not-even-v1").await.error(404, None);
    admin
        .delete("/v1/organization/projects")
        .await
        .error(405, None);
    admin
        .request(
            reqwest::Method::PUT,
            "/v1/organization/admin_api_keys",
            Some(json!({})),
        )
        .await
        .error(405, None);
    s.stop().await;
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_echoes_the_callers() {
    let s = TestServer::start().await;
    let client = reqwest::Client::new();
    let plain = client
        .get(format!("{}/healthz", s.root))
        .send()
        .await
        .unwrap();
    let id = plain.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(id.starts_with("req_"), "{id}");
    let echoed = client
        .get(format!("{}/v1/organization/projects", s.root))
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(echoed.status().as_u16(), 401);
    assert_eq!(echoed.headers()["x-request-id"], "trace-me-42");
    s.stop().await;
}

#[tokio::test]
async fn a_ten_megabyte_body_is_413() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let huge = format!("{{\"name\": \"{}\"}}", "x".repeat(10 * 1024 * 1024));
    admin
        .post_raw("/v1/organization/projects", huge)
        .await
        .error(413, None);
    let projects = admin.get("/v1/organization/projects").await;
    assert_eq!(
        projects.ok()["data"].as_array().unwrap().len(),
        1,
        "nothing was created"
    );
    s.stop().await;
}

#[tokio::test]
async fn health_readiness_and_the_served_contract() {
    let s = TestServer::start().await;
    let anonymous = s.anonymous();
    assert_eq!(
        anonymous.get("/healthz").await.ok(),
        &json!({"status": "ok"})
    );
    assert_eq!(
        anonymous.get("/readyz").await.ok(),
        &json!({"status": "ready"})
    );
    let spec = anonymous.get("/v1/openapi.yaml").await;
    assert_eq!(spec.status, 200);
    assert_eq!(spec.headers["content-type"], "application/yaml");
    let text = spec.body.as_str().expect("YAML text");
    for operation in [
        "operationId: list-projects",
        "operationId: admin-api-keys-create",
        "/healthz:",
        "/readyz:",
    ] {
        assert!(
            text.contains(operation),
            "the served document has {operation}"
        );
    }
    s.stop().await;
}

#[tokio::test]
async fn readiness_fails_while_the_database_is_gone() {
    let s = TestServer::start().await;
    s.store.close().await;
    let ready = s.anonymous().get("/readyz").await;
    ready.error(503, None);
    s.anonymous().get("/healthz").await.ok();
    s.stop().await;
}
