//! SCIM 2.0 (RFC 7643, RFC 7644), no I/O: what an identity provider sends, read into Roster's
//! users and groups, and the resources answered (`resource`); filters turned into conditions the
//! store serves from its indexes (`filter`); PATCH operations applied to a resource (`patch`);
//! the attributes a response carries (`projection`); versions and preconditions (`version`).
//! Here: the schemas' names, SCIM's error, and reading attributes.
//!
//! Attribute names are case-insensitive (RFC 7643 §2.1): Entra ID and Okta spell them
//! differently, so every read goes through `attr`.

use serde_json::{Map, Value, json};

mod filter;
mod patch;
mod projection;
mod resource;
mod version;

pub use filter::{Column, Condition, Op, Operand, Resource, parse_filter};
pub use patch::{
    MemberChanges, PatchOp, PatchOperation, apply_patch, member_changes, patch_operations,
};
pub use projection::{project, returns};
pub use resource::{ScimGroup, ScimUser, StoredGroup, StoredUser, date_time, schemas};
pub use version::{PRECONDITION_FAILED, Precondition, Versions, changed_since, etag};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Roster's extension of the User: the organization role.
pub const ROSTER_USER_SCHEMA: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:User";
/// The enterprise extension of the User (RFC 7643 §4.3).
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Results a list answers at most, whatever `count` asks (ServiceProviderConfig says so).
pub const MAX_COUNT: i64 = 200;

/// A refusal in SCIM's terms (RFC 7644 §3.12): the status and, for a 400, its `scimType`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimError {
    pub status: u16,
    pub scim_type: Option<&'static str>,
    pub detail: String,
}

impl ScimError {
    pub fn bad(scim_type: &'static str, detail: impl Into<String>) -> ScimError {
        ScimError {
            status: 400,
            scim_type: Some(scim_type),
            detail: detail.into(),
        }
    }

    pub fn not_found(what: &str, id: &str) -> ScimError {
        ScimError {
            status: 404,
            scim_type: None,
            detail: format!("No {what} with id '{id}'."),
        }
    }

    /// 501: what RFC 7644 leaves optional and Roster does not serve.
    pub fn not_implemented(detail: impl Into<String>) -> ScimError {
        ScimError {
            status: 501,
            scim_type: None,
            detail: detail.into(),
        }
    }

    pub fn body(&self) -> Value {
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": self.status.to_string(),
            "detail": self.detail,
        });
        if let Some(scim_type) = self.scim_type {
            body["scimType"] = json!(scim_type);
        }
        body
    }
}

pub type ScimResult<T> = std::result::Result<T, ScimError>;

/// The attribute of `object` named `name`, whatever its case.
pub fn attr<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
        .filter(|value| !value.is_null())
}

fn string_attr(object: &Value, name: &str) -> ScimResult<Option<String>> {
    match attr(object, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ScimError::bad(
            "invalidValue",
            format!("'{name}' must be a string."),
        )),
    }
}

/// A string attribute without the spaces at its ends; `None` when it is absent or blank.
fn trimmed_attr(object: &Value, name: &str) -> ScimResult<Option<String>> {
    Ok(string_attr(object, name)?
        .map(|text| text.trim().to_owned())
        .filter(|text| !text.is_empty()))
}

/// A boolean, also as the strings "True" and "False" that Entra ID sends in PATCH.
fn boolean(value: &Value, name: &str) -> ScimResult<bool> {
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(ScimError::bad(
            "invalidValue",
            format!("'{name}' must be true or false."),
        )),
    }
}

