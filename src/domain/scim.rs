//! SCIM 2.0 (RFC 7643, RFC 7644): what an identity provider sends, read into Roster's users and
//! groups; filters turned into conditions the store serves from its indexes; PATCH operations
//! applied to a resource. No I/O.
//!
//! Attribute names are case-insensitive (RFC 7643 §2.1): Entra ID and Okta spell them
//! differently, so every read goes through `attr`.

use std::collections::{HashMap, HashSet};

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, PatchPath, ValFilter};
use serde_json::{Map, Value, json};

use super::user::{self, OrgRole};
use super::{group, name};

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Roster's extension of the User: the organization role.
pub const ROSTER_USER_SCHEMA: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:User";
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

/// A user as the identity provider describes her.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimUser {
    pub user_name: String,
    /// The primary (or first) address of `emails`, else `userName` when it is one; normalised.
    pub email: String,
    /// `displayName`, else `name.formatted`, else given and family names, else `userName`.
    pub display_name: String,
    /// Unless the identity provider says otherwise.
    pub active: bool,
    pub external_id: Option<String>,
    pub role: OrgRole,
    /// The resource as sent, less `id` and `meta`: what is shown back.
    pub resource: Value,
}

impl ScimUser {
    /// Reads a User resource (a POST or PUT body, or a resource after PATCH).
    pub fn from_resource(resource: &Value) -> ScimResult<ScimUser> {
        if !resource.is_object() {
            return Err(ScimError::bad(
                "invalidSyntax",
                "The body must be a JSON object.",
            ));
        }
        let user_name = string_attr(resource, "userName")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::bad("invalidValue", "'userName' is required."))?;
        let user_name = name::NameRule {
            called: "'userName'",
            param: "userName",
            min_chars: 1,
            max_chars: MAX_INDEXED_CHARS,
        }
        .check(&user_name)?;
        let emails = attr(resource, "emails").cloned();
        let listed = match &emails {
            None => Vec::new(),
            Some(Value::Array(items)) => items.clone(),
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    "'emails' must be a list of {\"value\": ...} objects.",
                ));
            }
        };
        let primary = listed
            .iter()
            .find(|e| attr(e, "primary").is_some_and(|p| boolean(p, "primary").unwrap_or(false)))
            .or(listed.first());
        let address = match primary {
            Some(entry) => string_attr(entry, "value")?.ok_or_else(|| {
                ScimError::bad("invalidValue", "Each of 'emails' needs a 'value'.")
            })?,
            None => user_name.clone(),
        };
        let email = user::validate_email(&address, "email").map_err(|_| {
            ScimError::bad(
                "invalidValue",
                format!("'{address}' is not an email address Roster can send to: give one in 'emails' or as 'userName'."),
            )
        })?;
        let name = attr(resource, "name").cloned();
        if name.as_ref().is_some_and(|n| !n.is_object()) {
            return Err(ScimError::bad("invalidValue", "'name' must be an object."));
        }
        let display_name = name::NameRule {
            called: "The user's name (displayName, else name)",
            param: "displayName",
            min_chars: 1,
            max_chars: MAX_INDEXED_CHARS,
        }
        .check(&display_name(resource, name.as_ref(), &user_name)?)?;
        let active = attr(resource, "active")
            .map(|a| boolean(a, "active"))
            .transpose()?
            .unwrap_or(true);
        let external_id = external_id(resource)?;
        let role = match attr(resource, ROSTER_USER_SCHEMA).map(|ext| string_attr(ext, "role")) {
            None | Some(Ok(None)) => OrgRole::Reader,
            Some(Ok(Some(role))) => role.parse().map_err(|_| {
                ScimError::bad(
                    "invalidValue",
                    format!("'role' must be 'owner' or 'reader', not '{role}'."),
                )
            })?,
            Some(Err(e)) => return Err(e),
        };
        let mut given = resource.clone();
        if let Some(fields) = given.as_object_mut() {
            fields.retain(|key, value| {
                !value.is_null()
                    && !key.eq_ignore_ascii_case("id")
                    && !key.eq_ignore_ascii_case("meta")
            });
            forget_not_hers(fields);
            // Shown back as a boolean, however it came ("False", from Entra ID).
            if let Some(key) = key_of(fields, "active") {
                fields.insert(key, json!(active));
            }
            // Entra ID sends the enterprise `manager` as its id alone; RFC 7643 §4.3 makes it
            // complex, `{"value": id}`, which is how it is kept and shown.
            if let Some(Value::Object(enterprise)) =
                key_of(fields, ENTERPRISE_USER_SCHEMA).and_then(|k| fields.get_mut(&k))
                && let Some(key) = key_of(enterprise, "manager")
                && let Some(Value::String(id)) = enterprise.get(&key)
            {
                let manager = json!({"value": id});
                enterprise.insert(key, manager);
            }
        }
        Ok(ScimUser {
            user_name,
            email,
            display_name,
            active,
            external_id,
            role,
            resource: given,
        })
    }

    /// `displayName` as sent (trimmed), which filters compare: `None` when she was sent without
    /// one, for her resource shows none, though Roster names her from `name` or `userName`.
    pub fn sent_display_name(&self) -> Option<String> {
        trimmed_attr(&self.resource, "displayName").ok().flatten()
    }
}

/// Drops what an identity provider may send of a User that is not hers to set: `password`
/// (Okta's password sync; Roster signs no one in with one, and RFC 7643 §4.1.1 says it is never
/// returned) and `groups` (read-only, RFC 7643 §4.1.2: memberships change through Groups; Okta
/// sends `"groups": []`, and one kept would be shown back whatever her groups are).
fn forget_not_hers(fields: &mut Map<String, Value>) {
    fields.retain(|key, _| {
        !key.eq_ignore_ascii_case("password") && !key.eq_ignore_ascii_case("groups")
    });
}

fn display_name(resource: &Value, name: Option<&Value>, user_name: &str) -> ScimResult<String> {
    if let Some(display) = trimmed_attr(resource, "displayName")? {
        return Ok(display);
    }
    if let Some(name) = name {
        if let Some(formatted) = trimmed_attr(name, "formatted")? {
            return Ok(formatted);
        }
        let parts: Vec<String> = ["givenName", "familyName"]
            .iter()
            .filter_map(|part| string_attr(name, part).ok().flatten())
            .filter(|p| !p.trim().is_empty())
            .collect();
        if !parts.is_empty() {
            return Ok(parts.join(" "));
        }
    }
    Ok(user_name.to_owned())
}

/// A group as the identity provider describes it: its name and members' user ids.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimGroup {
    pub display_name: String,
    pub external_id: Option<String>,
    pub members: Vec<String>,
}

impl ScimGroup {
    pub fn from_resource(resource: &Value) -> ScimResult<ScimGroup> {
        if !resource.is_object() {
            return Err(ScimError::bad(
                "invalidSyntax",
                "The body must be a JSON object.",
            ));
        }
        let display_name = string_attr(resource, "displayName")?
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| ScimError::bad("invalidValue", "'displayName' is required."))?;
        // A Roster group, named as the Admin API names one.
        let display_name = group::validate_name(&display_name)?;
        let external_id = external_id(resource)?;
        let members = match attr(resource, "members") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                // Each once, in the order named; by a set, as a group may name thousands.
                let (mut ids, mut named) = (Vec::with_capacity(items.len()), HashSet::new());
                for item in items {
                    let id = string_attr(item, "value")?.ok_or_else(|| {
                        ScimError::bad("invalidValue", "Each of 'members' needs a 'value'.")
                    })?;
                    if named.insert(id.clone()) {
                        ids.push(id);
                    }
                }
                ids
            }
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidValue",
                    "'members' must be a list of {\"value\": ...} objects.",
                ));
            }
        };
        Ok(ScimGroup {
            display_name,
            external_id,
            members,
        })
    }
}

/// The most characters of a string Roster indexes (`userName`, `externalId`, a user's name):
/// PostgreSQL's B-tree holds no entry over 2,704 bytes, and 512 characters of any script, folded,
/// stay under it.
const MAX_INDEXED_CHARS: usize = 512;

/// `externalId`, the identity provider's own id: as sent (not trimmed), and bounded.
fn external_id(resource: &Value) -> ScimResult<Option<String>> {
    let external_id = string_attr(resource, "externalId")?;
    if external_id
        .as_ref()
        .is_some_and(|id| id.chars().count() > MAX_INDEXED_CHARS)
    {
        return Err(ScimError::bad(
            "invalidValue",
            format!("'externalId' must be at most {MAX_INDEXED_CHARS} characters."),
        ));
    }
    Ok(external_id)
}

fn attribute(name: &str, kind: &str, extra: Value) -> Value {
    let mut attribute = json!({
        "name": name,
        "type": kind,
        "multiValued": false,
        "required": false,
        "caseExact": false,
        "mutability": "readWrite",
        "returned": "default",
        "uniqueness": "none",
    });
    if let (Some(attribute), Value::Object(extra)) = (attribute.as_object_mut(), extra) {
        attribute.extend(extra);
    }
    attribute
}

