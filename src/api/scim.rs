//! `/scim/v2`: SCIM 2.0 (RFC 7644) for an organization's identity provider. Discovery at the
//! base, Users and Groups; `application/scim+json` and SCIM's error bodies throughout. The
//! rules live in `domain/scim.rs`, the SQL in `store/scim.rs`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_MATCH, IF_NONE_MATCH, LOCATION};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use tower_http::catch_panic::CatchPanicLayer;

use super::AppState;
use super::error::ApiError;
use crate::domain::ids::UserId;
use crate::domain::scim::{
    self, GROUP_SCHEMA, LIST_SCHEMA, MAX_COUNT, PRECONDITION_FAILED, Precondition,
    ROSTER_USER_SCHEMA, Resource, ScimError, ScimGroup, ScimResult, ScimUser, USER_SCHEMA,
    Versions,
};
use crate::domain::secret;
use crate::store::scim::{GroupWithMembers, MemberChange, ScimToken, TOKEN_PREFIX};

/// Where SCIM is served.
pub const BASE_PATH: &str = "/scim/v2";

/// Whether `path` is SCIM's: its refusals are SCIM error bodies, even those made before routing.
pub fn is_scim(path: &str) -> bool {
    path.strip_prefix(BASE_PATH)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// A refusal made before routing (a body too large or framed twice, a request past its
/// deadline), as SCIM's error body: identity providers read no other.
pub fn refusal(error: ApiError) -> Response {
    match error {
        ApiError::Domain(error) => Refusal::from(error).into_response(),
        ApiError::PayloadTooLarge { limit_bytes } => Refusal(ScimError {
            status: StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
            scim_type: None,
            detail: super::error::too_large(limit_bytes),
        })
        .into_response(),
        other => other.into_response(),
    }
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ServiceProviderConfig", get(service_provider_config))
        .route("/ResourceTypes", get(resource_types))
        .route("/ResourceTypes/{name}", get(resource_type))
        .route("/Schemas", get(schemas))
        .route("/Schemas/{id}", get(schema))
        .route("/Users", get(list_users).post(create_user))
        .route("/Users/.search", post(search_users))
        .route(
            "/Users/{id}",
            get(retrieve_user)
                .put(replace_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .route("/Groups", get(list_groups).post(create_group))
        .route("/Groups/.search", post(search_groups))
        .route(
            "/Groups/{id}",
            get(retrieve_group)
                .put(replace_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route("/.search", post(search_everything))
        .route("/Me", any(no_me))
        .route("/Me/{*rest}", any(no_me))
        .route("/Bulk", any(no_bulk))
        .fallback(unknown)
        .layer(CatchPanicLayer::custom(panicked))
}

/// A handler's panic, answered in SCIM's error body: the layer around every route would answer
/// it in the Admin API's envelope, which identity providers do not read.
fn panicked(_: Box<dyn std::any::Any + Send>) -> Response {
    Refusal::from(crate::domain::Error::Internal(
        "a SCIM handler panicked".into(),
    ))
    .into_response()
}

/// A SCIM answer: `application/scim+json`, with the resource's ETag when it has one.
struct Scim {
    status: StatusCode,
    body: Value,
}

impl Scim {
    fn ok(body: Value) -> Scim {
        Scim {
            status: StatusCode::OK,
            body,
        }
    }

    /// An answer with no body (304, 204): only the version, as its `ETag`.
    fn bodiless(status: StatusCode, version: i64) -> Scim {
        Scim {
            status,
            body: json!({"meta": {"version": scim::etag(version)}}),
        }
    }
}

impl IntoResponse for Scim {
    fn into_response(self) -> Response {
        let version = self.body["meta"]["version"].as_str().map(str::to_owned);
        let location = (self.status == StatusCode::CREATED)
            .then(|| self.body["meta"]["location"].as_str().map(str::to_owned))
            .flatten();
        if matches!(
            self.status,
            StatusCode::NOT_MODIFIED | StatusCode::NO_CONTENT
        ) {
            let mut response = self.status.into_response();
            if let Some(value) = version.and_then(|v| HeaderValue::from_str(&v).ok()) {
                response.headers_mut().insert(ETAG, value);
            }
            return response;
        }
        let mut response = (self.status, self.body.to_string()).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        for (name, value) in [(ETAG, version), (LOCATION, location)] {
            if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
                headers.insert(name, value);
            }
        }
        response
    }
}

const SCIM_JSON: &str = "application/scim+json";

/// A refusal as SCIM's error body.
struct Refusal(ScimError);

impl From<ScimError> for Refusal {
    fn from(error: ScimError) -> Refusal {
        Refusal(error)
    }
}

impl From<crate::domain::Error> for Refusal {
    fn from(error: crate::domain::Error) -> Refusal {
        if let crate::domain::Error::Internal(cause) = &error {
            tracing::error!(%cause, "a SCIM request failed");
        }
        if let crate::domain::Error::Invalid {
            message,
            code: Some(PRECONDITION_FAILED),
            ..
        } = &error
        {
            return Refusal(ScimError {
                status: 412,
                scim_type: None,
                detail: message.to_string(),
            });
        }
        Refusal(error.into())
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::BAD_REQUEST);
        let mut response = (status, self.0.body().to_string()).into_response();
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"roster-scim\""),
            );
        }
        response
    }
}

