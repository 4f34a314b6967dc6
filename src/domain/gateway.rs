//! The gateway's question, answered: may this project API key make this call? One decision,
//! from the facts the store loads for a key (`KeyFacts`) and the call (`Call`); the JSON check
//! and, later, forward auth are thin HTTP shapes over it. Denials carry the real service's
//! status and words, which gateways pass on to their callers.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use super::policy::{ModelPermissions, RateLimitValues, ToolPermissions};
use super::role::{Access, Grant, PERMISSIONS};
use super::secret;

/// The permission a call needs when the gateway does not say.
pub const DEFAULT_PERMISSION: &str = "api.model.request";

/// The hosted tools a project can turn off, as the contract names them.
pub const HOSTED_TOOLS: &[&str] = &[
    "file_search",
    "web_search",
    "image_generation",
    "mcp",
    "code_interpreter",
];

/// Who owns a key; serialized as the check's `owner` (`{"type": "user", "id", ...}`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Owner {
    User {
        id: String,
        email: String,
        name: String,
    },
    ServiceAccount {
        id: String,
        name: String,
    },
}

/// What the store knows of a key that verified (it exists, its project is active and its owner
/// has access to the project), with what its owner holds there.
#[derive(Clone, Debug)]
pub struct KeyFacts {
    pub key_id: String,
    pub key_name: String,
    pub org_id: String,
    pub project_id: String,
    pub project_name: String,
    pub owner: Owner,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// What the key may do: see `key_permissions`.
    pub permissions: BTreeSet<String>,
    /// The project's model permissions, if it has any.
    pub models: Option<ModelPermissions>,
    pub tools: ToolPermissions,
    /// The project's own rate limit values, by model (the catalogue has the organization's).
    pub rate_limits: BTreeMap<String, RateLimitValues>,
    /// The DER of the certificates active in the key's organization or project: when there are
    /// any, a call needs a client certificate signed by one of them.
    pub client_cas: Vec<Vec<u8>>,
}

/// What a key may do in its project: what its owner holds there (for a user her project role,
/// her custom project roles, her groups' roles in the project and her organization roles, since
/// an organization permission holds in every project; for a service account its role), limited
/// to the permissions a project role can hold, and narrowed to the key's scopes unless they are
/// empty.
pub fn key_permissions(
    scopes: &[String],
    grants: impl IntoIterator<Item = Grant>,
    project_id: &str,
) -> BTreeSet<String> {
    let access = Access::union(grants);
    PERMISSIONS
        .iter()
        .filter(|p| p.in_project && access.allows(Some(project_id), p.name))
        .map(|p| p.name)
        .filter(|name| scopes.is_empty() || scopes.iter().any(|s| s == name))
        .map(str::to_owned)
        .collect()
}

/// The call a gateway asks about.
#[derive(Clone, Debug)]
pub struct Call<'a> {
    /// The key as presented, for the words of a refusal (never shown whole).
    pub presented: &'a str,
    pub permission: &'a str,
    pub model: Option<&'a str>,
    pub tools: &'a [String],
    /// The PEM of the client certificate the gateway received, if any.
    pub client_certificate: Option<&'a str>,
}

/// Why a call is refused. Each has the status and the OpenAI error body the gateway should
/// answer its caller with, in the real service's words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Denial {
    /// Unknown, revoked or expired, of an archived project, or its owner without access.
    IncorrectKey { shown: String },
    /// The key verified, but neither its owner nor its scopes allow the permission.
    MissingPermission { permission: String },
    /// The project's model permissions exclude the model.
    ModelNotAllowed { project_id: String, model: String },
    /// The project turned the hosted tool off.
    ToolDisabled { project_id: String, tool: String },
    /// Certificates are active, and the call came without a client certificate they vouch for.
    ClientCertificateRequired { why: String },
}

