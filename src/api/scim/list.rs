//! Lists (RFC 7644 §3.4.2, §3.4.3): a request read from the query or a `.search` body, and the
//! search across every resource type.

use axum::extract::{FromRequest, Request, State};
use axum::http::Method;
use serde::Deserialize;
use serde_json::Value;

use super::*;
use crate::domain::scim::{self, MAX_COUNT, Resource};

/// A list's request, from the query or a `.search` body: `filter`, 1-based `startIndex`,
/// `count`, and which attributes to answer with (which any answer with a resource reads from its
/// query, as `Shape`).
#[derive(Debug, Default, Deserialize)]
pub(super) struct ListRequest {
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

/// Attribute names, comma-separated in a query (or the parameter repeated) or a list in a body.
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
        // A name given twice reads as a list: a list of names takes it, and a one-value
        // parameter refuses it (a second `filter` left unheard would widen the answer).
        let mut object = serde_json::Map::new();
        let mut repeated = Vec::new();
        for (name, value) in pairs {
            match object.get_mut(&name) {
                None => {
                    object.insert(name, Value::String(value));
                }
                Some(Value::Array(values)) => values.push(Value::String(value)),
                Some(first) => {
                    *first = Value::Array(vec![first.take(), Value::String(value)]);
                    repeated.push(name);
                }
            }
        }
        serde_path_to_error::deserialize(Value::Object(object)).map_err(|e| {
            let param = e.path().to_string();
            let detail = match repeated.contains(&param) {
                true => format!(
                    "The query parameter '{param}' is given more than once, and takes one value."
                ),
                false => format!("The query cannot be read: {}", e.inner()),
            };
            ScimError::bad("invalidValue", detail)
        })
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
    pub(super) fn window(&self) -> (i64, i64) {
        let start = self.start_index.unwrap_or(1).max(1);
        let count = self.count.unwrap_or(100).clamp(0, MAX_COUNT);
        (start, count)
    }

    pub(super) fn filter(&self, resource: Resource) -> ScimResult<Option<scim::Condition>> {
        self.filter
            .as_deref()
            .filter(|f| !f.trim().is_empty())
            .map(|f| scim::parse_filter(f, resource))
            .transpose()
    }

    /// Whether the request names the attributes to answer with (either parameter).
    pub(super) fn names_attributes(&self) -> bool {
        !self.attributes.is_empty() || !self.excluded_attributes.is_empty()
    }

    /// Whether the answer carries the top-level attribute `name`.
    pub(super) fn returns(&self, name: &str) -> bool {
        scim::returns(name, &self.attributes, &self.excluded_attributes)
    }

    /// `resource` with the attributes asked for.
    pub(super) fn shaped(&self, mut resource: Value) -> Value {
        scim::project(&mut resource, &self.attributes, &self.excluded_attributes);
        resource
    }
}

/// A list's request from the query of a `GET`, or from the body of a `POST .../.search`: one
/// handler answers both.
impl<S: Send + Sync> FromRequest<S> for ListRequest {
    type Rejection = Refusal;

    async fn from_request(req: Request, state: &S) -> Result<Self, Refusal> {
        if req.method() == Method::POST {
            let Body(body) = Body::from_request(req, state).await?;
            return Ok(ListRequest::from_search(body)?);
        }
        Ok(ListRequest::from_query(req.uri().query())?)
    }
}

/// Which attributes an answer with a resource carries (`attributes`, `excludedAttributes`),
/// from the request's query; a query that cannot be read is refused before anything changes.
pub(super) struct Shape(pub(super) ListRequest);

impl<S: Send + Sync> FromRequestParts<S> for Shape {
    type Rejection = Refusal;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Refusal> {
        Ok(Shape(ListRequest::from_query(parts.uri.query())?))
    }
}

/// RFC 7644 §3.4.3: a search of every resource type, Users then Groups, paged as one list. A
/// filter one type cannot read selects none of it.
pub(super) async fn search_everything(
    State(state): State<AppState>,
    Provider(token): Provider,
    request: ListRequest,
) -> Answer {
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