type Answer = Result<Scim, Refusal>;

/// The identity provider, by its bearer token: one indexed lookup, compared in constant time.
struct Provider(ScimToken);

impl FromRequestParts<AppState> for Provider {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refusal> {
        let refused = |detail: &str| {
            Refusal(ScimError {
                status: 401,
                scim_type: None,
                detail: detail.to_owned(),
            })
        };
        let presented = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(super::auth::bearer)
            .ok_or_else(|| refused("Give the organization's SCIM token as a bearer token."))?;
        if !presented.starts_with(TOKEN_PREFIX) || presented.len() > 256 {
            return Err(refused("The SCIM token is not valid."));
        }
        let digest = secret::digest(presented);
        let token = state
            .store
            .authenticate_scim(&digest)
            .await?
            .filter(|t| secret::digests_match(&t.digest, &digest))
            .ok_or_else(|| refused("The SCIM token is not valid."))?;
        Ok(Provider(token))
    }
}

/// A User's or Group's id, from the path: one holding a NUL character, which no database
/// stores, is refused (400) as the Admin API refuses it, in SCIM's error body.
struct ResourceId(String);

impl<S: Send + Sync> FromRequestParts<S> for ResourceId {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        super::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map(|path| ResourceId(path.0))
            .map_err(refusal)
    }
}

/// A SCIM body: JSON, as `application/scim+json` or `application/json`.
struct Body(Value);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Body {
    type Rejection = Refusal;

    async fn from_request(req: axum::extract::Request, state: &S) -> Result<Self, Refusal> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let detail = match e.status() {
                StatusCode::PAYLOAD_TOO_LARGE => {
                    super::error::too_large(super::extract::MAX_BODY_BYTES)
                }
                _ => e.body_text(),
            };
            Refusal(ScimError {
                status: e.status().as_u16(),
                scim_type: None,
                detail,
            })
        })?;
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| ScimError::bad("invalidSyntax", format!("The body is not JSON: {e}")))?;
        if super::extract::nul_in(&value).is_some() {
            return Err(
                ScimError::bad("invalidValue", "Text may not contain NUL characters.").into(),
            );
        }
        Ok(Body(value))
    }
}

/// The SCIM base URL, for `location` and `$ref`.
fn base(state: &AppState) -> String {
    format!(
        "{}{BASE_PATH}",
        state.settings.public_url.trim_end_matches('/')
    )
}