/// The schemas Roster serves (RFC 7643 §7): what it keeps of Users and Groups, and its extension.
pub fn schemas(base: &str) -> Vec<Value> {
    let schema = |id: &str, name: &str, description: &str, attributes: Vec<Value>| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
            "id": id,
            "name": name,
            "description": description,
            "attributes": attributes,
            "meta": {"resourceType": "Schema", "location": format!("{base}/Schemas/{id}")},
        })
    };
    let user = vec![
        attribute(
            "userName",
            "string",
            json!({"required": true, "uniqueness": "server"}),
        ),
        attribute(
            "name",
            "complex",
            json!({"subAttributes": [
                attribute("formatted", "string", json!({})),
                attribute("familyName", "string", json!({})),
                attribute("givenName", "string", json!({})),
            ]}),
        ),
        attribute("displayName", "string", json!({})),
        attribute(
            "emails",
            "complex",
            json!({"multiValued": true, "required": true, "subAttributes": [
                attribute("value", "string", json!({"required": true})),
                attribute("type", "string", json!({"canonicalValues": ["work", "home", "other"]})),
                attribute("primary", "boolean", json!({})),
            ]}),
        ),
        attribute("active", "boolean", json!({})),
    ];
    let group = vec![
        attribute("displayName", "string", json!({"required": true})),
        attribute(
            "members",
            "complex",
            json!({"multiValued": true, "subAttributes": [
                attribute("value", "string", json!({"mutability": "immutable"})),
                attribute("$ref", "reference", json!({"mutability": "immutable", "referenceTypes": ["User"]})),
                attribute("type", "string", json!({"mutability": "immutable", "canonicalValues": ["User"]})),
            ]}),
        ),
    ];
    let roster = vec![attribute(
        "role",
        "string",
        json!({"canonicalValues": ["owner", "reader"], "description": "The organization role; reader unless given."}),
    )];
    vec![
        schema(USER_SCHEMA, "User", "A user of the organization", user),
        schema(
            GROUP_SCHEMA,
            "Group",
            "A group of the organization's users",
            group,
        ),
        schema(
            ROSTER_USER_SCHEMA,
            "Roster User",
            "What Roster adds to a user",
            roster,
        ),
    ]
}

/// A user as the store keeps her, with what SCIM adds.
#[derive(Debug, Clone)]
pub struct StoredUser {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: OrgRole,
    pub added_at: i64,
    pub scim_managed: bool,
    pub active: bool,
    pub user_name: String,
    pub external_id: Option<String>,
    /// The resource as the identity provider last sent it (JSON); `None` for users SCIM never
    /// touched.
    pub scim_resource: Option<String>,
    pub updated_at: i64,
    pub version: i64,
}

/// `W/"3"`: a resource's version as its ETag.
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The versions an `If-Match` or `If-None-Match` header names (RFC 7232 §3): `*`, any version,
/// or a list of ETags, each `W/"3"` or `"3"`.
#[derive(Debug, Clone, PartialEq)]
pub enum Versions {
    Any,
    Listed(Vec<i64>),
}

impl Versions {
    /// Reads the header `name`'s value.
    pub fn parse(name: &str, header: &str) -> ScimResult<Versions> {
        let header = header.trim();
        if header == "*" {
            return Ok(Versions::Any);
        }
        header
            .split(',')
            .map(|tag| {
                tag.trim()
                    .trim_start_matches("W/")
                    .trim_matches('"')
                    .parse::<i64>()
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Versions::Listed)
            .map_err(|_| {
                ScimError::bad(
                    "invalidValue",
                    format!("{name} '{header}' is not a list of Roster's ETags, nor '*'."),
                )
            })
    }

    fn include(&self, version: i64) -> bool {
        match self {
            Versions::Any => true,
            Versions::Listed(versions) => versions.contains(&version),
        }
    }
}

/// `code` of the refusal of a change whose precondition does not hold: 412.
pub const PRECONDITION_FAILED: &str = "preconditionFailed";

/// The refusal (412) of a request whose precondition does not hold for `what` `id` at `version`.
pub fn changed_since(what: &str, id: &str, version: i64) -> super::Error {
    super::Error::Invalid {
        message: format!(
            "{what} '{id}' has changed since (its version is {}); read it again.",
            etag(version)
        )
        .into(),
        param: None,
        code: Some(PRECONDITION_FAILED),
    }
}

/// A request's conditions on the version of the resource it names (RFC 7644 §3.14): `If-Match`
/// (one of these) and `If-None-Match` (none of these). ETags compare weakly, as SCIM's examples
/// send them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Precondition {
    pub if_match: Option<Versions>,
    pub if_none_match: Option<Versions>,
}

impl Precondition {
    /// Whether a change to the resource at `version` may go ahead; else 412.
    pub fn holds(&self, version: i64) -> bool {
        self.if_match.as_ref().is_none_or(|v| v.include(version))
            && !self
                .if_none_match
                .as_ref()
                .is_some_and(|v| v.include(version))
    }

    /// Whether a read of the resource at `version` is answered 304 Not Modified: the client
    /// holds it already.
    pub fn unchanged(&self, version: i64) -> bool {
        self.if_none_match
            .as_ref()
            .is_some_and(|v| v.include(version))
    }
}

fn meta(resource_type: &str, location: String, created: i64, modified: i64, version: i64) -> Value {
    json!({
        "resourceType": resource_type,
        "created": date_time(created),
        "lastModified": date_time(modified),
        "location": location,
        "version": etag(version),
    })
}

impl StoredUser {
    /// The User resource; `base` is the SCIM base URL (`https://roster.example/scim/v2`). What
    /// the identity provider sent, shown back as sent (with the role Roster holds); for a user it
    /// never sent, what Roster knows of her.
    pub fn resource(&self, base: &str) -> Value {
        let meta = meta(
            "User",
            format!("{base}/Users/{}", self.id),
            self.added_at,
            self.updated_at,
            self.version,
        );
        let given = self
            .scim_resource
            .as_deref()
            .and_then(|t| serde_json::from_str::<Value>(t).ok())
            .filter(Value::is_object);
        let Some(mut resource) = given else {
            let mut resource = json!({
                "schemas": [USER_SCHEMA, ROSTER_USER_SCHEMA],
                "id": self.id,
                "userName": self.user_name,
                "displayName": self.name,
                "emails": [{"value": self.email, "primary": true}],
                "active": self.active,
                ROSTER_USER_SCHEMA: {"role": self.role.as_str()},
                "meta": meta,
            });
            if let Some(external_id) = &self.external_id {
                resource["externalId"] = json!(external_id);
            }
            return resource;
        };
        if let Some(fields) = resource.as_object_mut() {
            // Kept by a Roster from before it forgot them (migration 0017 takes `password`).
            forget_not_hers(fields);
            let schemas_key = key_of(fields, "schemas").unwrap_or_else(|| "schemas".into());
            let present: Vec<&str> = EXTENSIONS
                .into_iter()
                .filter(|e| key_of(fields, e).is_some())
                .collect();
            // RFC 7643 §3: `schemas` names every schema whose attributes are present, also an
            // extension a PATCH added.
            let schemas = fields
                .entry(schemas_key)
                .or_insert_with(|| json!([USER_SCHEMA]));
            if let Some(schemas) = schemas.as_array_mut() {
                for extension in present {
                    let listed = schemas.iter().any(|s| {
                        s.as_str()
                            .is_some_and(|s| s.eq_ignore_ascii_case(extension))
                    });
                    if !listed {
                        schemas.push(json!(extension));
                    }
                }
            }
            fields.insert("id".into(), json!(self.id));
            fields.insert("meta".into(), meta);
            // The role may have changed since (a role assignment): show the one she holds.
            if let Some(extension) =
                key_of(fields, ROSTER_USER_SCHEMA).and_then(|k| fields.get_mut(&k))
                && let Some(extension) = extension.as_object_mut()
            {
                let key = key_of(extension, "role").unwrap_or_else(|| "role".into());
                extension.insert(key, json!(self.role.as_str()));
            }
        }
        resource
    }
}

/// A group as the store keeps it.
#[derive(Debug, Clone)]
pub struct StoredGroup {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub scim_managed: bool,
    pub external_id: Option<String>,
    pub updated_at: i64,
    pub version: i64,
}

impl StoredGroup {
    pub fn resource(&self, base: &str, members: &[String]) -> Value {
        let members: Vec<Value> = members
            .iter()
            .map(|id| json!({"value": id, "$ref": format!("{base}/Users/{id}"), "type": "User"}))
            .collect();
        let mut resource = json!({
            "schemas": [GROUP_SCHEMA],
            "id": self.id,
            "displayName": self.name,
            "members": members,
            "meta": meta("Group", format!("{base}/Groups/{}", self.id), self.created_at, self.updated_at, self.version),
        });
        if let Some(external_id) = &self.external_id {
            resource["externalId"] = json!(external_id);
        }
        resource
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

/// A column a filter may name; the store maps each to an indexed one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Column {
    Id,
    UserName,
    ExternalId,
    Email,
    DisplayName,
    Active,
    Created,
    LastModified,
    /// A group's members, by their user ids: true of a group if true of any member.
    Member,
}

impl Column {
    /// The attribute's name, as filters write it.
    pub fn attribute(self) -> &'static str {
        match self {
            Column::Id => "id",
            Column::UserName => "userName",
            Column::ExternalId => "externalId",
            Column::Email => "emails.value",
            Column::DisplayName => "displayName",
            Column::Active => "active",
            Column::Created => "meta.created",
            Column::LastModified => "meta.lastModified",
            Column::Member => "members",
        }
    }

    /// Whether the column holds text (else a flag or a time).
    pub fn is_text(self) -> bool {
        !matches!(
            self,
            Column::Active | Column::Created | Column::LastModified
        )
    }

    /// Whether comparisons ignore case (RFC 7643's `caseExact: false`).
    pub fn ignores_case(self) -> bool {
        matches!(self, Column::UserName | Column::Email | Column::DisplayName)
    }
}

/// A value a condition compares with, already in the column's form.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Text(String),
    Integer(i64),
}

/// A comparison operator of the filter grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Gt,
    Ge,
    Lt,
    Le,
}

