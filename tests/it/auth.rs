//! Authentication: every way of not presenting a valid admin key is a 401 envelope.

use crate::common::TestServer;

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let s = TestServer::start().await;
    let path = "/v1/organization/projects";
    let unknown = "sk-admin-0000000000000000000000000000000000000000unknown";
    let unknown_header = format!("Bearer {unknown}");
    let cases: Vec<(&str, Option<&str>)> = vec![
        ("no header", None),
        ("empty bearer", Some("Bearer ")),
        ("not bearer", Some("Basic dXNlcjpwYXNz")),
        (
            "a project key",
            Some("Bearer sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"),
        ),
        ("too short", Some("Bearer sk-admin-abc")),
        ("unknown", Some(unknown_header.as_str())),
        (
            "bad characters",
            Some("Bearer sk-admin-abcdefghijklmnop!qrst"),
        ),
    ];
    let client = reqwest::Client::new();
    for (case, header) in cases {
        let mut request = client.get(format!("{}{path}", s.root));
        if let Some(h) = header {
            request = request.header("authorization", h);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401, "{case}");
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(body["error"]["type"], "invalid_request_error", "{case}");
        assert_eq!(body["error"]["code"], "invalid_api_key", "{case}");
        assert!(body["error"]["param"].is_null(), "{case}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            !message.contains(&unknown[12..]),
            "{case}: a presented key is never echoed whole"
        );
        if case == "unknown" {
            // The real service's mask: the first 8 and last 4 characters, a star for each between.
            assert_eq!(
                message,
                format!(
                    "Incorrect API key provided: sk-admin{}nown.",
                    "*".repeat(unknown.len() - 12)
                )
            );
        }
    }
    s.stop().await;
}

#[tokio::test]
async fn the_bootstrap_key_works() {
    let s = TestServer::start().await;
    let listed = s.admin().get("/v1/organization/projects").await;
    assert_eq!(listed.ok()["data"][0]["id"], s.default_project_id.as_str());
    assert_eq!(listed.ok()["data"][0]["name"], "Default project");
    s.stop().await;
}