/// RFC 7644 §3.4.3: a search of every resource type, Users then Groups, paged as one list. A
/// filter one type cannot read selects none of it.
async fn search_everything(
    State(state): State<AppState>,
    Provider(token): Provider,
    Body(body): Body,
) -> Answer {
    let request = ListRequest::from_search(body)?;
    let (start, count) = request.window();
    let (user_filter, group_filter) = (
        request.filter(Resource::User),
        request.filter(Resource::Group),
    );
    if let (Err(error), Err(_)) = (&user_filter, &group_filter) {
        return Err(error.clone().into());
    }
    let base = base(&state);
    let (users_total, users) = match &user_filter {
        Ok(filter) => {
            state
                .store
                .list_scim_users(&token.org_id, filter.as_ref(), start, count)
                .await?
        }
        Err(_) => (0, Vec::new()),
    };
    let mut resources: Vec<Value> = users
        .iter()
        .map(|u| request.shaped(u.resource(&base)))
        .collect();
    let group_start = (start - users_total).max(1);
    let group_count = count - resources.len() as i64;
    let (groups_total, groups) = match &group_filter {
        Ok(filter) => {
            state
                .store
                .list_scim_groups(
                    &token.org_id,
                    filter.as_ref(),
                    group_start,
                    group_count,
                    request.returns("members"),
                )
                .await?
        }
        Err(_) => (0, Vec::new()),
    };
    resources.extend(
        groups
            .iter()
            .map(|g| request.shaped(group_resource(&state, g))),
    );
    Ok(Scim::ok(list_response(
        resources,
        users_total + groups_total,
        start,
    )))
}

/// RFC 7644 §3.11: a provider without `/Me` answers 501. A SCIM token is the organization's,
/// not a person's, so there is no "me" to answer with.
async fn no_me() -> Refusal {
    Refusal(ScimError::not_implemented(
        "/Me is not supported: a SCIM token belongs to an organization, not to a person.",
    ))
}

/// RFC 7644 §3.7: bulk is optional, and the configuration says `bulk.supported: false`.
async fn no_bulk() -> Refusal {
    Refusal(ScimError::not_implemented(
        "Bulk operations are not supported (ServiceProviderConfig: bulk.supported is false): send each change on its own.",
    ))
}

async fn unknown() -> Refusal {
    Refusal(ScimError {
        status: 404,
        scim_type: None,
        detail: "No such SCIM endpoint.".to_owned(),
    })
}

async fn service_provider_config(State(state): State<AppState>, _: Provider) -> Scim {
    Scim::ok(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "documentationUri": "https://github.com/roster-iam/roster#scim",
        "patch": {"supported": true},
        "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": true, "maxResults": MAX_COUNT},
        "changePassword": {"supported": false},
        "sort": {"supported": false},
        "etag": {"supported": true},
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "Bearer token",
            "description": "The organization's SCIM token, made with `roster scim token create`.",
            "primary": true,
        }],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": format!("{}/ServiceProviderConfig", base(&state)),
        },
    }))
}

fn resource_type_list(state: &AppState) -> Vec<Value> {
    let base = base(state);
    vec![
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "User",
            "name": "User",
            "endpoint": "/Users",
            "description": "A user of the organization",
            "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ROSTER_USER_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User")},
        }),
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "A group of the organization's users",
            "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group")},
        }),
    ]
}

fn list_response(resources: Vec<Value>, total: i64, start_index: i64) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

async fn resource_types(State(state): State<AppState>, _: Provider) -> Scim {
    let types = resource_type_list(&state);
    let total = types.len() as i64;
    Scim::ok(list_response(types, total, 1))
}

async fn resource_type(
    State(state): State<AppState>,
    _: Provider,
    Path(name): Path<String>,
) -> Answer {
    resource_type_list(&state)
        .into_iter()
        .find(|t| t["id"] == name.as_str())
        .map(Scim::ok)
        .ok_or_else(|| ScimError::not_found("resource type", &name).into())
}

async fn schemas(State(state): State<AppState>, _: Provider) -> Scim {
    let all = scim::schemas(&base(&state));
    let total = all.len() as i64;
    Scim::ok(list_response(all, total, 1))
}

async fn schema(State(state): State<AppState>, _: Provider, Path(id): Path<String>) -> Answer {
    scim::schemas(&base(&state))
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(Scim::ok)
        .ok_or_else(|| ScimError::not_found("schema", &id).into())
}

