//! The invitation as a person receives it: the email's two parts, the page its link opens, the
//! states of a link that can no longer be used, and the page's headers and form protection.

use reqwest::StatusCode;
use roster::store::StoreOptions;
use serde_json::json;

use crate::common::{TestServer, outbox};

const CSP: &str = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Invites `email` as a reader into a project named `project`; returns the invite id and token.
async fn invite(s: &TestServer, email: &str, project: &str) -> (String, String) {
    let project_id = s.add_project(project).await;
    let id = s
        .admin()
        .post(
            "/v1/organization/invites",
            json!({"email": email, "role": "reader", "projects": [{"id": project_id, "role": "member"}]}),
        )
        .await
        .id();
    (id, s.invite_token(email).await.unwrap())
}

async fn page(s: &TestServer, token: &str) -> (StatusCode, reqwest::header::HeaderMap, String) {
    let response = reqwest::get(format!("{}/invite/{token}", s.root))
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn post_form(
    s: &TestServer,
    token: &str,
    name: &str,
    extra: &[(&str, &str)],
) -> (StatusCode, String) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/invite/{token}", s.root))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("name={name}"));
    for (header, value) in extra {
        request = request.header(*header, *value);
    }
    let response = request.send().await.unwrap();
    (response.status(), response.text().await.unwrap())
}

#[tokio::test]
async fn the_email_names_everything_a_person_needs_in_both_parts() {
    let s = TestServer::start().await;
    s.clock.freeze();
    let expires_at = s.clock.now() + roster::domain::invite::DEFAULT_LIFETIME_SECONDS;
    let (_, token) = invite(&s, "bob@example.com", "Web & <Mobile>").await;
    let (text, html) = outbox::parts_of_newest_to(s.outbox.path(), "bob@example.com");
    let link = format!("/invite/{token}");
    for expected in [
        "Owner (owner@example.com) invited you to join Test Organization on Roster as a reader",
        "  - Web & <Mobile>: member",
        "in 7 days",
        &roster::templates::date_utc(expires_at),
        "You received this email because Owner (owner@example.com) invited bob@example.com",
    ] {
        assert!(text.contains(expected), "{expected:?} not in {text}");
    }
    // The link on a line of its own.
    assert!(
        text.lines()
            .any(|line| line.ends_with(&link) && !line.contains(' ')),
        "{text}"
    );
    assert!(
        html.contains("Web &#38; &#60;Mobile&#62;"),
        "escaped: {html}"
    );
    assert!(!html.contains("<Mobile>"), "{html}");
    assert!(
        html.contains(">Accept the invitation</a>"),
        "a button: {html}"
    );
    assert!(
        html.contains(&roster::templates::date_utc(expires_at)),
        "{html}"
    );
    s.stop().await;
}

#[tokio::test]
async fn the_page_tells_the_same_facts_and_accepting_says_what_comes_next() {
    let s = TestServer::start().await;
    let (_, token) = invite(&s, "bob@example.com", "Web <b>app</b>").await;
    let (status, headers, body) = page(&s, &token).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-security-policy"], CSP);
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    for expected in [
        "Join Test Organization",
        "Owner (owner@example.com) invited <strong>bob@example.com</strong>",
        "as a reader",
        "Web &#60;b&#62;app&#60;/b&#62;</strong>: member",
        "in 7 days",
        r#"<label for="name">Your name</label>"#,
        r#"<meta name="viewport""#,
        r#"<link rel="stylesheet" href="/static/roster.css">"#,
    ] {
        assert!(body.contains(expected), "{expected:?} not in {body}");
    }
    assert!(!body.contains("<b>app"), "{body}");
    assert!(!body.contains("proj_"), "projects by name, not id: {body}");
    let css = reqwest::get(format!("{}/static/roster.css", s.root))
        .await
        .unwrap();
    assert_eq!(css.headers()["content-type"], "text/css; charset=utf-8");

    let (status, welcome) = post_form(
        &s,
        &token,
        "Bob+Builder",
        &[("sec-fetch-site", "same-origin")],
    )
    .await;
    assert_eq!(status, 200, "{welcome}");
    for expected in [
        "Welcome to Test Organization, Bob Builder",
        "You are now a reader of",
        "Web &#60;b&#62;app&#60;/b&#62;</strong>: member",
        "What comes next",
    ] {
        assert!(welcome.contains(expected), "{expected:?} not in {welcome}");
    }
    let users = s
        .admin()
        .get("/v1/organization/users?emails[]=bob@example.com")
        .await;
    assert_eq!(users.ok()["data"][0]["name"], "Bob Builder");
    s.stop().await;
}