impl From<&CompareOp> for Op {
    fn from(op: &CompareOp) -> Op {
        match op {
            CompareOp::Eq => Op::Eq,
            CompareOp::Ne => Op::Ne,
            CompareOp::Co => Op::Co,
            CompareOp::Sw => Op::Sw,
            CompareOp::Ew => Op::Ew,
            CompareOp::Gt => Op::Gt,
            CompareOp::Ge => Op::Ge,
            CompareOp::Lt => Op::Lt,
            CompareOp::Le => Op::Le,
        }
    }
}

/// A filter, as conditions on columns.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Compare(Column, Op, Operand),
    Present(Column),
    And(Vec<Condition>),
    Or(Vec<Condition>),
    Not(Box<Condition>),
}

impl Condition {
    /// Whether, by its shape, the condition is likely to match most rows (`ne`, `pr`, `not` of a
    /// narrow one): counting the rows it does not match is then likely the cheaper way to count.
    pub fn is_broad(&self) -> bool {
        match self {
            Condition::Compare(_, Op::Ne, _) | Condition::Present(_) => true,
            Condition::Compare(..) => false,
            Condition::And(items) => items.iter().all(Condition::is_broad),
            Condition::Or(items) => items.iter().any(Condition::is_broad),
            Condition::Not(inner) => !inner.is_broad(),
        }
    }
}

/// Which resource a filter is for: the attributes it may name differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    User,
    Group,
}

/// Parses `filter` by SCIM's grammar and maps its attributes to columns.
pub fn parse_filter(filter: &str, resource: Resource) -> ScimResult<Condition> {
    let parsed: Filter = filter
        .parse()
        .map_err(|e| ScimError::bad("invalidFilter", format!("The filter cannot be read: {e}")))?;
    condition(&parsed, resource)
}

fn condition(filter: &Filter, resource: Resource) -> ScimResult<Condition> {
    match filter {
        Filter::Attr(exp) => attr_condition(exp, resource, None),
        Filter::ValuePath(path) => val_condition(&path.filter, resource, &path.attr),
        Filter::Not(inner) => Ok(Condition::Not(Box::new(condition(inner, resource)?))),
        Filter::And(items) => Ok(Condition::And(
            items
                .iter()
                .map(|f| condition(f, resource))
                .collect::<ScimResult<_>>()?,
        )),
        Filter::Or(items) => Ok(Condition::Or(
            items
                .iter()
                .map(|f| condition(f, resource))
                .collect::<ScimResult<_>>()?,
        )),
    }
}

/// `emails[type eq "work" and value co "@example.com"]`: the conditions inside, on the parent.
fn val_condition(
    filter: &ValFilter,
    resource: Resource,
    parent: &AttrPath,
) -> ScimResult<Condition> {
    match filter {
        ValFilter::Attr(exp) => attr_condition(exp, resource, Some(parent)),
        ValFilter::Not(inner) => Ok(Condition::Not(Box::new(val_condition(
            inner, resource, parent,
        )?))),
        ValFilter::And(items) => Ok(Condition::And(
            items
                .iter()
                .map(|f| val_condition(f, resource, parent))
                .collect::<ScimResult<_>>()?,
        )),
        ValFilter::Or(items) => Ok(Condition::Or(
            items
                .iter()
                .map(|f| val_condition(f, resource, parent))
                .collect::<ScimResult<_>>()?,
        )),
    }
}

fn attr_condition(
    exp: &AttrExp,
    resource: Resource,
    parent: Option<&AttrPath>,
) -> ScimResult<Condition> {
    let path = match exp {
        AttrExp::Present(path) | AttrExp::Comparison(path, _, _) => path,
    };
    let column = column(path, resource, parent)?;
    match exp {
        AttrExp::Present(_) => Ok(Condition::Present(column)),
        AttrExp::Comparison(_, op, value) => {
            let op = Op::from(op);
            Ok(Condition::Compare(column, op, operand(column, op, value)?))
        }
    }
}

fn column(path: &AttrPath, resource: Resource, parent: Option<&AttrPath>) -> ScimResult<Column> {
    let (name, sub) = match parent {
        Some(parent) => (parent.name.as_str(), Some(path.name.as_str())),
        None => (path.name.as_str(), path.sub_attr.as_deref()),
    };
    let is = |a: &str, b: &str| a.eq_ignore_ascii_case(b);
    let found = match (resource, name, sub) {
        (_, n, None) if is(n, "id") => Some(Column::Id),
        (_, n, None) if is(n, "externalId") => Some(Column::ExternalId),
        (_, n, None) if is(n, "displayName") => Some(Column::DisplayName),
        (_, n, Some(s)) if is(n, "meta") && is(s, "lastModified") => Some(Column::LastModified),
        (_, n, Some(s)) if is(n, "meta") && is(s, "created") => Some(Column::Created),
        (Resource::User, n, None) if is(n, "userName") => Some(Column::UserName),
        (Resource::User, n, None) if is(n, "active") => Some(Column::Active),
        (Resource::User, n, None) if is(n, "emails") => Some(Column::Email),
        (Resource::User, n, Some(s)) if is(n, "emails") && is(s, "value") => Some(Column::Email),
        // Entra ID asks whether a group has a member: `id eq "..." and members eq "..."`.
        (Resource::Group, n, None) if is(n, "members") => Some(Column::Member),
        (Resource::Group, n, Some(s)) if is(n, "members") && is(s, "value") => Some(Column::Member),
        _ => None,
    };
    found.ok_or_else(|| {
        let named = match sub {
            Some(sub) => format!("{name}.{sub}"),
            None => name.to_owned(),
        };
        ScimError::bad(
            "invalidFilter",
            format!("Roster cannot filter on '{named}'."),
        )
    })
}

fn operand(column: Column, op: Op, value: &CompValue) -> ScimResult<Operand> {
    let wrong = |what: &str| {
        ScimError::bad(
            "invalidFilter",
            format!("'{}' is compared with {what}.", column.attribute()),
        )
    };
    match column {
        Column::Active => match (value, op) {
            (CompValue::True, Op::Eq | Op::Ne) => Ok(Operand::Integer(1)),
            (CompValue::False, Op::Eq | Op::Ne) => Ok(Operand::Integer(0)),
            _ => Err(wrong("true or false, by eq or ne")),
        },
        // A time is compared by its order (RFC 7644 §3.4.2.2); a part of one is no time, and
        // "the specified attribute and filter comparison combination is not supported".
        Column::Created | Column::LastModified => {
            let not_a_time = || {
                wrong("a date and time such as 2026-11-30T12:00:00Z, by eq, ne, gt, ge, lt or le")
            };
            match (value, op) {
                (CompValue::Str(text), Op::Eq | Op::Ne | Op::Gt | Op::Ge | Op::Lt | Op::Le) => {
                    parse_date_time(text)
                        .map(Operand::Integer)
                        .ok_or_else(not_a_time)
                }
                _ => Err(not_a_time()),
            }
        }
        // A member is found by her user id's own index; a part or a range of ids would read
        // every organization's memberships.
        Column::Member => match (value, op) {
            (CompValue::Str(text), Op::Eq | Op::Ne) => Ok(Operand::Text(text.clone())),
            _ => Err(wrong("a user id, by eq or ne")),
        },
        _ => match value {
            CompValue::Str(text) if column.ignores_case() => Ok(Operand::Text(name::folded(text))),
            CompValue::Str(text) => Ok(Operand::Text(text.clone())),
            _ => Err(wrong("a string")),
        },
    }
}

/// Unix seconds as SCIM's `dateTime` (RFC 3339, UTC).
pub fn date_time(unix_seconds: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix_seconds)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| unix_seconds.to_string())
}

fn parse_date_time(text: &str) -> Option<i64> {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Which attributes a response carries (RFC 7644 §3.4.2.5): only `attributes` when given (with
/// `id` and `schemas`, always returned), else all but `excluded`. Names may carry a
/// sub-attribute (`name.givenName`) or a schema (`urn:...:User:role`).
pub fn project(resource: &mut Value, attributes: &[String], excluded: &[String]) {
    let Some(fields) = resource.as_object_mut() else {
        return;
    };
    if !attributes.is_empty() {
        let mut kept = Map::new();
        for always in ["id", "schemas"] {
            if let Some(value) = fields.get(always) {
                kept.insert(always.into(), value.clone());
            }
        }
        for wanted in attributes {
            let (top, sub) = split_attribute(wanted);
            let Some(key) = key_of(fields, &top) else {
                continue;
            };
            let value = &fields[&key];
            let value = match sub {
                None => value.clone(),
                Some(sub) => only_sub(value, &sub, kept.get(&key)),
            };
            kept.insert(key, value);
        }
        *fields = kept;
        return;
    }
    for unwanted in excluded {
        let (top, sub) = split_attribute(unwanted);
        if ["id", "schemas"]
            .iter()
            .any(|a| a.eq_ignore_ascii_case(&top))
        {
            continue;
        }
        let Some(key) = key_of(fields, &top) else {
            continue;
        };
        match sub {
            None => {
                fields.remove(&key);
            }
            Some(sub) => without_sub(fields.get_mut(&key), &sub),
        }
    }
}

/// Whether a response shaped by `attributes` and `excluded`, as `project` shapes it, carries the
/// top-level attribute `name`: one it does not carry need not be read (Entra ID reads every
/// group with `excludedAttributes=members`).
pub fn returns(name: &str, attributes: &[String], excluded: &[String]) -> bool {
    let top_is = |attribute: &String| split_attribute(attribute).0.eq_ignore_ascii_case(name);
    if !attributes.is_empty() {
        return attributes.iter().any(top_is);
    }
    !excluded
        .iter()
        .any(|attribute| top_is(attribute) && split_attribute(attribute).1.is_none())
}

/// `urn:...:User:name.givenName` as (`name`, `givenName`); an extension's attribute as (its
/// schema, the attribute).
fn split_attribute(name: &str) -> (String, Option<String>) {
    let core = [USER_SCHEMA, GROUP_SCHEMA].iter().find_map(|schema| {
        name.get(..schema.len() + 1)
            .filter(|head| head.eq_ignore_ascii_case(&format!("{schema}:")))
            .map(|_| &name[schema.len() + 1..])
    });
    if let Some(rest) = core {
        return split_attribute(rest);
    }
    if let Some((schema, attribute)) = extension_attribute(name) {
        return (schema.to_owned(), Some(attribute.to_owned()));
    }
    match name.split_once('.') {
        Some((top, sub)) if !name.starts_with("urn:") => (top.to_owned(), Some(sub.to_owned())),
        _ => (name.to_owned(), None),
    }
}

/// `value` (an object, or a list of objects) with only its sub-attribute `sub`, merged into what
/// an earlier name kept of it.
fn only_sub(value: &Value, sub: &str, kept: Option<&Value>) -> Value {
    let pick = |item: &Value, earlier: Option<&Value>| -> Value {
        let mut picked = earlier
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        if let Some(object) = item.as_object()
            && let Some(key) = key_of(object, sub)
        {
            picked.insert(key.clone(), object[&key].clone());
        }
        Value::Object(picked)
    };
    match value {
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| pick(item, kept.and_then(|k| k.get(i))))
                .collect(),
        ),
        item => pick(item, kept),
    }
}