/// A list's request, from the query or a `.search` body: `filter`, 1-based `startIndex`,
/// `count`, and which attributes to answer with (which any answer with a resource reads from its
/// query).
#[derive(Debug, Default, Deserialize)]
struct ListRequest {
    filter: Option<String>,
    #[serde(rename = "startIndex", default, deserialize_with = "number")]
    start_index: Option<i64>,
    #[serde(default, deserialize_with = "number")]
    count: Option<i64>,
    #[serde(default, deserialize_with = "names")]
    attributes: Vec<String>,
    #[serde(rename = "excludedAttributes", default, deserialize_with = "names")]
    excluded_attributes: Vec<String>,
}

/// A number, in a query (text) or a body (a number).
fn number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom("not an integer")),
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("'{s}' is not an integer"))),
        Some(_) => Err(serde::de::Error::custom("not an integer")),
    }
}

/// Attribute names, comma-separated in a query or a list in a body.
fn names<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let split = |s: &str| -> Vec<String> {
        s.split(',')
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .collect()
    };
    match Option::<Value>::deserialize(d)? {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(split(&s)),
        Some(Value::Array(items)) => Ok(items
            .iter()
            .filter_map(Value::as_str)
            .flat_map(split)
            .collect()),
        Some(_) => Err(serde::de::Error::custom("a list of attribute names")),
    }
}

impl ListRequest {
    fn from_query(query: Option<&str>) -> ScimResult<ListRequest> {
        let pairs: Vec<(String, String)> = serde_html_form::from_str(query.unwrap_or_default())
            .map_err(|e| {
                ScimError::bad("invalidValue", format!("The query cannot be read: {e}"))
            })?;
        // A repeated list of names adds to it; a repeated one-value parameter would leave one of
        // its values unheard (a second `filter` widening the answer), so it is refused.
        let mut object = serde_json::Map::new();
        for (name, value) in pairs {
            match object.get_mut(&name) {
                None => {
                    object.insert(name, Value::String(value));
                }
                Some(Value::String(names))
                    if ["attributes", "excludedAttributes"].contains(&name.as_str()) =>
                {
                    names.push(',');
                    names.push_str(&value);
                }
                Some(_) if ["filter", "startIndex", "count"].contains(&name.as_str()) => {
                    return Err(ScimError::bad(
                        "invalidValue",
                        format!(
                            "The query parameter '{name}' is given more than once, and takes one value."
                        ),
                    ));
                }
                // A parameter Roster does not read, as any other it does not know.
                Some(_) => {}
            }
        }
        serde_json::from_value(Value::Object(object))
            .map_err(|e| ScimError::bad("invalidValue", format!("The query cannot be read: {e}")))
    }

    fn from_search(body: Value) -> ScimResult<ListRequest> {
        serde_json::from_value(body).map_err(|e| {
            ScimError::bad(
                "invalidSyntax",
                format!("The search request cannot be read: {e}"),
            )
        })
    }

    /// RFC 7644 §3.4.2.4: a `startIndex` under 1 is 1; a negative `count` is 0.
    fn window(&self) -> (i64, i64) {
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(100).clamp(0, MAX_COUNT);
        (start, count)
    }

    fn filter(&self, resource: Resource) -> ScimResult<Option<scim::Condition>> {
        self.filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| scim::parse_filter(f, resource))
            .transpose()
    }

    /// Whether the request names the attributes to answer with (either parameter).
    fn names_attributes(&self) -> bool {
        !self.attributes.is_empty() || !self.excluded_attributes.is_empty()
    }

    /// Whether the answer carries the top-level attribute `name`.
    fn returns(&self, name: &str) -> bool {
        scim::returns(name, &self.attributes, &self.excluded_attributes)
    }

    /// `resource` with the attributes asked for.
    fn shaped(&self, mut resource: Value) -> Value {
        scim::project(&mut resource, &self.attributes, &self.excluded_attributes);
        resource
    }
}