#[tokio::test]
async fn links_that_cannot_be_used_say_why_and_what_to_do() {
    let s = TestServer::start_with(StoreOptions::default(), |_| {}).await;
    let look = |body: &str| body.contains(r#"<link rel="stylesheet" href="/static/roster.css">"#);

    let (_, used) = invite(&s, "used@example.com", "A").await;
    post_form(&s, &used, "Used", &[]).await;
    let (status, headers, body) = page(&s, &used).await;
    assert_eq!(status, 410);
    assert_eq!(headers["content-security-policy"], CSP);
    assert!(body.contains("already accepted") && look(&body), "{body}");

    let (revoked_id, revoked) = invite(&s, "gone@example.com", "B").await;
    s.admin()
        .delete(&format!("/v1/organization/invites/{revoked_id}"))
        .await
        .ok();
    let (status, _, body) = page(&s, &revoked).await;
    assert_eq!(status, 410);
    assert!(
        body.contains("withdrawn")
            && body.contains("ask Owner (owner@example.com) for a new invitation")
            && look(&body),
        "{body}"
    );

    let (status, _, body) = page(&s, "inv-nothing-like-this").await;
    assert_eq!(status, 404);
    assert!(body.contains("unknown") && look(&body), "{body}");

    let (_, late) = invite(&s, "late@example.com", "C").await;
    s.clock
        .advance(roster::domain::invite::DEFAULT_LIFETIME_SECONDS);
    let (status, _, body) = page(&s, &late).await;
    assert_eq!(status, 410);
    assert!(
        body.contains("has expired")
            && body.contains("Ask Owner (owner@example.com) for a new invitation")
            && look(&body),
        "{body}"
    );
    // Accepting it is refused the same way.
    let (status, body) = post_form(&s, &late, "Late", &[]).await;
    assert_eq!(status, 410, "{body}");
    s.stop().await;
}

#[tokio::test]
async fn a_form_posted_from_another_site_is_refused_and_changes_nothing() {
    let s = TestServer::start().await;
    let (_, token) = invite(&s, "bob@example.com", "Web").await;
    let host = s.root.trim_start_matches("http://").to_owned();
    for headers in [
        vec![("sec-fetch-site", "cross-site")],
        vec![("sec-fetch-site", "same-site")],
        vec![("origin", "https://evil.example")],
        vec![("origin", "null")],
    ] {
        let (status, body) = post_form(&s, &token, "Bob", &headers).await;
        assert_eq!(status, 403, "{headers:?}: {body}");
    }
    let (status, _, _) = page(&s, &token).await;
    assert_eq!(status, 200, "still pending");
    // The page's own form (same origin) and clients that are not browsers are let through.
    let origin = format!("http://{host}");
    let (status, body) = post_form(&s, &token, "Bob", &[("origin", origin.as_str())]).await;
    assert_eq!(status, 200, "{body}");
    // A missing name is asked for.
    let (_, other) = invite(&s, "eve@example.com", "Other").await;
    let (status, body) = post_form(&s, &other, "", &[]).await;
    assert_eq!(status, 400);
    assert!(body.contains("Your name is needed"), "{body}");
    s.stop().await;
}