impl Denial {
    pub fn status(&self) -> u16 {
        match self {
            Denial::IncorrectKey { .. }
            | Denial::MissingPermission { .. }
            | Denial::ClientCertificateRequired { .. } => 401,
            Denial::ModelNotAllowed { .. } | Denial::ToolDisabled { .. } => 403,
        }
    }

    pub fn kind(&self) -> &'static str {
        "invalid_request_error"
    }

    pub fn code(&self) -> Option<&'static str> {
        match self {
            Denial::IncorrectKey { .. } => Some("invalid_api_key"),
            Denial::ModelNotAllowed { .. } => Some("model_not_found"),
            Denial::ClientCertificateRequired { .. } => Some("client_certificate_required"),
            Denial::MissingPermission { .. } | Denial::ToolDisabled { .. } => None,
        }
    }

    pub fn message(&self) -> String {
        match self {
            Denial::IncorrectKey { shown } => format!(
                "Incorrect API key provided: {shown}. You can find your API key at \
                 https://platform.openai.com/account/api-keys."
            ),
            Denial::MissingPermission { permission } => format!(
                "You have insufficient permissions for this operation. Missing scopes: {permission}. \
                 Check that you have the correct role in your organization (Reader, Writer, Owner) \
                 and project (Member, Owner), and if you're using a restricted API key, that it has \
                 the necessary scopes."
            ),
            Denial::ModelNotAllowed { project_id, model } => {
                format!("Project `{project_id}` does not have access to model `{model}`")
            }
            Denial::ClientCertificateRequired { why } => format!(
                "A valid client certificate is required for this request: {why}. Present a \
                 certificate signed by one of the organization's or project's active certificates."
            ),
            Denial::ToolDisabled { project_id, tool } => format!(
                "The hosted tool `{tool}` is disabled for project `{project_id}`; an owner of the \
                 project can enable it in its hosted tool permissions."
            ),
        }
    }

    /// The denial's name, as metrics count it.
    pub fn label(&self) -> &'static str {
        match self {
            Denial::IncorrectKey { .. } => "incorrect_key",
            Denial::MissingPermission { .. } => "missing_permission",
            Denial::ModelNotAllowed { .. } => "model_not_allowed",
            Denial::ToolDisabled { .. } => "tool_disabled",
            Denial::ClientCertificateRequired { .. } => "client_certificate_required",
        }
    }

    /// Whether the key itself was accepted, so that the answer may say whose it is.
    pub fn key_verified(&self) -> bool {
        !matches!(self, Denial::IncorrectKey { .. })
    }
}

/// The one decision. `facts` is `None` for a key that does not verify.
pub fn decide(facts: Option<&KeyFacts>, call: &Call<'_>, now: i64) -> Result<(), Denial> {
    let Some(facts) = facts.filter(|f| f.expires_at.is_none_or(|at| at > now)) else {
        return Err(Denial::IncorrectKey {
            shown: secret::masked(call.presented),
        });
    };
    if !facts.client_cas.is_empty()
        && let Some(why) =
            super::certificate::client_refusal(call.client_certificate, &facts.client_cas, now)
    {
        return Err(Denial::ClientCertificateRequired { why });
    }
    if !facts.permissions.contains(call.permission) {
        return Err(Denial::MissingPermission {
            permission: call.permission.to_owned(),
        });
    }
    if let (Some(model), Some(models)) = (call.model, &facts.models)
        && !models.allows(model)
    {
        return Err(Denial::ModelNotAllowed {
            project_id: facts.project_id.clone(),
            model: model.to_owned(),
        });
    }
    if let Some(tool) = call.tools.iter().find(|t| !facts.tools.enabled(t)) {
        return Err(Denial::ToolDisabled {
            project_id: facts.project_id.clone(),
            tool: tool.clone(),
        });
    }
    Ok(())
}

/// One route of the OpenAI API and the permission a call to it needs. `path` is matched segment
/// by segment: `{}` stands for any one segment, a final `*` for any number (none included).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// `None`: any method.
    #[serde(default)]
    pub method: Option<Cow<'static, str>>,
    pub path: Cow<'static, str>,
    pub permission: Cow<'static, str>,
}