fn without_sub(value: Option<&mut Value>, sub: &str) {
    let strip = |item: &mut Value| {
        if let Some(object) = item.as_object_mut()
            && let Some(key) = key_of(object, sub)
        {
            object.remove(&key);
        }
    };
    match value {
        Some(Value::Array(items)) => items.iter_mut().for_each(strip),
        Some(item) => strip(item),
        None => {}
    }
}

/// A PATCH request's operations (RFC 7644 §3.5.2), read from its body.
pub fn patch_operations(body: &Value) -> ScimResult<Vec<PatchOperation>> {
    let operations = attr(body, "Operations")
        .and_then(Value::as_array)
        .filter(|ops| !ops.is_empty())
        .ok_or_else(|| {
            ScimError::bad(
                "invalidSyntax",
                "A PATCH needs 'Operations': a list of operations.",
            )
        })?;
    operations.iter().map(PatchOperation::read).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchOp {
    Add,
    Replace,
    Remove,
}

#[derive(Debug, Clone)]
pub struct PatchOperation {
    pub op: PatchOp,
    pub path: Option<PatchPath>,
    pub value: Option<Value>,
}

impl PatchOperation {
    fn read(operation: &Value) -> ScimResult<PatchOperation> {
        // Entra ID capitalises the op: "Add", "Replace", "Remove".
        let sent = string_attr(operation, "op")?;
        let op = match sent.as_deref().map(str::to_ascii_lowercase).as_deref() {
            Some("add") => PatchOp::Add,
            Some("replace") => PatchOp::Replace,
            Some("remove") => PatchOp::Remove,
            Some(_) => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    format!(
                        "'op' must be add, replace or remove, not '{}'.",
                        sent.as_deref().unwrap_or_default()
                    ),
                ));
            }
            None => {
                return Err(ScimError::bad(
                    "invalidSyntax",
                    "Each operation needs an 'op': add, replace or remove.",
                ));
            }
        };
        let path = string_attr(operation, "path")?
            .filter(|p| !p.trim().is_empty())
            .map(|p| {
                p.parse::<PatchPath>().map_err(|e| {
                    ScimError::bad("invalidPath", format!("The path '{p}' cannot be read: {e}"))
                })
            })
            .transpose()?;
        let value = attr(operation, "value").cloned();
        if op != PatchOp::Remove && value.is_none() {
            return Err(ScimError::bad(
                "invalidValue",
                "An add or replace needs a 'value'.",
            ));
        }
        if op == PatchOp::Remove && path.is_none() {
            return Err(ScimError::bad("noTarget", "A remove needs a 'path'."));
        }
        Ok(PatchOperation { op, path, value })
    }
}

/// A group PATCH read as identity providers send one: the members it adds or removes by id
/// (`add` or `remove` of `members` with a list of `{"value": id}`, `remove` of
/// `members[value eq "id"]`), each with whether she is a member after it (the last operation
/// naming her decides), and its other operations, which do not touch the members. So a group
/// of 100,000 is changed without reading every member.
#[derive(Debug, Clone)]
pub struct MemberChanges {
    pub members: Vec<(String, bool)>,
    pub others: Vec<PatchOperation>,
}

/// `operations` as `MemberChanges`; `None` when one treats the members otherwise (replaces or
/// removes them all, names one by anything but her id, or sets them without a path): the group
/// is then patched whole.
pub fn member_changes(operations: &[PatchOperation]) -> Option<MemberChanges> {
    let is_members = |path: &AttrPath| {
        path.name.eq_ignore_ascii_case("members")
            && path
                .uri
                .as_deref()
                .is_none_or(|uri| uri.eq_ignore_ascii_case(GROUP_SCHEMA))
    };
    let ids = |value: &Option<Value>| -> Option<Vec<String>> {
        match value {
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match attr(item, "value") {
                    Some(Value::String(id)) => Some(id.clone()),
                    _ => None,
                })
                .collect(),
            _ => None,
        }
    };
    let mut after: Vec<(String, bool)> = Vec::new();
    let mut at: HashMap<String, usize> = HashMap::new();
    let mut others = Vec::new();
    for operation in operations {
        let named: Vec<String> = match (&operation.path, operation.op) {
            (Some(PatchPath::Attr(path)), op) if is_members(path) => {
                match (op, path.sub_attr.is_none()) {
                    (PatchOp::Add | PatchOp::Remove, true) => ids(&operation.value)?,
                    _ => return None,
                }
            }
            (Some(PatchPath::Value(path)), PatchOp::Remove) if is_members(&path.attr) => {
                match (&path.filter, &path.sub_attr) {
                    (
                        ValFilter::Attr(AttrExp::Comparison(on, CompareOp::Eq, CompValue::Str(id))),
                        None,
                    ) if on.name.eq_ignore_ascii_case("value") && on.sub_attr.is_none() => {
                        vec![id.clone()]
                    }
                    _ => return None,
                }
            }
            (Some(PatchPath::Value(path)), _) if is_members(&path.attr) => return None,
            (None, _)
                if operation
                    .value
                    .as_ref()
                    .and_then(Value::as_object)
                    .is_none_or(|values| {
                        values.keys().any(|k| k.eq_ignore_ascii_case("members"))
                    }) =>
            {
                return None;
            }
            _ => {
                others.push(operation.clone());
                continue;
            }
        };
        let member = operation.op == PatchOp::Add;
        for id in named {
            match at.get(&id) {
                Some(&i) => after[i].1 = member,
                None => {
                    at.insert(id.clone(), after.len());
                    after.push((id, member));
                }
            }
        }
    }
    Some(MemberChanges {
        members: after,
        others,
    })
}

