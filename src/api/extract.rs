//! Request extractors whose rejections become envelope errors naming the offending field.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;
use crate::domain::Error;
use crate::domain::ids::{Id, Kind};

/// Requests larger than this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

/// A JSON request body.
pub struct Json<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(body_rejection)?;
        // Parsed as JSON first, then read as `T`: what is not JSON is told apart from a JSON
        // value of the wrong type, and every string is checked before any reaches the database.
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| parse_error())?;
        if let Some(path) = nul_in(&value) {
            return Err(nul_error(path.trim_start_matches('.')));
        }
        serde_path_to_error::deserialize(value)
            .map(Json)
            .map_err(json_error)
    }
}

/// The path of the first string (or object key) in `value` that holds a NUL character, which no
/// text column can store (PostgreSQL refuses it outright). Built only when one is found: this
/// runs on every body.
pub(super) fn nul_in(value: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0').then(String::new),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| nul_in(item).map(|rest| format!("[{i}]{rest}"))),
        Value::Object(fields) => fields.iter().find_map(|(name, field)| {
            if name.contains('\0') {
                Some(format!(".{name}"))
            } else {
                nul_in(field).map(|rest| format!(".{name}{rest}"))
            }
        }),
        _ => None,
    }
}

fn nul_error(param: &str) -> ApiError {
    ApiError::Domain(Error::Invalid {
        message: format!(
            "Invalid value for '{param}': it contains a NUL character (U+0000), which is not allowed."
        )
        .into(),
        param: Some(param.to_owned().into()),
        code: Some("invalid_value"),
    })
}

/// Query-string parameters; repeated keys (`project_ids[]=a&project_ids[]=b`) fill a `Vec`,
/// named without the brackets.
pub struct Query<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        // A list's name reads alike with brackets or without, in one query too
        // (`ids[]=a&ids=b`): the SDKs send `ids[]`, form encoders `ids`.
        let mut named = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(query.as_bytes()) {
            let name = name.trim_end_matches("[]");
            if value.contains('\0') {
                // `emails[]` names the parameter `emails`, as the contract does.
                return Err(nul_error(name));
            }
            named.append_pair(name, &value);
        }
        let named = named.finish();
        let deserializer =
            serde_html_form::Deserializer::new(form_urlencoded::parse(named.as_bytes()));
        serde_path_to_error::deserialize(deserializer)
            .map(Query)
            .map_err(|e| {
                // An error of the whole query (a parameter it needs is missing) is at its root,
                // which names no parameter.
                let param = Some(e.path().to_string()).filter(|path| path != ".");
                // A one-value parameter given twice (`limit=1&limit=2`) is refused by the
                // deserializer with a bare "unsupported value"; the query says what is wrong.
                let repeated = |name: &str| {
                    form_urlencoded::parse(named.as_bytes())
                        .filter(|(given, _)| given == name)
                        .nth(1)
                        .is_some()
                };
                let message = match &param {
                    Some(param) if repeated(param) => format!(
                        "Invalid query parameter '{param}': it is given more than once, and takes one value."
                    ),
                    Some(param) => format!(
                        "Invalid value for query parameter '{param}': {}.",
                        e.inner()
                    ),
                    None => format!("Invalid query parameters: {}.", e.inner()),
                };
                ApiError::Domain(Error::Invalid {
                    message: message.into(),
                    param: param.map(Into::into),
                    code: Some("invalid_value"),
                })
            })
    }
}

/// Path parameters.
pub struct Path<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Ok(raw) = RawPathParams::from_request_parts(parts, state).await
            && let Some((name, _)) = raw.iter().find(|(_, value)| value.contains('\0'))
        {
            return Err(nul_error(name));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e: PathRejection| {
                ApiError::Domain(Error::Invalid {
                    message: format!("Invalid path: {}", e.body_text()).into(),
                    param: None,
                    code: None,
                })
            })
    }
}

/// Object ids from the path, each checked for its kind's form before the handler runs (an id of
/// the wrong form is the 404 of an unknown one): `Ids<ProjectId>`, or
/// `Ids<(ProjectId, UserId)>` in the order the route names them.
pub struct Ids<T>(pub T);

pub trait FromPathIds: Sized {
    fn from_path(values: &mut dyn Iterator<Item = String>) -> Result<Self, Error>;
}

impl<K: Kind> FromPathIds for Id<K> {
    fn from_path(values: &mut dyn Iterator<Item = String>) -> Result<Self, Error> {
        Id::parse(values.next().unwrap_or_default())
    }
}

impl<A: Kind, B: Kind> FromPathIds for (Id<A>, Id<B>) {
    fn from_path(values: &mut dyn Iterator<Item = String>) -> Result<Self, Error> {
        Ok((Id::from_path(values)?, Id::from_path(values)?))
    }
}

impl<S: Send + Sync, T: FromPathIds> FromRequestParts<S> for Ids<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        // The same rejections as `Path` for what is not an id at all.
        let Path(values) = Path::<Vec<String>>::from_request_parts(parts, state).await?;
        Ok(Ids(T::from_path(&mut values.into_iter())?))
    }
}

fn body_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::PayloadTooLarge {
            limit_bytes: MAX_BODY_BYTES,
        }
    } else {
        ApiError::Domain(Error::Invalid {
            message: format!("Could not read the request body: {}", rejection.body_text()).into(),
            param: None,
            code: None,
        })
    }
}

fn parse_error() -> ApiError {
    ApiError::Domain(Error::Invalid {
        message: "We could not parse the JSON body of your request. The API expects a JSON object \
                  (Content-Type: application/json), but what was sent was not valid JSON."
            .into(),
        param: None,
        code: None,
    })
}

/// Turns serde's account of a bad body into a message a person understands, naming the field.
fn json_error(e: serde_path_to_error::Error<serde_json::Error>) -> ApiError {
    let path = e.path().to_string();
    let path = (path != ".").then_some(path);
    let full = e.inner().to_string();
    // serde_json appends the position; the field path says more.
    let detail = full
        .rsplit_once(" at line ")
        .map_or(full.as_str(), |(d, _)| d);
    let (message, param, code) = if let Some(field) = detail
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        let param = path.map_or_else(|| field.to_owned(), |p| format!("{p}.{field}"));
        (
            format!("Missing required parameter: '{param}'."),
            Some(param),
            "missing_required_parameter",
        )
    } else if let Some(param) = path {
        match detail.strip_prefix("invalid type: ") {
            // "integer `7`, expected a string": serde says an enum expects "string or map".
            Some(types) => (
                format!(
                    "Invalid type for '{param}': got {}.",
                    types.replace("expected string or map", "expected a string")
                ),
                Some(param),
                "invalid_type",
            ),
            None => (
                format!("Invalid value for '{param}': {detail}."),
                Some(param),
                "invalid_value",
            ),
        }
    } else {
        (
            format!("The request body must be a JSON object: {detail}."),
            None,
            "invalid_type",
        )
    };
    ApiError::Domain(Error::Invalid {
        message: message.into(),
        param: param.map(Into::into),
        code: Some(code),
    })
}
