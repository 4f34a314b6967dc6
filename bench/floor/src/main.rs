//! The benchmark's floor: answers Roster's benchmarked routes with the bytes Roster answered
//! them with (recorded by `bench/run.py` into a fixtures file), from memory, doing nothing else:
//! no authentication, no database, no logging. What Roster costs is measured against this.
//!
//! Usage: roster-bench-floor <listen address> <fixtures.json>

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

/// One recorded response body per benchmarked request.
#[derive(Deserialize)]
struct Fixtures {
    retrieve: String,
    page_first: String,
    page_deep: String,
    create: String,
    delete: String,
    audit: String,
    check: String,
}

type Shared = State<Arc<Fixtures>>;

fn json(body: &str) -> Response {
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_owned(),
    )
        .into_response()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(path)) = (args.next(), args.next()) else {
        eprintln!("usage: roster-bench-floor <listen address> <fixtures.json>");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen.parse().expect("a socket address to listen on");
    let fixtures: Fixtures =
        serde_json::from_slice(&std::fs::read(&path).expect("the fixtures file"))
            .expect("fixtures as written by bench/run.py");
    let app = Router::new()
        .route(
            "/v1/organization/projects/{project_id}/users",
            get(|State(f): Shared, RawQuery(query): RawQuery| async move {
                let deep = query.is_some_and(|q| q.contains("after="));
                json(if deep { &f.page_deep } else { &f.page_first })
            })
            .post(|State(f): Shared| async move { json(&f.create) }),
        )
        .route(
            "/v1/organization/projects/{project_id}/users/{user_id}",
            get(|State(f): Shared| async move { json(&f.retrieve) })
                .delete(|State(f): Shared| async move { json(&f.delete) }),
        )
        .route(
            "/v1/organization/audit_logs",
            get(|State(f): Shared| async move { json(&f.audit) }),
        )
        .route(
            "/v1/gateway/auth",
            get(|| async { StatusCode::OK.into_response() }),
        )
        // The model server behind nginx in the gateway scenario: a small completion.
        .route(
            "/v1/chat/completions",
            axum::routing::post(|| async {
                json(r#"{"object":"chat.completion","choices":[{"message":{"role":"assistant","content":"ok"}}]}"#)
            }),
        )
        .route(
            "/v1/gateway/check",
            axum::routing::post(|State(f): Shared| async move { json(&f.check) }),
        )
        .route("/readyz", get(|| async { json(r#"{"status":"ready"}"#) }))
        .with_state(Arc::new(fixtures));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .expect("the listen address");
    axum::serve(listener, app).await.expect("serving");
}
