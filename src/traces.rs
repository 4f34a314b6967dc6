//! Traces, when an operator asks for them (`--otlp-endpoint` or `OTEL_EXPORTER_OTLP_ENDPOINT`):
//! the spans of `tracing` (a request's, `roster::api`; each database transaction's,
//! `roster::store`, at debug level) exported over OTLP/HTTP in batches, continuing a caller's W3C
//! `traceparent`. Off, nothing is built: the transaction spans are disabled at their level and
//! no header is read.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use opentelemetry::propagation::TextMapPropagator;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::Layer;
use tracing_subscriber::filter::Targets;

static ON: AtomicBool = AtomicBool::new(false);
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// How long spans wait to go out together.
const BATCH_DELAY: Duration = Duration::from_secs(1);

/// The layer that exports Roster's spans to the collector at `endpoint` (its base URL, as
/// `OTEL_EXPORTER_OTLP_ENDPOINT` gives it; spans go to `/v1/traces`). Must be called on the
/// tokio runtime, which sends the batches.
pub fn layer<S>(endpoint: &str) -> Result<impl Layer<S>, String>
where
    S: tracing::Subscriber + for<'span> tracing_subscriber::registry::LookupSpan<'span>,
{
    use opentelemetry_otlp::WithExportConfig;
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| format!("cannot export traces to {url}: {e}"))?;
    let batches =
        opentelemetry_sdk::trace::span_processor_with_async_runtime::BatchSpanProcessor::builder(
            exporter,
            opentelemetry_sdk::runtime::Tokio,
        )
        .with_batch_config(
            opentelemetry_sdk::trace::BatchConfigBuilder::default()
                .with_scheduled_delay(BATCH_DELAY)
                .build(),
        )
        .build();
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("roster")
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(batches)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("roster");
    let _ = PROVIDER.set(provider);
    ON.store(true, Ordering::Relaxed);
    Ok(tracing_opentelemetry::layer()
        .with_tracer(tracer)
        .with_filter(Targets::new().with_target("roster", tracing::Level::DEBUG)))
}

/// Whether traces are exported.
pub fn on() -> bool {
    ON.load(Ordering::Relaxed)
}

/// Makes `span` (a request's) continue the trace the caller's `traceparent` names, if any.
pub fn continue_trace(span: &tracing::Span, headers: &axum::http::HeaderMap) {
    use tracing_opentelemetry::OpenTelemetrySpanExt;
    let parent =
        TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
    let _ = span.set_parent(parent);
}

/// Sends the spans still waiting, before the process exits.
pub fn flush() {
    if let Some(provider) = PROVIDER.get()
        && let Err(error) = provider.shutdown()
    {
        tracing::warn!(%error, "traces still waiting could not be sent");
    }
}