const fn route(
    method: Option<&'static str>,
    path: &'static str,
    permission: &'static str,
) -> Route {
    Route {
        method: match method {
            Some(m) => Some(Cow::Borrowed(m)),
            None => None,
        },
        path: Cow::Borrowed(path),
        permission: Cow::Borrowed(permission),
    }
}

/// The OpenAI API's routes that forward auth lets through, each with the permission of the
/// catalogue it needs, as the real service's restricted keys group them: the model capabilities
/// (chat, completions, embeddings, moderations, audio, images, realtime) need
/// `api.model.request`; every other resource reads with `GET` and writes with any other method.
const BUILT_IN_ROUTES: &[Route] = &[
    route(Some("POST"), "/v1/chat/completions", "api.model.request"),
    route(Some("POST"), "/v1/completions", "api.model.request"),
    route(Some("POST"), "/v1/embeddings", "api.model.request"),
    route(Some("POST"), "/v1/moderations", "api.model.request"),
    route(Some("POST"), "/v1/audio/*", "api.model.request"),
    route(Some("POST"), "/v1/images/*", "api.model.request"),
    route(None, "/v1/realtime/*", "api.model.request"),
    route(Some("GET"), "/v1/models", "api.model.read"),
    route(Some("GET"), "/v1/models/{}", "api.model.read"),
    route(Some("GET"), "/v1/responses/*", "api.responses.read"),
    route(None, "/v1/responses/*", "api.responses.write"),
    route(Some("GET"), "/v1/assistants/*", "api.assistants.read"),
    route(None, "/v1/assistants/*", "api.assistants.write"),
    route(Some("GET"), "/v1/threads/*", "api.threads.read"),
    route(None, "/v1/threads/*", "api.threads.write"),
    route(
        Some("GET"),
        "/v1/fine_tuning/*",
        "api.fine_tuning.jobs.read",
    ),
    route(None, "/v1/fine_tuning/*", "api.fine_tuning.jobs.write"),
    route(Some("GET"), "/v1/files/*", "api.files.read"),
    route(None, "/v1/files/*", "api.files.write"),
    route(None, "/v1/uploads/*", "api.files.write"),
    route(Some("GET"), "/v1/vector_stores/*", "api.vector_stores.read"),
    route(None, "/v1/vector_stores/*", "api.vector_stores.write"),
    route(Some("GET"), "/v1/batches/*", "api.batch.read"),
    route(None, "/v1/batches/*", "api.batch.write"),
];

/// The routes forward auth knows: an operator's own (`--gateway-routes`), which come first, then
/// the built-in ones. A route in neither is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl Default for RouteTable {
    fn default() -> Self {
        RouteTable {
            routes: BUILT_IN_ROUTES.to_vec(),
        }
    }
}

impl RouteTable {
    /// The built-in table with `json`'s routes before it: an array of `{"method", "path",
    /// "permission"}` (no `method`: any), each permission one a project role can hold.
    pub fn with_routes_from(json: &str) -> std::result::Result<RouteTable, String> {
        let mut routes: Vec<Route> = serde_json::from_str(json).map_err(|e| e.to_string())?;
        for route in &routes {
            if !route.path.starts_with('/') {
                return Err(format!("the path '{}' does not start with /", route.path));
            }
            if !PERMISSIONS
                .iter()
                .any(|p| p.in_project && p.name == route.permission)
            {
                return Err(format!(
                    "'{}' (for {}) is not a permission a project API key can hold",
                    route.permission, route.path
                ));
            }
        }
        routes.extend_from_slice(BUILT_IN_ROUTES);
        Ok(RouteTable { routes })
    }

