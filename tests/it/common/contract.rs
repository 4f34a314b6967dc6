//! The served contract as a test oracle: a proxy between an SDK and the server that validates
//! every JSON response body against the schema the document declares for its operation and
//! status, and records each violation with the path of the field.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Value, json};

struct Operation {
    method: String,
    template: String,
    params: usize,
    segments: Vec<String>,
}

static VALIDATORS: OnceLock<Mutex<HashMap<String, jsonschema::Validator>>> = OnceLock::new();

struct Contract {
    spec: Value,
    operations: Vec<Operation>,
}

fn contract() -> &'static Contract {
    static CONTRACT: OnceLock<Contract> = OnceLock::new();
    CONTRACT.get_or_init(|| {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/roster.yaml");
        let text = std::fs::read_to_string(path).expect("the served document");
        let spec: Value = serde_norway::from_str(&text).expect("valid YAML");
        let mut operations = Vec::new();
        for (template, item) in spec["paths"].as_object().expect("paths") {
            for method in ["get", "post", "delete"] {
                if item.get(method).is_some() {
                    operations.push(Operation {
                        method: method.to_uppercase(),
                        template: template.clone(),
                        params: template.matches('{').count(),
                        segments: format!("/v1{template}")
                            .split('/')
                            .map(str::to_owned)
                            .collect(),
                    });
                }
            }
        }
        Contract { spec, operations }
    })
}

/// Asserts that `resp` conforms to the served document for `method path` (the template or a
/// concrete path), and returns its body.
#[track_caller]
pub fn conforming<'r>(method: &str, path: &str, resp: &'r super::Resp) -> &'r Value {
    if let Some(violation) = violation(method, path, resp.status, &resp.body) {
        panic!("{violation}");
    }
    &resp.body
}

/// The violation in one response, naming the field's path; `None` if it conforms.
pub fn violation(method: &str, path: &str, status: u16, body: &Value) -> Option<String> {
    let contract = contract();
    let segments: Vec<&str> = path.split('/').collect();
    let matches = |op: &&Operation| {
        op.method == method
            && op.segments.len() == segments.len()
            && op
                .segments
                .iter()
                .zip(&segments)
                .all(|(t, s)| t.starts_with('{') || t == s)
    };
    // A literal segment beats a parameter: prefer the template with the fewest parameters.
    let Some(op) = contract
        .operations
        .iter()
        .filter(matches)
        .min_by_key(|op| op.params)
    else {
        return Some(format!(
            "{method} {path} is not an operation of the contract"
        ));
    };
    let operation = &contract.spec["paths"][&op.template][method.to_lowercase()];
    // An operation counts as exercised only once it has succeeded: a suite that only ever
    // got refusals from it has not shown that it works.
    if (200..300).contains(&status) {
        exercised(operation["operationId"].as_str().unwrap_or_default());
    }
    let Some(response) = operation["responses"].get(status.to_string()) else {
        return Some(format!(
            "{method} {path} answered {status}, which the contract does not declare"
        ));
    };
    if response["content"]["application/json"]["schema"].is_null() {
        return None;
    }
    let pointer = [
        "paths",
        &op.template,
        &method.to_lowercase(),
        "responses",
        &status.to_string(),
        "content",
        "application/json",
        "schema",
    ]
    .iter()
    // A JSON pointer, written as a URI fragment.
    .map(|p| {
        p.replace('~', "~0")
            .replace('/', "~1")
            .replace('{', "%7B")
            .replace('}', "%7D")
    })
    .collect::<Vec<_>>()
    .join("/");
    let validators = VALIDATORS.get_or_init(Mutex::default);
    let mut validators = validators.lock().unwrap_or_else(|p| p.into_inner());
    let validator = validators.entry(pointer.clone()).or_insert_with(|| {
        // The whole document is the root, so that its local `$ref`s resolve; the root's `$ref`
        // picks this response's schema, and the document's other keys are not keywords.
        let mut root = contract.spec.clone();
        root["$ref"] = json!(format!("#/{pointer}"));
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .should_validate_formats(false)
            .build(&root)
            .expect("the contract's schemas compile")
    });
    validator.iter_errors(body).next().map(|error| {
        format!(
            "{method} {path} {status}: at {}: {error}",
            error.instance_path()
        )
    })
}

/// Notes that the Rust suite got a 2xx from an operation, in `target/coverage/rust.txt`, which
/// `scripts/coverage.py` reads to keep the README's coverage table true.
fn exercised(operation_id: &str) {
    use std::io::Write;
    static SEEN: OnceLock<Mutex<std::collections::HashSet<String>>> = OnceLock::new();
    let line = operation_id.to_owned();
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if seen.insert(line.clone()) {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/coverage");
        let _ = std::fs::create_dir_all(dir);
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(format!("{dir}/rust.txt"))
        {
            let _ = writeln!(file, "{line}");
        }
    }
}

/// A proxy in front of `upstream` that checks every response against the contract.
pub struct ContractProxy {
    pub addr: SocketAddr,
    violations: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

#[derive(Clone)]
struct Upstream {
    root: String,
    client: reqwest::Client,
    violations: Arc<Mutex<Vec<String>>>,
}

impl ContractProxy {
    pub async fn start(upstream_root: &str) -> ContractProxy {
        let violations = Arc::new(Mutex::new(Vec::new()));
        let upstream = Upstream {
            root: upstream_root.to_owned(),
            client: reqwest::Client::new(),
            violations: violations.clone(),
        };
        let app = axum::Router::new().fallback(forward).with_state(upstream);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        ContractProxy {
            addr,
            violations,
            task,
        }
    }

    /// Every violation seen so far, leaving none behind.
    pub fn take_violations(&self) -> Vec<String> {
        std::mem::take(&mut self.violations.lock().unwrap())
    }
}

impl Drop for ContractProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn forward(State(upstream): State<Upstream>, request: Request) -> Response {
    let method = request.method().clone();
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_default();
    let path = request.uri().path().to_owned();
    let mut headers: HeaderMap = request.headers().clone();
    headers.remove("host");
    let body: Bytes = axum::body::to_bytes(request.into_body(), 1 << 20)
        .await
        .unwrap_or_default();
    let sent = upstream
        .client
        .request(method.clone(), format!("{}{path_and_query}", upstream.root))
        .headers(headers)
        .body(body)
        .send()
        .await;
    let Ok(answer) = sent else {
        return Response::builder()
            .status(StatusCode::BAD_GATEWAY)
            .body(Body::empty())
            .unwrap();
    };
    let status = answer.status();
    let headers = answer.headers().clone();
    let bytes = answer.bytes().await.unwrap_or_default();
    let is_json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("application/json"));
    if is_json {
        let found = match serde_json::from_slice::<Value>(&bytes) {
            Ok(body) => violation(method.as_str(), &path, status.as_u16(), &body),
            Err(e) => Some(format!(
                "{method} {path}: a JSON content type over a body that is not JSON: {e}"
            )),
        };
        if let Some(found) = found {
            upstream.violations.lock().unwrap().push(found);
        }
    }
    let mut response = Response::builder().status(status);
    for (name, value) in &headers {
        if name != "content-length" && name != "transfer-encoding" {
            response = response.header(name, value);
        }
    }
    response.body(Body::from(bytes)).unwrap()
}
