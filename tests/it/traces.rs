//! Traces through a collector the test runs: `roster serve --otlp-endpoint` exports a request's
//! span and its transaction's over OTLP/HTTP, continuing the caller's `traceparent`.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message;
use serde_json::json;

use crate::common::BOOTSTRAP_KEY;
use crate::common::process::Site;

type Received = Arc<Mutex<Vec<Span>>>;

/// A collector: every span posted to `/v1/traces`, decoded.
async fn collector() -> (String, Received) {
    let received = Received::default();
    let app = axum::Router::new()
        .route(
            "/v1/traces",
            post(|State(received): State<Received>, body: Bytes| async move {
                let request =
                    ExportTraceServiceRequest::decode(body).expect("an OTLP trace export");
                let spans = request
                    .resource_spans
                    .into_iter()
                    .flat_map(|r| r.scope_spans)
                    .flat_map(|s| s.spans);
                received.lock().unwrap().extend(spans);
                ""
            }),
        )
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (base, received)
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes.iter().find(|a| a.key == key).and_then(|a| {
        match a.value.as_ref()?.value.as_ref()? {
            AnyValue::StringValue(s) => Some(s.clone()),
            AnyValue::IntValue(i) => Some(i.to_string()),
            _ => None,
        }
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test]
async fn a_request_and_its_transaction_reach_the_collector_in_the_callers_trace() {
    let (endpoint, received) = collector().await;
    let dir = tempfile::tempdir().unwrap();
    let site = Site::new(&dir.path().join("data")).await;
    let served = site.serve(|c| {
        c.env("ROSTER_BOOTSTRAP_ADMIN_KEY", BOOTSTRAP_KEY)
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint);
    });
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let response = reqwest::Client::new()
        .post(format!("{}/v1/organization/projects", served.base))
        .bearer_auth(BOOTSTRAP_KEY)
        .header("traceparent", format!("00-{trace_id}-{caller_span}-01"))
        .json(&json!({"name": "Traced"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_owned();

    let since = Instant::now();
    let (request, transaction) = loop {
        {
            let spans = received.lock().unwrap();
            let in_trace: Vec<&Span> = spans
                .iter()
                .filter(|s| hex(&s.trace_id) == trace_id)
                .collect();
            let request = in_trace.iter().find(|s| s.name == "request");
            let transaction = in_trace.iter().find(|s| s.name == "transaction");
            if let (Some(request), Some(transaction)) = (request, transaction) {
                break ((*request).clone(), (*transaction).clone());
            }
        }
        assert!(
            since.elapsed() < Duration::from_secs(15),
            "no request and transaction spans in trace {trace_id}: {:?}",
            received
                .lock()
                .unwrap()
                .iter()
                .map(|s| &s.name)
                .collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        hex(&request.parent_span_id),
        caller_span,
        "the caller's span is the parent"
    );
    assert_eq!(
        attribute(&request, "request_id").as_deref(),
        Some(request_id.as_str())
    );
    assert_eq!(
        attribute(&request, "path").as_deref(),
        Some("/v1/organization/projects")
    );
    assert_eq!(
        transaction.parent_span_id, request.span_id,
        "the transaction is the request's"
    );
    assert!(served.terminate());
}