/// The domain's refusals in SCIM's terms: a `code` that is a SCIM type keeps it; a taken
/// name is 409 `uniqueness`.
impl From<super::Error> for ScimError {
    fn from(error: super::Error) -> ScimError {
        use super::Error;
        let status = |status: u16, detail: String| ScimError {
            status,
            scim_type: None,
            detail,
        };
        match error {
            Error::Invalid {
                message,
                code: Some("uniqueness"),
                ..
            } => ScimError {
                status: 409,
                scim_type: Some("uniqueness"),
                detail: message.into_owned(),
            },
            Error::Invalid { message, code, .. } => ScimError::bad(
                code.filter(|c| SCIM_TYPES.contains(c))
                    .unwrap_or("invalidValue"),
                message.into_owned(),
            ),
            Error::NotFound { message, .. } => status(404, message),
            Error::Unauthenticated { message } => status(401, message),
            Error::Contention(_) | Error::Unavailable(_) | Error::TimedOut(_) => {
                status(503, error.retry_advice().unwrap_or_default().to_owned())
            }
            Error::Internal(_) => status(500, "Roster could not complete the request.".to_owned()),
        }
    }
}

/// RFC 7644 §3.12's `scimType`s.
const SCIM_TYPES: [&str; 9] = [
    "invalidFilter",
    "tooMany",
    "uniqueness",
    "mutability",
    "invalidSyntax",
    "invalidPath",
    "noTarget",
    "invalidValue",
    "invalidVers",
];

/// A SCIM refusal met inside a store transaction, carried as the domain's error.
impl From<ScimError> for super::Error {
    fn from(error: ScimError) -> super::Error {
        match error.status {
            404 => super::Error::NotFound {
                message: error.detail,
                param: None,
            },
            _ => super::Error::Invalid {
                message: error.detail.into(),
                param: None,
                code: error.scim_type.or(Some("invalidValue")),
            },
        }
    }
}

/// `urn:...:User:role` as the extension's schema and its attribute; `None` for a plain
/// attribute, or an extension named whole (`urn:...:User`).
fn extension_attribute(name: &str) -> Option<(&str, &str)> {
    if !name.starts_with("urn:") || EXTENSIONS.iter().any(|e| e.eq_ignore_ascii_case(name)) {
        return None;
    }
    name.rsplit_once(':')
}

/// The extension schemas a User may carry.
const EXTENSIONS: [&str; 2] = [ROSTER_USER_SCHEMA, ENTERPRISE_USER_SCHEMA];

fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_versions_and_schemas_are_shaped_as_rfc_7644_says() {
        assert_eq!(
            ScimError::bad("invalidValue", "Bad.").body(),
            json!({"schemas": [ERROR_SCHEMA], "status": "400", "detail": "Bad.", "scimType": "invalidValue"})
        );
        assert_eq!(
            ScimError::not_found("User", "u1").body(),
            json!({"schemas": [ERROR_SCHEMA], "status": "404", "detail": "No User with id 'u1'."})
        );
        assert_eq!(etag(3), "W/\"3\"");
        assert_eq!(
            Versions::parse("If-Match", &etag(3)).unwrap(),
            Versions::Listed(vec![3])
        );
        let served = schemas("https://roster.example/scim/v2");
        let ids: Vec<&str> = served.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                USER_SCHEMA,
                GROUP_SCHEMA,
                ENTERPRISE_USER_SCHEMA,
                ROSTER_USER_SCHEMA
            ]
        );
        let user_name = &served[0]["attributes"][0];
        assert_eq!(
            (
                &user_name["name"],
                &user_name["type"],
                &user_name["uniqueness"]
            ),
            (&json!("userName"), &json!("string"), &json!("server"))
        );
        assert_eq!(user_name["mutability"], "readWrite", "the defaults stay");
    }

    #[test]
    fn a_scim_refusal_inside_a_transaction_keeps_its_status_and_type() {
        use crate::domain::Error;
        match Error::from(ScimError::not_found("User", "u1")) {
            Error::NotFound { message, .. } => assert_eq!(message, "No User with id 'u1'."),
            other => panic!("{other:?}"),
        }
        match Error::from(ScimError::bad("noTarget", "Nothing there.")) {
            Error::Invalid { message, code, .. } => {
                assert_eq!(
                    (message.as_ref(), code),
                    ("Nothing there.", Some("noTarget"))
                )
            }
            other => panic!("{other:?}"),
        }
    }
}