    /// The permission `method path` needs, from the first route that matches; `None` for a route
    /// the table does not have. `path` may carry a query string, which is ignored.
    pub fn permission_for(&self, method: &str, path: &str) -> Option<&str> {
        let path = path.split(['?', '#']).next().unwrap_or_default();
        let segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
        self.routes
            .iter()
            .find(|route| {
                route
                    .method
                    .as_deref()
                    .is_none_or(|m| m.eq_ignore_ascii_case(method))
                    && matches_path(&route.path, &segments)
            })
            .map(|route| route.permission.as_ref())
    }
}

fn matches_path(pattern: &str, segments: &[&str]) -> bool {
    let pattern: Vec<&str> = pattern.split('/').collect();
    match pattern.split_last() {
        Some((&"*", prefix)) => {
            segments.len() >= prefix.len()
                && prefix
                    .iter()
                    .zip(segments)
                    .all(|(p, s)| segment_matches(p, s))
        }
        _ => {
            pattern.len() == segments.len()
                && pattern
                    .iter()
                    .zip(segments)
                    .all(|(p, s)| segment_matches(p, s))
        }
    }
}

fn segment_matches(pattern: &str, segment: &str) -> bool {
    pattern == segment || (pattern == "{}" && !segment.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::policy::ModelMode::{AllowList, DenyList};

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|n| (*n).to_owned()).collect()
    }

    /// The store turns each source (her project role, custom roles, her groups' roles, her
    /// organization role; a service account's role) into grants: what matters here is where
    /// each grant holds. The sources themselves are tested over HTTP (tests/it/gateway.rs).
    #[test]
    fn grants_count_in_the_keys_project_and_from_the_organization() {
        let held = key_permissions(
            &[],
            [Grant::of(Some("proj_a"), &["api.model.read"])],
            "proj_a",
        );
        assert_eq!(held, set(&["api.model.read"]));
        let elsewhere = key_permissions(
            &[],
            [Grant::of(Some("proj_b"), &["api.model.read"])],
            "proj_a",
        );
        assert!(elsewhere.is_empty(), "a grant in another project");
        // An organization role holds in every project, limited to what a project role can hold.
        let org = key_permissions(
            &[],
            [Grant::of(
                None,
                &["api.model.request", "api.organization.write"],
            )],
            "proj_a",
        );
        assert_eq!(org, set(&["api.model.request"]));
        // Grants add up.
        let all = key_permissions(
            &[],
            [
                Grant::of(None, &["api.model.read"]),
                Grant::of(Some("proj_a"), &["api.model.request"]),
                Grant::of(Some("proj_a"), &["api.responses.write"]),
            ],
            "proj_a",
        );
        assert_eq!(
            all,
            set(&["api.model.read", "api.model.request", "api.responses.write"])
        );
    }

    #[test]
    fn scopes_narrow_a_key_and_never_widen_it() {
        let grants = || {
            [Grant::of(
                Some("proj_a"),
                &["api.model.read", "api.model.request"],
            )]
        };
        let scoped = key_permissions(&["api.model.read".to_owned()], grants(), "proj_a");
        assert_eq!(scoped, set(&["api.model.read"]));
        let beyond = key_permissions(&["api.responses.write".to_owned()], grants(), "proj_a");
        assert!(
            beyond.is_empty(),
            "a scope the owner does not hold grants nothing"
        );
    }

    fn facts(permissions: &[&str], expires_at: Option<i64>) -> KeyFacts {
        KeyFacts {
            key_id: "key_1".into(),
            key_name: "k".into(),
            org_id: "org-1".into(),
            project_id: "proj_a".into(),
            project_name: "A".into(),
            owner: Owner::ServiceAccount {
                id: "svc_acct_1".into(),
                name: "bot".into(),
            },
            expires_at,
            last_used_at: None,
            permissions: set(permissions),
            models: None,
            tools: ToolPermissions::default(),
            rate_limits: BTreeMap::new(),
            client_cas: Vec::new(),
        }
    }

    #[test]
    fn routes_map_to_the_permission_they_need() {
        let table = RouteTable::default();
        let need = |method, path| table.permission_for(method, path);
        assert_eq!(
            need("POST", "/v1/chat/completions"),
            Some("api.model.request")
        );
        assert_eq!(
            need("post", "/v1/chat/completions?stream=true"),
            Some("api.model.request")
        );
        assert_eq!(need("POST", "/v1/responses"), Some("api.responses.write"));
        assert_eq!(
            need("GET", "/v1/responses/resp_1/input_items"),
            Some("api.responses.read")
        );
        assert_eq!(
            need("DELETE", "/v1/responses/resp_1"),
            Some("api.responses.write")
        );
        for (method, path, permission) in [
            ("POST", "/v1/files", "api.files.write"),
            ("GET", "/v1/files/file-1/content", "api.files.read"),
            ("POST", "/v1/uploads/upload_1/parts", "api.files.write"),
            ("POST", "/v1/batches/batch_1/cancel", "api.batch.write"),
            ("GET", "/v1/batches", "api.batch.read"),
            ("POST", "/v1/fine_tuning/jobs", "api.fine_tuning.jobs.write"),
            (
                "GET",
                "/v1/fine_tuning/jobs/ftjob-1/events",
                "api.fine_tuning.jobs.read",
            ),
            (
                "POST",
                "/v1/vector_stores/vs_1/search",
                "api.vector_stores.write",
            ),
            (
                "GET",
                "/v1/vector_stores/vs_1/files",
                "api.vector_stores.read",
            ),
            ("DELETE", "/v1/assistants/asst_1", "api.assistants.write"),
            ("GET", "/v1/assistants", "api.assistants.read"),
            ("POST", "/v1/threads/thread_1/runs", "api.threads.write"),
            ("GET", "/v1/threads/thread_1/messages", "api.threads.read"),
            ("POST", "/v1/images/generations", "api.model.request"),
        ] {
            assert_eq!(need(method, path), Some(permission), "{method} {path}");
        }
        assert_eq!(need("GET", "/v1/models"), Some("api.model.read"));
        assert_eq!(need("GET", "/v1/models/gpt-4o"), Some("api.model.read"));
        assert_eq!(
            need("POST", "/v1/audio/transcriptions"),
            Some("api.model.request")
        );
        assert_eq!(need("GET", "/v1/realtime"), Some("api.model.request"));
        assert_eq!(need("GET", "/v1/chat/completions"), None, "another method");
        assert_eq!(
            need("GET", "/v1/models/gpt-4o/extra"),
            None,
            "a segment too many"
        );
        assert_eq!(need("POST", "/v1/containers"), None, "not in the table");
        assert_eq!(
            need("GET", "/v1/filesystem"),
            None,
            "not a segment of the table's"
        );
        assert_eq!(need("POST", "/v1/chat/completions-x"), None);
    }

    #[test]
    fn an_operators_routes_come_first() {
        let table = RouteTable::with_routes_from(
            r#"[{"method": "POST", "path": "/v1/containers", "permission": "api.model.request"},
                {"path": "/v1/models/*", "permission": "api.model.request"}]"#,
        )
        .unwrap();
        assert_eq!(
            table.permission_for("POST", "/v1/containers"),
            Some("api.model.request")
        );
        assert_eq!(
            table.permission_for("GET", "/v1/models"),
            Some("api.model.request")
        );
        assert_eq!(
            table.permission_for("POST", "/v1/responses"),
            Some("api.responses.write")
        );
        for bad in [
            r#"[{"path": "/v1/x", "permission": "api.organization.write"}]"#,
            r#"[{"path": "v1/x", "permission": "api.model.read"}]"#,
            r#"[{"path": "/v1/x"}]"#,
            r#"[{"path": "/v1/x", "permission": "api.model.read", "methods": ["GET"]}]"#,
        ] {
            assert!(RouteTable::with_routes_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn denials_carry_the_real_services_status_and_words() {
        let call = Call {
            presented: "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
            permission: "api.model.request",
            model: None,
            tools: &[],
            client_certificate: None,
        };
        let unknown = decide(None, &call, 10).unwrap_err();
        assert_eq!(
            (unknown.status(), unknown.code()),
            (401, Some("invalid_api_key"))
        );
        assert!(unknown.message().starts_with(&format!(
            "Incorrect API key provided: sk-proj-{}0123.",
            "*".repeat(26)
        )));
        assert_eq!(
            decide(Some(&facts(&["api.model.request"], Some(10))), &call, 10).unwrap_err(),
            unknown,
            "an expired key is an incorrect one"
        );
        assert!(decide(Some(&facts(&["api.model.request"], Some(11))), &call, 10).is_ok());
        let missing = decide(Some(&facts(&["api.model.read"], None)), &call, 10).unwrap_err();
        assert_eq!((missing.status(), missing.code()), (401, None));
        assert!(
            missing
                .message()
                .contains("Missing scopes: api.model.request.")
        );
    }

    #[test]
    fn models_tools_and_certificates_each_refuse_in_their_own_words() {
        let tools = ["web_search".to_owned(), "mcp".to_owned()];
        let call = Call {
            presented: "sk-proj-abcdefghijklmnopqrstuvwxyz0123",
            permission: "api.model.request",
            model: Some("gpt-4o"),
            tools: &tools,
            client_certificate: None,
        };
        let open = facts(&["api.model.request"], None);
        assert_eq!(decide(Some(&open), &call, 10), Ok(()));

        let listing = |mode, models: &[&str]| KeyFacts {
            models: Some(ModelPermissions {
                mode,
                model_ids: models.iter().map(|m| m.to_string()).collect(),
            }),
            ..open.clone()
        };
        assert_eq!(
            decide(Some(&listing(AllowList, &["gpt-4o"])), &call, 10),
            Ok(())
        );
        assert_eq!(decide(Some(&listing(DenyList, &["o3"])), &call, 10), Ok(()));
        let not_allowed = Denial::ModelNotAllowed {
            project_id: "proj_a".into(),
            model: "gpt-4o".into(),
        };
        for refusing in [listing(AllowList, &["o3"]), listing(DenyList, &["gpt-4o"])] {
            assert_eq!(decide(Some(&refusing), &call, 10), Err(not_allowed.clone()));
        }

        let no_mcp = KeyFacts {
            tools: ToolPermissions {
                disabled: set(&["mcp"]),
            },
            ..open.clone()
        };
        let disabled = decide(Some(&no_mcp), &call, 10).unwrap_err();
        assert_eq!(
            disabled,
            Denial::ToolDisabled {
                project_id: "proj_a".into(),
                tool: "mcp".into()
            }
        );

        // With a certificate active, a call without a client certificate is refused.
        let ca = KeyFacts {
            client_cas: vec![vec![0x30]],
            ..open.clone()
        };
        let uncertified = decide(Some(&ca), &call, 10).unwrap_err();
        assert_eq!(
            uncertified,
            Denial::ClientCertificateRequired {
                why: "no client certificate was presented".into()
            }
        );

        for (denial, status, code, label) in [
            (
                &uncertified,
                401,
                Some("client_certificate_required"),
                "client_certificate_required",
            ),
            (
                &not_allowed,
                403,
                Some("model_not_found"),
                "model_not_allowed",
            ),
            (&disabled, 403, None, "tool_disabled"),
        ] {
            assert_eq!(
                (
                    denial.status(),
                    denial.code(),
                    denial.label(),
                    denial.kind()
                ),
                (status, code, label, "invalid_request_error")
            );
            assert!(denial.key_verified(), "{denial:?}");
        }
        let incorrect = decide(None, &call, 10).unwrap_err();
        assert_eq!(
            (
                incorrect.label(),
                incorrect.kind(),
                incorrect.key_verified()
            ),
            ("incorrect_key", "invalid_request_error", false)
        );
        let missing = decide(Some(&facts(&[], None)), &call, 10).unwrap_err();
        assert_eq!(
            (missing.label(), missing.key_verified()),
            ("missing_permission", true)
        );
    }
}