async fn users_page(state: &AppState, token: &ScimToken, request: ListRequest) -> Answer {
    let (start, count) = request.window();
    let filter = request.filter(Resource::User)?;
    let (total, users) = state
        .store
        .list_scim_users(&token.org_id, filter.as_ref(), start, count)
        .await?;
    let base = base(state);
    let resources = users
        .iter()
        .map(|u| request.shaped(u.resource(&base)))
        .collect();
    Ok(Scim::ok(list_response(resources, total, start)))
}

async fn list_users(
    State(state): State<AppState>,
    Provider(token): Provider,
    RawQuery(query): RawQuery,
) -> Answer {
    users_page(&state, &token, ListRequest::from_query(query.as_deref())?).await
}

async fn search_users(
    State(state): State<AppState>,
    Provider(token): Provider,
    Body(body): Body,
) -> Answer {
    users_page(&state, &token, ListRequest::from_search(body)?).await
}

async fn retrieve_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer {
    let request = ListRequest::from_query(query.as_deref())?;
    let user = state.store.get_scim_user(&token.org_id, &id).await?;
    read(&headers, ("User", &id, user.version), || {
        Ok(request.shaped(user.resource(&base(&state))))
    })
}

async fn create_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Answer {
    let shape = ListRequest::from_query(query.as_deref())?;
    let user = ScimUser::from_resource(&body)?;
    let created = state.store.create_scim_user(&token.author(), &user).await?;
    Ok(Scim {
        status: StatusCode::CREATED,
        body: shape.shaped(created.resource(&base(&state))),
    })
}

/// The conditions `If-Match` and `If-None-Match` set on the version of the resource named.
fn precondition(headers: &HeaderMap) -> ScimResult<Precondition> {
    let versions = |name: &str, header| {
        headers
            .get(&header)
            .map(|value| Versions::parse(name, value.to_str().unwrap_or_default()))
            .transpose()
    };
    Ok(Precondition {
        if_match: versions("If-Match", IF_MATCH)?,
        if_none_match: versions("If-None-Match", IF_NONE_MATCH)?,
    })
}

/// A read of `what` `id` at `version`: 304 Not Modified (its ETag, no body) when the client
/// holds that version already (`If-None-Match`), 412 when it asked for another (`If-Match`).
fn read(
    headers: &HeaderMap,
    (what, id, version): (&str, &str, i64),
    resource: impl FnOnce() -> ScimResult<Value>,
) -> Answer {
    let precondition = precondition(headers)?;
    if precondition.unchanged(version) {
        return Ok(Scim::bodiless(StatusCode::NOT_MODIFIED, version));
    }
    if !precondition.holds(version) {
        return Err(scim::changed_since(what, id, version).into());
    }
    Ok(Scim::ok(resource()?))
}

async fn replace_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Answer {
    let shape = ListRequest::from_query(query.as_deref())?;
    let user = ScimUser::from_resource(&body)?;
    let replaced = state
        .store
        .change_scim_user(&token.author(), &id, &precondition(&headers)?, |_| {
            Ok(user.clone())
        })
        .await?;
    Ok(Scim::ok(shape.shaped(replaced.resource(&base(&state)))))
}

async fn patch_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Answer {
    let shape = ListRequest::from_query(query.as_deref())?;
    let operations = scim::patch_operations(&body)?;
    let base = base(&state);
    let patched = state
        .store
        .change_scim_user(&token.author(), &id, &precondition(&headers)?, |current| {
            let mut resource = current.resource(&base);
            scim::apply_patch(&mut resource, &operations)?;
            Ok(ScimUser::from_resource(&resource)?)
        })
        .await?;
    Ok(Scim::ok(shape.shaped(patched.resource(&base))))
}