/// Applies `operations` to `resource` (a rendered resource, JSON), as RFC 7644 §3.5.2 says.
pub fn apply_patch(resource: &mut Value, operations: &[PatchOperation]) -> ScimResult<()> {
    for operation in operations {
        let Some(object) = resource.as_object_mut() else {
            return Err(ScimError::bad(
                "invalidSyntax",
                "The resource is not an object.",
            ));
        };
        match &operation.path {
            None => {
                // No path: the value is an object of attributes to add or replace.
                let Some(Value::Object(values)) = &operation.value else {
                    return Err(ScimError::bad(
                        "invalidValue",
                        "Without a 'path', the value must be an object of attributes.",
                    ));
                };
                for (name, value) in values {
                    // Entra ID names sub-attributes here too: {"name.givenName": "Ada"}.
                    let (name, sub) = match name.split_once('.') {
                        Some((name, sub)) if !name.starts_with("urn:") => (name, Some(sub)),
                        _ => (name.as_str(), None),
                    };
                    set_attribute(object, name, sub, value.clone(), operation.op)?;
                }
            }
            Some(PatchPath::Attr(path)) => {
                let name = qualified_name(path);
                match operation.op {
                    // Entra ID removes members by naming them in the value:
                    // {"op": "Remove", "path": "members", "value": [{"value": "user-..."}]}.
                    PatchOp::Remove if path.sub_attr.is_none() && operation.value.is_some() => {
                        remove_values(object, &name, operation.value.as_ref());
                    }
                    PatchOp::Remove => remove_attribute(object, &name, path.sub_attr.as_deref()),
                    op => set_attribute(
                        object,
                        &name,
                        path.sub_attr.as_deref(),
                        operation.value.clone().unwrap_or(Value::Null),
                        op,
                    )?,
                }
            }
            Some(PatchPath::Value(path)) => {
                let name = qualified_name(&path.attr);
                let key = key_of(object, &name);
                let present = key.as_ref().and_then(|k| object.get(k));
                let matches_any = match present {
                    Some(Value::Array(items)) => {
                        items.iter().any(|item| val_matches(&path.filter, item))
                    }
                    _ => false,
                };
                // Entra ID adds a value nobody has yet through a filter that names it:
                // {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", ...}
                // makes {"type": "mobile", "value": ...}, as Microsoft's provisioning team
                // answers; a filter of equalities says what the new value is.
                if operation.op == PatchOp::Add
                    && !matches_any
                    && matches!(present, None | Some(Value::Null | Value::Array(_)))
                    && let Some(mut item) = value_named_by(&path.filter)
                {
                    let value = operation.value.clone().unwrap_or(Value::Null);
                    match (path.sub_attr.as_deref(), value) {
                        (Some(sub), value) => {
                            item.insert(sub.to_owned(), value);
                        }
                        (None, Value::Object(sent)) => item.extend(sent),
                        (None, _) => {
                            return Err(ScimError::bad(
                                "invalidValue",
                                format!("A value of '{name}' must be an object."),
                            ));
                        }
                    }
                    let key = key.unwrap_or_else(|| name.clone());
                    match object.get_mut(&key) {
                        Some(Value::Array(items)) => items.push(Value::Object(item)),
                        _ => {
                            object.insert(key, json!([item]));
                        }
                    }
                    continue;
                }
                let Some(Value::Array(items)) = key.and_then(|k| object.get_mut(&k)) else {
                    if operation.op == PatchOp::Remove {
                        continue;
                    }
                    return Err(ScimError::bad(
                        "noTarget",
                        format!("'{name}' has no values to match."),
                    ));
                };
                let matching: Vec<usize> = items
                    .iter()
                    .enumerate()
                    .filter(|(_, item)| val_matches(&path.filter, item))
                    .map(|(i, _)| i)
                    .collect();
                match (operation.op, path.sub_attr.as_deref()) {
                    (PatchOp::Remove, None) => {
                        for i in matching.into_iter().rev() {
                            items.remove(i);
                        }
                    }
                    (PatchOp::Remove, Some(sub)) => {
                        for i in matching {
                            if let Some(item) = items[i].as_object_mut()
                                && let Some(key) = key_of(item, sub)
                            {
                                item.remove(&key);
                            }
                        }
                    }
                    (_, sub) => {
                        if matching.is_empty() {
                            return Err(ScimError::bad(
                                "noTarget",
                                format!("No value of '{name}' matches the path's filter."),
                            ));
                        }
                        let value = operation.value.clone().unwrap_or(Value::Null);
                        for i in matching {
                            match sub {
                                Some(sub) => {
                                    if let Some(item) = items[i].as_object_mut() {
                                        let key =
                                            key_of(item, sub).unwrap_or_else(|| sub.to_owned());
                                        item.insert(key, value.clone());
                                    }
                                }
                                None => match (&mut items[i], &value) {
                                    (Value::Object(item), Value::Object(new)) => {
                                        for (k, v) in new {
                                            let key = key_of(item, k).unwrap_or_else(|| k.clone());
                                            item.insert(key, v.clone());
                                        }
                                    }
                                    (slot, _) => *slot = value.clone(),
                                },
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// An attribute's name with its schema, when the path gives one (`urn:...:User:role` reads as
/// the extension's `role`, kept under the extension's key).
fn qualified_name(path: &AttrPath) -> String {
    match &path.uri {
        Some(uri)
            if !uri.eq_ignore_ascii_case(USER_SCHEMA)
                && !uri.eq_ignore_ascii_case(GROUP_SCHEMA) =>
        {
            format!("{uri}:{}", path.name)
        }
        _ => path.name.clone(),
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
pub const ENTERPRISE_USER_SCHEMA: &str =
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

fn key_of(object: &Map<String, Value>, name: &str) -> Option<String> {
    object
        .keys()
        .find(|k| k.eq_ignore_ascii_case(name))
        .cloned()
}

fn set_attribute(
    object: &mut Map<String, Value>,
    name: &str,
    sub: Option<&str>,
    value: Value,
    op: PatchOp,
) -> ScimResult<()> {
    // An extension's attribute, named with its schema: `urn:...:User:role`.
    if let Some((schema, attribute)) = extension_attribute(name) {
        let key = key_of(object, schema).unwrap_or_else(|| schema.to_owned());
        let extension = object.entry(key).or_insert_with(|| json!({}));
        let Some(extension) = extension.as_object_mut() else {
            return Err(ScimError::bad(
                "invalidValue",
                format!("'{schema}' must be an object."),
            ));
        };
        return set_attribute(extension, attribute, sub, value, op);
    }
    let key = key_of(object, name).unwrap_or_else(|| name.to_owned());
    match sub {
        Some(sub) => {
            let parent = object.entry(key).or_insert_with(|| json!({}));
            if parent.is_null() {
                *parent = json!({});
            }
            let Some(parent) = parent.as_object_mut() else {
                return Err(ScimError::bad(
                    "invalidPath",
                    format!("'{name}' has no sub-attributes."),
                ));
            };
            let sub_key = key_of(parent, sub).unwrap_or_else(|| sub.to_owned());
            parent.insert(sub_key, value);
        }
        None => match (op, object.get_mut(&key), value) {
            // Adding to a multi-valued attribute appends (without repeating a value).
            // Values are told apart by their text (keys sorted, so equal values read alike).
            (PatchOp::Add, Some(Value::Array(items)), Value::Array(new)) => {
                let mut present: HashSet<String> = items.iter().map(Value::to_string).collect();
                for item in new {
                    if present.insert(item.to_string()) {
                        items.push(item);
                    }
                }
            }
            // Adding to a complex attribute merges its sub-attributes.
            (PatchOp::Add, Some(Value::Object(current)), Value::Object(new)) => {
                for (k, v) in new {
                    let sub_key = key_of(current, &k).unwrap_or(k);
                    current.insert(sub_key, v);
                }
            }
            (_, _, value) => {
                object.insert(key, value);
            }
        },
    }
    Ok(())
}

fn remove_attribute(object: &mut Map<String, Value>, name: &str, sub: Option<&str>) {
    if let Some((schema, attribute)) = extension_attribute(name) {
        if let Some(extension) = key_of(object, schema)
            .and_then(|k| object.get_mut(&k))
            .and_then(Value::as_object_mut)
        {
            remove_attribute(extension, attribute, sub);
        }
        return;
    }
    let Some(key) = key_of(object, name) else {
        return;
    };
    match sub {
        Some(sub) => {
            if let Some(parent) = object.get_mut(&key).and_then(Value::as_object_mut)
                && let Some(sub_key) = key_of(parent, sub)
            {
                parent.remove(&sub_key);
            }
        }
        None => {
            object.remove(&key);
        }
    }
}

/// Removes from the multi-valued attribute `name` the items whose `value` one of `values`
/// names.
fn remove_values(object: &mut Map<String, Value>, name: &str, values: Option<&Value>) {
    let named: HashSet<String> = match values {
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|i| attr(i, "value"))
            .map(Value::to_string)
            .collect(),
        Some(item) => attr(item, "value")
            .map(Value::to_string)
            .into_iter()
            .collect(),
        None => HashSet::new(),
    };
    if let Some(Value::Array(items)) = key_of(object, name).and_then(|k| object.get_mut(&k)) {
        items.retain(|item| attr(item, "value").is_none_or(|v| !named.contains(&v.to_string())));
    }
}

/// The value a filter of equalities names (`type eq "work" and primary eq true` names
/// `{"type": "work", "primary": true}`); `None` for any other filter, which names no one value.
fn value_named_by(filter: &ValFilter) -> Option<Map<String, Value>> {
    match filter {
        ValFilter::Attr(AttrExp::Comparison(path, CompareOp::Eq, expected))
            if path.sub_attr.is_none() =>
        {
            let value = match expected {
                CompValue::Str(text) => Value::String(text.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(number) => Value::Number(number.clone()),
                CompValue::Null => return None,
            };
            Some(Map::from_iter([(path.name.clone(), value)]))
        }
        ValFilter::And(filters) => filters.iter().try_fold(Map::new(), |mut item, filter| {
            item.extend(value_named_by(filter)?);
            Some(item)
        }),
        _ => None,
    }
}

/// Whether one value of a multi-valued attribute matches a path's filter.
fn val_matches(filter: &ValFilter, item: &Value) -> bool {
    match filter {
        ValFilter::Attr(AttrExp::Present(path)) => attr(item, &path.name).is_some(),
        ValFilter::Attr(AttrExp::Comparison(path, op, expected)) => {
            attr(item, &path.name).is_some_and(|actual| compares(actual, op.into(), expected))
        }
        ValFilter::Not(inner) => !val_matches(inner, item),
        ValFilter::And(items) => items.iter().all(|f| val_matches(f, item)),
        ValFilter::Or(items) => items.iter().any(|f| val_matches(f, item)),
    }
}

fn compares(actual: &Value, op: Op, expected: &CompValue) -> bool {
    match (actual, expected) {
        (Value::String(a), CompValue::Str(e)) => {
            let (a, e) = (name::folded(a), name::folded(e));
            match op {
                Op::Eq => a == e,
                Op::Ne => a != e,
                Op::Co => a.contains(&e),
                Op::Sw => a.starts_with(&e),
                Op::Ew => a.ends_with(&e),
                Op::Gt => a > e,
                Op::Ge => a >= e,
                Op::Lt => a < e,
                Op::Le => a <= e,
            }
        }
        (Value::Bool(a), CompValue::True) => matches!(op, Op::Eq) == *a,
        (Value::Bool(a), CompValue::False) => matches!(op, Op::Eq) != *a,
        (Value::Number(a), CompValue::Number(e)) => match (a.as_f64(), e.as_f64()) {
            (Some(a), Some(e)) => match op {
                Op::Eq => a == e,
                Op::Ne => a != e,
                Op::Gt => a > e,
                Op::Ge => a >= e,
                Op::Lt => a < e,
                Op::Le => a <= e,
                _ => false,
            },
            _ => false,
        },
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(json: Value) -> ScimResult<ScimUser> {
        ScimUser::from_resource(&json)
    }

    #[test]
    fn a_user_reads_whatever_the_case_of_its_attributes() {
        let ada = user(json!({
            "schemas": [USER_SCHEMA],
            "UserName": "ada@example.com",
            "NAME": {"givenName": "Ada", "familyName": "Lovelace"},
            "Active": "False",
            "externalID": "00u1",
        }))
        .unwrap();
        assert_eq!(ada.email, "ada@example.com");
        assert_eq!(ada.display_name, "Ada Lovelace");
        assert!(!ada.active);
        assert_eq!(ada.external_id.as_deref(), Some("00u1"));
        assert_eq!(ada.role, OrgRole::Reader);
    }

    #[test]
    fn what_is_kept_of_a_user_and_how_she_is_named() {
        let ada = user(json!({
            "id": "ignored",
            "Meta": {"version": "W/\"9\""},
            "userName": "ada@example.com",
            "displayName": "  ",
            "name": {"formatted": " Ada Lovelace "},
            "title": null,
            "active": "TRUE",
        }))
        .unwrap();
        assert_eq!(
            ada.display_name, "Ada Lovelace",
            "a blank displayName is no name"
        );
        assert!(ada.active);
        let kept = ada.resource.as_object().unwrap();
        assert_eq!(
            kept.keys().collect::<Vec<_>>(),
            ["active", "displayName", "name", "userName"],
            "neither id, meta nor nulls are kept"
        );
        assert_eq!(kept["active"], json!(true));
        let named = user(json!({"userName": "b@x.test", "displayName": " Bea "})).unwrap();
        assert_eq!(named.display_name, "Bea");
        for not_boolean in [json!("yes"), json!(1)] {
            let refused = user(json!({"userName": "b@x.test", "active": not_boolean}));
            assert_eq!(refused.unwrap_err().scim_type, Some("invalidValue"));
        }
        assert!(
            !user(json!({"userName": "b@x.test", "active": "false"}))
                .unwrap()
                .active
        );
    }

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
        assert_eq!(ids, [USER_SCHEMA, GROUP_SCHEMA, ROSTER_USER_SCHEMA]);
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

    fn stored(scim_resource: Option<Value>) -> StoredUser {
        StoredUser {
            id: "user-1".into(),
            email: "ada@example.com".into(),
            name: "Ada".into(),
            role: OrgRole::Owner,
            added_at: 1_700_000_000,
            scim_managed: scim_resource.is_some(),
            active: true,
            user_name: "ada@example.com".into(),
            external_id: Some("00u1".into()),
            scim_resource: scim_resource.map(|r| r.to_string()),
            updated_at: 1_700_000_060,
            version: 4,
        }
    }

    #[test]
    fn a_password_and_groups_are_neither_kept_nor_shown() {
        let sent = json!({"userName": "ada@example.com", "Password": "Sup3r", "title": "Dev",
            "groups": [{"value": "group_1"}]});
        let ada = user(sent.clone()).unwrap();
        assert_eq!(
            ada.resource,
            json!({"userName": "ada@example.com", "title": "Dev"})
        );
        // One kept before Roster forgot them is not shown either.
        let shown = stored(Some(sent)).resource("https://roster.test/scim/v2");
        assert!(
            shown.get("Password").is_none() && shown.get("groups").is_none(),
            "{shown}"
        );
        assert_eq!(shown["title"], "Dev");
    }

    #[test]
    fn a_user_is_shown_as_sent_with_roster_s_id_meta_and_role() {
        const BASE: &str = "https://roster.example/scim/v2";
        let meta = json!({
            "resourceType": "User",
            "created": "2023-11-14T22:13:20Z",
            "lastModified": "2023-11-14T22:14:20Z",
            "location": "https://roster.example/scim/v2/Users/user-1",
            "version": "W/\"4\"",
        });
        // Never sent through SCIM: what Roster knows of her.
        assert_eq!(
            stored(None).resource(BASE),
            json!({
                "schemas": [USER_SCHEMA, ROSTER_USER_SCHEMA],
                "id": "user-1",
                "userName": "ada@example.com",
                "displayName": "Ada",
                "emails": [{"value": "ada@example.com", "primary": true}],
                "active": true,
                ROSTER_USER_SCHEMA: {"role": "owner"},
                "externalId": "00u1",
                "meta": meta,
            })
        );
        // Sent: as sent, with the role she holds now; `schemas` names the extension it carries.
        let sent = json!({"userName": "ada@example.com", ROSTER_USER_SCHEMA: {"Role": "reader"}});
        assert_eq!(
            stored(Some(sent)).resource(BASE),
            json!({
                "schemas": [USER_SCHEMA, ROSTER_USER_SCHEMA],
                "id": "user-1",
                "userName": "ada@example.com",
                ROSTER_USER_SCHEMA: {"Role": "owner"},
                "meta": meta,
            })
        );
        let with_schemas = json!({"schemas": [USER_SCHEMA, ENTERPRISE_USER_SCHEMA]});
        assert_eq!(
            stored(Some(with_schemas)).resource(BASE)["schemas"],
            json!([USER_SCHEMA, ENTERPRISE_USER_SCHEMA])
        );

        let group = StoredGroup {
            id: "group_1".into(),
            name: "Team".into(),
            created_at: 1_700_000_000,
            scim_managed: true,
            external_id: None,
            updated_at: 1_700_000_000,
            version: 1,
        };
        let shown = group.resource(BASE, &["user-1".into()]);
        assert_eq!(
            shown["members"],
            json!([{"value": "user-1", "$ref": "https://roster.example/scim/v2/Users/user-1", "type": "User"}])
        );
        assert_eq!(
            shown["meta"]["location"],
            "https://roster.example/scim/v2/Groups/group_1"
        );
        assert!(shown.get("externalId").is_none());

        let parsed = |header| Versions::parse("If-Match", header);
        assert_eq!(parsed("*").unwrap(), Versions::Any);
        assert_eq!(parsed(" \"7\" ").unwrap(), Versions::Listed(vec![7]));
        assert_eq!(
            parsed("W/\"1\", W/\"7\"").unwrap(),
            Versions::Listed(vec![1, 7])
        );
        assert!(parsed("W/\"x\"").is_err());
        let only = |if_match, if_none_match| Precondition {
            if_match,
            if_none_match,
        };
        assert!(only(None, None).holds(3));
        assert!(only(Some(Versions::Listed(vec![2, 3])), None).holds(3));
        assert!(!only(Some(Versions::Listed(vec![2])), None).holds(3));
        assert!(!only(None, Some(Versions::Any)).holds(3));
        assert!(only(None, Some(Versions::Listed(vec![2]))).holds(3));
        assert!(only(None, Some(Versions::Listed(vec![3]))).unchanged(3));
        assert!(!only(Some(Versions::Any), None).unchanged(3));
    }

    #[test]
    fn the_email_is_the_primary_one_else_the_user_name() {
        let bob = user(json!({
            "userName": "bob",
            "emails": [{"value": "b@home.test"}, {"value": "Bob@Work.test", "primary": true}],
            urn_role(): {"role": "owner"},
        }))
        .unwrap();
        assert_eq!(
            (bob.email.as_str(), bob.role),
            ("bob@work.test", OrgRole::Owner)
        );
        let refused = user(json!({"userName": "no-address"})).unwrap_err();
        assert_eq!(refused.scim_type, Some("invalidValue"));
        assert!(
            user(json!({"displayName": "x"})).is_err(),
            "userName is required"
        );
    }

    fn urn_role() -> &'static str {
        ROSTER_USER_SCHEMA
    }

    #[test]
    fn every_filterable_attribute_names_its_column_whatever_its_case() {
        let compare = |filter: &str, resource| match parse_filter(filter, resource) {
            Ok(Condition::Compare(column, op, operand)) => (column, op, operand),
            other => panic!("{filter}: {other:?}"),
        };
        let text = |t: &str| Operand::Text(t.into());
        for (filter, column, operand) in [
            (r#"ID eq "User-AB""#, Column::Id, text("User-AB")),
            (
                r#"externalId eq "X-Ada""#,
                Column::ExternalId,
                text("X-Ada"),
            ),
            (
                r#"DisplayName eq "Ada L""#,
                Column::DisplayName,
                text("ada l"),
            ),
            (r#"userName eq "ADA""#, Column::UserName, text("ada")),
            (r#"emails eq "A@X.test""#, Column::Email, text("a@x.test")),
            (
                r#"Emails.Value eq "A@X.test""#,
                Column::Email,
                text("a@x.test"),
            ),
            (
                r#"meta.created eq "1970-01-01T00:01:00Z""#,
                Column::Created,
                Operand::Integer(60),
            ),
            (r#"active eq false"#, Column::Active, Operand::Integer(0)),
            (r#"active eq true"#, Column::Active, Operand::Integer(1)),
        ] {
            assert_eq!(
                compare(filter, Resource::User),
                (column, Op::Eq, operand),
                "{filter}"
            );
        }
        assert_eq!(
            compare("active ne false", Resource::User),
            (Column::Active, Op::Ne, Operand::Integer(0))
        );
        assert_eq!(
            compare(r#"displayName eq "Team""#, Resource::Group).0,
            Column::DisplayName
        );
        // A group's members by user id, as Entra ID asks, exactly.
        for filter in [
            r#"members eq "User-AB""#,
            r#"Members.Value eq "User-AB""#,
            r#"members[value eq "User-AB"]"#,
        ] {
            assert_eq!(
                compare(filter, Resource::Group),
                (Column::Member, Op::Eq, text("User-AB")),
                "{filter}"
            );
        }
        assert_eq!(
            compare(r#"members ne "user-ab""#, Resource::Group),
            (Column::Member, Op::Ne, text("user-ab"))
        );
        for (filter, resource) in [
            (r#"members eq "user-ab""#, Resource::User),
            (r#"members co "user-ab""#, Resource::Group),
            (r#"members.value gt "user-ab""#, Resource::Group),
            (r#"members.display eq "Ada""#, Resource::Group),
            (r#"userName eq "a""#, Resource::Group),
            ("active eq true", Resource::Group),
            (r#"emails eq "a@x.test""#, Resource::Group),
            (r#"emails.type eq "work""#, Resource::User),
            (r#"meta.version eq "1""#, Resource::User),
            (r#"name.created eq "1970-01-01T00:00:00Z""#, Resource::User),
            (r#"id.value eq "a""#, Resource::User),
        ] {
            let refused = parse_filter(filter, resource).unwrap_err();
            assert_eq!(refused.scim_type, Some("invalidFilter"), "{filter}");
        }
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

    #[test]
    fn filters_map_to_columns_by_the_grammar() {
        let parsed = parse_filter(
            r#"userName eq "Ada@Example.com" and (active eq true or not (externalId pr))"#,
            Resource::User,
        )
        .unwrap();
        assert_eq!(
            parsed,
            Condition::And(vec![
                Condition::Compare(
                    Column::UserName,
                    Op::Eq,
                    Operand::Text("ada@example.com".into())
                ),
                Condition::Or(vec![
                    Condition::Compare(Column::Active, Op::Eq, Operand::Integer(1)),
                    Condition::Not(Box::new(Condition::Present(Column::ExternalId))),
                ]),
            ])
        );
        assert_eq!(
            parse_filter(r#"emails[value ew "@example.com"]"#, Resource::User).unwrap(),
            Condition::Compare(Column::Email, Op::Ew, Operand::Text("@example.com".into()))
        );
        assert_eq!(
            parse_filter(
                r#"meta.lastModified gt "2026-11-30T00:00:00Z""#,
                Resource::User
            )
            .unwrap(),
            Condition::Compare(
                Column::LastModified,
                Op::Gt,
                Operand::Integer(1_795_996_800)
            )
        );
        for (bad, why) in [
            ("userName eq", "no value"),
            (r#"userName eq "a" and"#, "dangling and"),
            (r#"title eq "x""#, "an attribute Roster does not keep"),
            (r#"active gt true"#, "active is compared by eq"),
            (r#"userName eq "a""#, "userName is a User's"),
        ] {
            let resource = if why.contains("User's") {
                Resource::Group
            } else {
                Resource::User
            };
            let error = parse_filter(bad, resource).unwrap_err();
            assert_eq!(error.scim_type, Some("invalidFilter"), "{bad}: {why}");
        }
    }

    #[test]
    fn ne_pr_and_not_of_a_narrow_filter_are_broad() {
        let broad = |filter: &str| parse_filter(filter, Resource::User).unwrap().is_broad();
        for filter in [
            r#"userName ne "a""#,
            "externalId pr",
            r#"not (userName sw "a")"#,
            r#"userName ne "a" and externalId pr"#,
            r#"userName eq "a" or externalId pr"#,
            r#"not (not (userName ne "a"))"#,
        ] {
            assert!(broad(filter), "{filter}");
        }
        for filter in [
            r#"userName eq "a""#,
            r#"userName co "a""#,
            r#"meta.lastModified gt "2026-11-30T00:00:00Z""#,
            r#"userName ne "a" and externalId eq "b""#,
            r#"userName eq "a" or externalId eq "b""#,
            "not (externalId pr)",
        ] {
            assert!(!broad(filter), "{filter}");
        }
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused_naming_the_attribute_as_written() {
        for (filter, detail) in [
            (
                r#"meta.lastModified gt "yesterday""#,
                "'meta.lastModified' is compared with a date and time such as 2026-11-30T12:00:00Z, by eq, ne, gt, ge, lt or le.",
            ),
            (
                r#"meta.created sw "2026-11-30T12:00:00Z""#,
                "'meta.created' is compared with a date and time such as 2026-11-30T12:00:00Z, by eq, ne, gt, ge, lt or le.",
            ),
            (
                "active gt true",
                "'active' is compared with true or false, by eq or ne.",
            ),
            (
                "emails[value eq 12]",
                "'emails.value' is compared with a string.",
            ),
        ] {
            let refused = parse_filter(filter, Resource::User).unwrap_err();
            assert_eq!(refused.scim_type, Some("invalidFilter"), "{filter}");
            assert_eq!(refused.detail, detail, "{filter}");
        }
    }

    #[test]
    fn an_unknown_or_missing_op_is_named_as_sent() {
        let refused =
            |operation: Value| patch_operations(&json!({"Operations": [operation]})).unwrap_err();
        let unknown = refused(json!({"op": "Move", "path": "active"}));
        assert_eq!(unknown.scim_type, Some("invalidSyntax"));
        assert_eq!(
            unknown.detail,
            "'op' must be add, replace or remove, not 'Move'."
        );
        let missing = refused(json!({"path": "active", "value": true}));
        assert_eq!(missing.scim_type, Some("invalidSyntax"));
        assert_eq!(
            missing.detail,
            "Each operation needs an 'op': add, replace or remove."
        );
    }

    #[test]
    fn patches_apply_with_and_without_paths_in_either_case() {
        let mut resource = json!({
            "userName": "ada@example.com",
            "active": true,
            "name": {"givenName": "Ada"},
            "emails": [{"value": "ada@example.com", "type": "work", "primary": true}],
        });
        let ops = patch_operations(&json!({"Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "add", "value": {"displayName": "Countess", "name.familyName": "ignored"}},
            {"op": "replace", "path": "name.familyName", "value": "Lovelace"},
            {"op": "add", "path": "emails", "value": [{"value": "ada@home.test", "type": "home"}]},
            {"op": "remove", "path": "emails[type eq \"home\"]"},
            {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "countess@example.com"},
            {"op": "Add", "path": format!("{ROSTER_USER_SCHEMA}:role"), "value": "owner"},
        ]}))
        .unwrap();
        apply_patch(&mut resource, &ops).unwrap();
        let ada = ScimUser::from_resource(&resource).unwrap();
        assert!(!ada.active);
        assert_eq!(ada.display_name, "Countess");
        assert_eq!(ada.resource["name"]["familyName"], "Lovelace");
        assert_eq!(ada.email, "countess@example.com");
        assert_eq!(ada.resource["emails"].as_array().unwrap().len(), 1);
        assert_eq!(ada.role, OrgRole::Owner);

        assert_eq!(
            patch_operations(&json!({"Operations": [{"op": "remove"}]}))
                .unwrap_err()
                .scim_type,
            Some("noTarget")
        );
        assert_eq!(
            patch_operations(&json!({"Operations": [{"op": "move", "path": "x"}]}))
                .unwrap_err()
                .scim_type,
            Some("invalidSyntax")
        );
        assert_eq!(
            patch_operations(&json!({"Operations": [{"op": "remove", "path": "emails[value eq"}]}))
                .unwrap_err()
                .scim_type,
            Some("invalidPath")
        );
    }

    #[test]
    fn patch_forms_identity_providers_send() {
        let mut resource = json!({
            "userName": "ada@example.com",
            "title": "Countess",
            "name": {"givenName": "Ada"},
            "emails": [
                {"value": "ada@example.com", "type": "work"},
                {"value": "ada@home.test", "type": "home"},
            ],
        });
        let apply = |resource: &mut Value, operations: Value| {
            apply_patch(
                resource,
                &patch_operations(&json!({"Operations": operations})).unwrap(),
            )
        };
        apply(
            &mut resource,
            json!([
                // No path: dotted names are sub-attributes, an extension's URN is one name.
                {"op": "replace", "value": {"name.givenName": "Augusta", ROSTER_USER_SCHEMA: {"role": "owner"}}},
                // The core schema's URN in a path names the plain attribute.
                {"op": "replace", "path": format!("{USER_SCHEMA}:displayName"), "value": "Ada L"},
                // Entra ID's removal by value removes only the values named.
                {"op": "remove", "path": "emails", "value": [{"value": "ada@home.test"}]},
                {"op": "remove", "path": "title"},
                {"op": "Add", "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"), "value": "user-9"},
            ]),
        )
        .unwrap();
        // Entra ID's manager, an id alone, is kept as RFC 7643 shapes it.
        let ada = ScimUser::from_resource(&resource).unwrap();
        assert_eq!(
            ada.resource[ENTERPRISE_USER_SCHEMA]["manager"],
            json!({"value": "user-9"})
        );
        resource = ada.resource;
        assert_eq!(
            resource,
            json!({
                "userName": "ada@example.com",
                "name": {"givenName": "Augusta"},
                "emails": [{"value": "ada@example.com", "type": "work"}],
                ROSTER_USER_SCHEMA: {"role": "owner"},
                "displayName": "Ada L",
                ENTERPRISE_USER_SCHEMA: {"manager": {"value": "user-9"}},
            })
        );
        // A value filter with nothing to match: nothing to remove, nothing to replace.
        let mut bare = json!({"userName": "b@x.test"});
        apply(
            &mut bare,
            json!([{"op": "remove", "path": "emails[type eq \"work\"]"}]),
        )
        .unwrap();
        let replaced = apply(
            &mut bare,
            json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "c@x.test"}]),
        );
        assert_eq!(replaced.unwrap_err().scim_type, Some("noTarget"));
        // Entra ID adds a value no one has yet through the filter that names it.
        apply(
            &mut bare,
            json!([
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 556"},
                {"op": "Add", "path": "phoneNumbers[type eq \"work\"].value", "value": "+1 557"},
                {"op": "Add", "path": "addresses[type eq \"work\" and primary eq true]",
                 "value": {"locality": "Columbus"}},
            ]),
        )
        .unwrap();
        assert_eq!(
            bare,
            json!({
                "userName": "b@x.test",
                "phoneNumbers": [
                    {"type": "mobile", "value": "+1 555"},
                    {"type": "work", "value": "+1 557"},
                ],
                "addresses": [{"type": "work", "primary": true, "locality": "Columbus"}],
            })
        );
        // A filter that names no one value leaves nothing to add to.
        let unnamed = apply(
            &mut bare,
            json!([{"op": "add", "path": "emails[type co \"wor\"].value", "value": "c@x.test"}]),
        );
        assert_eq!(unnamed.unwrap_err().scim_type, Some("noTarget"));
    }

    #[test]
    fn value_filters_compare_as_rfc_7644_says() {
        let bob = json!("Bob");
        for (op, expected, outcome) in [
            (Op::Eq, "bob", true),
            (Op::Eq, "bo", false),
            (Op::Ne, "bob", false),
            (Op::Ne, "al", true),
            (Op::Co, "O", true),
            (Op::Co, "x", false),
            (Op::Sw, "bo", true),
            (Op::Sw, "ob", false),
            (Op::Ew, "ob", true),
            (Op::Ew, "bo", false),
            (Op::Gt, "bob", false),
            (Op::Gt, "al", true),
            (Op::Ge, "bob", true),
            (Op::Ge, "cy", false),
            (Op::Lt, "bob", false),
            (Op::Lt, "cy", true),
            (Op::Le, "bob", true),
            (Op::Le, "al", false),
        ] {
            let text = CompValue::Str(expected.into());
            assert_eq!(compares(&bob, op, &text), outcome, "{op:?} {expected}");
        }
        for (actual, op, expected, outcome) in [
            (true, Op::Eq, CompValue::True, true),
            (false, Op::Eq, CompValue::True, false),
            (false, Op::Ne, CompValue::True, true),
            (false, Op::Eq, CompValue::False, true),
            (true, Op::Eq, CompValue::False, false),
            (true, Op::Ne, CompValue::False, true),
        ] {
            assert_eq!(
                compares(&json!(actual), op, &expected),
                outcome,
                "{actual} {op:?}"
            );
        }
        let two = json!(2);
        let number = |n: i64| CompValue::Number(n.into());
        for (op, expected, outcome) in [
            (Op::Eq, 2, true),
            (Op::Eq, 3, false),
            (Op::Ne, 2, false),
            (Op::Ne, 3, true),
            (Op::Gt, 2, false),
            (Op::Gt, 1, true),
            (Op::Ge, 2, true),
            (Op::Ge, 3, false),
            (Op::Lt, 2, false),
            (Op::Lt, 3, true),
            (Op::Le, 2, true),
            (Op::Le, 1, false),
            (Op::Co, 2, false),
        ] {
            assert_eq!(
                compares(&two, op, &number(expected)),
                outcome,
                "{op:?} {expected}"
            );
        }
        assert!(
            !compares(&json!("2"), Op::Eq, &number(2)),
            "a string is not a number"
        );
    }

    #[test]
    fn value_paths_match_remove_and_replace_what_they_name() {
        let mut resource = json!({
            "userName": "ada@example.com",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [
                {"value": "ada@example.com", "type": "work", "primary": true},
                {"value": "ada@home.test", "type": "home"},
                {"value": "ada@old.test"},
            ],
        });
        let ops = patch_operations(&json!({"Operations": [
            {"op": "remove", "path": "emails[not (type pr)]"},
            {"op": "replace", "path": "emails[primary eq false or type eq \"home\"].type", "value": "other"},
            {"op": "remove", "path": "name.familyName"},
            {"op": "remove", "path": "nickName"},
            // Adding a value already there does not repeat it.
            {"op": "add", "path": "emails", "value": [{"value": "ada@example.com", "type": "work", "primary": true}]},
        ]}))
        .unwrap();
        apply_patch(&mut resource, &ops).unwrap();
        assert_eq!(
            resource,
            json!({
                "userName": "ada@example.com",
                "name": {"givenName": "Ada"},
                "emails": [
                    {"value": "ada@example.com", "type": "work", "primary": true},
                    {"value": "ada@home.test", "type": "other"},
                ],
            })
        );
    }

    #[test]
    fn an_extension_is_selected_whole_by_its_urn() {
        let mut resource = json!({
            "schemas": [USER_SCHEMA], "id": "user-1", "userName": "ada",
            ENTERPRISE_USER_SCHEMA: {"department": "Engines"},
        });
        project(&mut resource, &[ENTERPRISE_USER_SCHEMA.into()], &[]);
        assert_eq!(
            resource,
            json!({"schemas": [USER_SCHEMA], "id": "user-1", ENTERPRISE_USER_SCHEMA: {"department": "Engines"}})
        );
    }

    #[test]
    fn responses_carry_the_attributes_asked_for() {
        let resource = json!({
            "schemas": [USER_SCHEMA], "id": "user-1", "userName": "ada",
            "name": {"givenName": "Ada", "familyName": "Lovelace"},
            "emails": [{"value": "a@x.test", "type": "work"}],
            ROSTER_USER_SCHEMA: {"role": "owner"},
        });
        let mut only = resource.clone();
        project(
            &mut only,
            &[
                "userName".into(),
                "name.givenName".into(),
                format!("{USER_SCHEMA}:emails.value"),
            ],
            &[],
        );
        assert_eq!(
            only,
            json!({
                "id": "user-1", "schemas": [USER_SCHEMA], "userName": "ada",
                "name": {"givenName": "Ada"}, "emails": [{"value": "a@x.test"}],
            })
        );
        let mut without = resource.clone();
        project(
            &mut without,
            &[],
            &[
                "NAME".into(),
                "emails.type".into(),
                format!("{ROSTER_USER_SCHEMA}:role"),
                "id".into(),
            ],
        );
        assert_eq!(
            without,
            json!({
                "schemas": [USER_SCHEMA], "id": "user-1", "userName": "ada",
                "emails": [{"value": "a@x.test"}], ROSTER_USER_SCHEMA: {},
            })
        );
    }

    #[test]
    fn what_a_response_returns_is_what_its_shape_keeps() {
        let names = |list: &[&str]| list.iter().map(|n| n.to_string()).collect::<Vec<_>>();
        let group = json!({"schemas": [GROUP_SCHEMA], "id": "g", "displayName": "Ops",
            "members": [{"value": "user-1"}]});
        for (attributes, excluded) in [
            (vec![], vec![]),
            (vec![], vec!["members"]),
            (vec![], vec!["Members.display"]),
            (vec![], vec![&*format!("{GROUP_SCHEMA}:members")]),
            (vec!["displayName"], vec![]),
            (vec!["members.value"], vec![]),
            (vec!["MEMBERS"], vec!["members"]),
        ] {
            let (attributes, excluded) = (names(&attributes), names(&excluded));
            let mut shaped = group.clone();
            project(&mut shaped, &attributes, &excluded);
            assert_eq!(
                returns("members", &attributes, &excluded),
                shaped.get("members").is_some(),
                "{attributes:?} {excluded:?}: {shaped}"
            );
        }
    }

    #[test]
    fn members_added_or_removed_by_id_are_read_apart_from_the_rest() {
        let read = |operations: Value| {
            let operations = patch_operations(&json!({"Operations": operations})).unwrap();
            member_changes(&operations)
        };
        let changes = read(json!([
            {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "user-1"}, {"value": "user-2"}]},
            {"op": "Remove", "path": "members", "value": [{"value": "user-2"}, {"value": "user-3"}]},
            {"op": "remove", "path": "members[value eq \"user-1\"]"},
            {"op": "add", "path": "urn:ietf:params:scim:schemas:core:2.0:Group:members", "value": [{"value": "user-1"}]},
            {"op": "replace", "path": "displayName", "value": "Ops"},
            {"op": "replace", "value": {"id": "group_1", "displayName": "Ops"}},
        ]))
        .unwrap();
        assert_eq!(
            changes.members,
            [
                ("user-1".to_owned(), true),
                ("user-2".to_owned(), false),
                ("user-3".to_owned(), false),
            ]
        );
        assert_eq!(changes.others.len(), 2);
        // Any other form of members is the whole group's to patch.
        for whole in [
            json!([{"op": "replace", "path": "members", "value": [{"value": "user-1"}]}]),
            json!([{"op": "remove", "path": "members"}]),
            json!([{"op": "add", "path": "members", "value": [{"display": "Ada"}]}]),
            json!([{"op": "remove", "path": "members[display eq \"Ada\"]"}]),
            json!([{"op": "remove", "path": "members[value sw \"user\"]"}]),
            json!([{"op": "replace", "path": "members[value eq \"user-1\"].value", "value": "user-2"}]),
            json!([{"op": "replace", "path": "members.value", "value": "user-2"}]),
            json!([{"op": "add", "value": {"members": [{"value": "user-1"}]}}]),
            json!([{"op": "add", "value": "user-1"}]),
        ] {
            assert!(read(whole.clone()).is_none(), "{whole}");
        }
    }

    #[test]
    fn a_group_reads_its_members_once_each() {
        let group = ScimGroup::from_resource(&json!({
            "displayName": "Eng",
            "members": [{"value": "user-1"}, {"value": "user-2"}, {"value": "user-1"}],
        }))
        .unwrap();
        assert_eq!(group.members, ["user-1", "user-2"]);
        assert!(ScimGroup::from_resource(&json!({"members": []})).is_err());
    }
}