async fn delete_user(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    let user_id = UserId::parse(id.clone()).map_err(|_| ScimError::not_found("user", &id))?;
    state
        .store
        .delete_user(&token.author(), &user_id, Some(&precondition(&headers)?))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

fn group_resource(state: &AppState, (group, members): &GroupWithMembers) -> Value {
    group.resource(&base(state), members)
}

async fn groups_page(state: &AppState, token: &ScimToken, request: ListRequest) -> Answer {
    let (start, count) = request.window();
    let filter = request.filter(Resource::Group)?;
    let (total, groups) = state
        .store
        .list_scim_groups(
            &token.org_id,
            filter.as_ref(),
            start,
            count,
            request.returns("members"),
        )
        .await?;
    let resources = groups
        .iter()
        .map(|g| request.shaped(group_resource(state, g)))
        .collect();
    Ok(Scim::ok(list_response(resources, total, start)))
}

async fn list_groups(
    State(state): State<AppState>,
    Provider(token): Provider,
    RawQuery(query): RawQuery,
) -> Answer {
    groups_page(&state, &token, ListRequest::from_query(query.as_deref())?).await
}

async fn search_groups(
    State(state): State<AppState>,
    Provider(token): Provider,
    Body(body): Body,
) -> Answer {
    groups_page(&state, &token, ListRequest::from_search(body)?).await
}

async fn retrieve_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Answer {
    let request = ListRequest::from_query(query.as_deref())?;
    let group = state
        .store
        .get_scim_group(&token.org_id, &id, request.returns("members"))
        .await?;
    read(&headers, ("Group", &id, group.0.version), || {
        Ok(request.shaped(group_resource(&state, &group)))
    })
}

async fn create_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Answer {
    let shape = ListRequest::from_query(query.as_deref())?;
    let group = ScimGroup::from_resource(&body)?;
    let created = state
        .store
        .create_scim_group(&token.author(), &group)
        .await?;
    Ok(Scim {
        status: StatusCode::CREATED,
        body: shape.shaped(group_resource(&state, &created)),
    })
}

async fn replace_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Answer {
    let shape = ListRequest::from_query(query.as_deref())?;
    let group = ScimGroup::from_resource(&body)?;
    let replaced = state
        .store
        .change_scim_group(
            &token.author(),
            &id,
            &precondition(&headers)?,
            MemberChange::Replaced,
            |_, _| Ok(group.clone()),
            shape.returns("members"),
        )
        .await?;
    Ok(Scim::ok(shape.shaped(group_resource(&state, &replaced))))
}

async fn patch_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    Body(body): Body,
) -> Answer {
    let shape = ListRequest::from_query(query.as_deref())?;
    let operations = scim::patch_operations(&body)?;
    // Members added or removed by id change alone; any other form patches the group whole.
    let by_id = scim::member_changes(&operations);
    let (members, operations) = match &by_id {
        Some(changes) => (MemberChange::Named(&changes.members), &changes.others),
        None => (MemberChange::Replaced, &operations),
    };
    let base = base(&state);
    let patched = state
        .store
        .change_scim_group(
            &token.author(),
            &id,
            &precondition(&headers)?,
            members,
            |current, members| {
                let mut resource = current.resource(&base, members);
                scim::apply_patch(&mut resource, operations)?;
                Ok(ScimGroup::from_resource(&resource)?)
            },
            shape.names_attributes() && shape.returns("members"),
        )
        .await?;
    // 204 and the new ETag, as Microsoft asks of a group PATCH ("returning a body with a list of
    // all the members isn't advisable") and RFC 7644 §3.5.2 allows, unless the request names the
    // attributes to answer with.
    if !shape.names_attributes() {
        return Ok(Scim::bodiless(StatusCode::NO_CONTENT, patched.0.version));
    }
    Ok(Scim::ok(shape.shaped(group_resource(&state, &patched))))
}

async fn delete_group(
    State(state): State<AppState>,
    Provider(token): Provider,
    ResourceId(id): ResourceId,
    headers: HeaderMap,
) -> Result<StatusCode, Refusal> {
    state
        .store
        .delete_scim_group(&token.author(), &id, &precondition(&headers)?)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic answers 500 in SCIM's error body, as every other SCIM refusal.
    #[tokio::test]
    async fn a_panic_is_answered_in_scims_error_body() {
        let response = panicked(Box::new("boom"));
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(response.headers()[CONTENT_TYPE], SCIM_JSON);
        let body = axum::body::to_bytes(response.into_body(), 4096)
            .await
            .unwrap();
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
        );
        assert_eq!(body["status"], "500");
    }
}
