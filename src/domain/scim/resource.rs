//! A SCIM User or Group: what an identity provider sends, read into what Roster keeps, and the
//! resource Roster answers with; the schemas it serves.

use std::collections::HashSet;
use std::sync::LazyLock;

use serde_json::{Map, Value, json};

use super::*;
use crate::domain::user::{self, OrgRole};
use crate::domain::{group, name};

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
            booleans_as_booleans(fields);
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

/// Keeps each boolean the User schema describes (`active`, each `primary`) as a boolean, however
/// it came: Entra ID sends `"False"`. A value that is no boolean at all is kept as sent (`active`
/// is refused before).
fn booleans_as_booleans(fields: &mut Map<String, Value>) {
    let make_boolean = |value: &mut Value| {
        if let Ok(b) = boolean(value, "") {
            *value = Value::Bool(b);
        }
    };
    for attribute in USER_ATTRIBUTES.iter() {
        let Some(value) = attribute["name"]
            .as_str()
            .and_then(|name| key_of(fields, name))
            .and_then(|key| fields.get_mut(&key))
        else {
            continue;
        };
        if attribute["type"] == "boolean" {
            make_boolean(value);
            continue;
        }
        let booleans: Vec<&str> = attribute["subAttributes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|sub| sub["type"] == "boolean")
            .filter_map(|sub| sub["name"].as_str())
            .collect();
        if booleans.is_empty() {
            continue;
        }
        let items = match value {
            Value::Array(items) => items.iter_mut().collect(),
            item => vec![item],
        };
        for item in items {
            let Value::Object(item) = item else { continue };
            for name in &booleans {
                if let Some(sub) = key_of(item, name).and_then(|key| item.get_mut(&key)) {
                    make_boolean(sub);
                }
            }
        }
    }
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

/// A multi-valued attribute of `value`s, each with its kind (`type`, one of `types`) and whether
/// it is the one preferred (`primary`).
fn labelled(name: &str, value: Value, types: &[&str], extra: Value) -> Value {
    let kind = match types {
        [] => json!({}),
        _ => json!({"canonicalValues": types}),
    };
    let sub = [
        value,
        attribute("display", "string", json!({})),
        attribute("type", "string", kind),
        attribute("primary", "boolean", json!({})),
    ];
    let mut characteristics = json!({"multiValued": true, "subAttributes": sub});
    if let (Some(all), Value::Object(extra)) = (characteristics.as_object_mut(), extra) {
        all.extend(extra);
    }
    attribute(name, "complex", characteristics)
}

fn strings(names: &[&str]) -> Vec<Value> {
    names
        .iter()
        .map(|name| attribute(name, "string", json!({})))
        .collect()
}

/// The User's attributes (RFC 7643 §4.1) but `password` and `groups`, which Roster never keeps
/// (`forget_not_hers`): what `/Schemas` describes, and what a sent User's booleans are read by.
static USER_ATTRIBUTES: LazyLock<Vec<Value>> = LazyLock::new(|| {
    let text_value = || attribute("value", "string", json!({}));
    let mut address = strings(&[
        "formatted",
        "streetAddress",
        "locality",
        "region",
        "postalCode",
        "country",
    ]);
    address.extend([
        attribute(
            "type",
            "string",
            json!({"canonicalValues": ["work", "home", "other"]}),
        ),
        attribute("primary", "boolean", json!({})),
    ]);
    let mut user = vec![
        attribute(
            "userName",
            "string",
            json!({"required": true, "uniqueness": "server",
                   "description": "The user's email address, unique in the organization ignoring case."}),
        ),
        attribute(
            "name",
            "complex",
            json!({"subAttributes": strings(&[
                "formatted", "familyName", "givenName", "middleName", "honorificPrefix",
                "honorificSuffix",
            ])}),
        ),
    ];
    user.extend(strings(&["displayName", "nickName"]));
    user.push(attribute(
        "profileUrl",
        "reference",
        json!({"referenceTypes": ["external"]}),
    ));
    user.extend(strings(&[
        "title",
        "userType",
        "preferredLanguage",
        "locale",
        "timezone",
    ]));
    user.push(attribute("active", "boolean", json!({
        "description": "false suspends the user: her API keys and admin keys stop working until she is active again.",
    })));
    user.extend([
        // Required, for a tool that fills what the schema asks: a user sent without one needs an
        // address as her userName, which no schema can say.
        labelled(
            "emails",
            attribute("value", "string", json!({"required": true})),
            &["work", "home", "other"],
            json!({"required": true, "description": "Roster writes to the primary one, else the first; without any, userName must be an address."}),
        ),
        labelled(
            "phoneNumbers",
            text_value(),
            &["work", "home", "mobile", "fax", "pager", "other"],
            json!({}),
        ),
        labelled(
            "ims",
            text_value(),
            &["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"],
            json!({}),
        ),
        labelled(
            "photos",
            attribute(
                "value",
                "reference",
                json!({"referenceTypes": ["external"]}),
            ),
            &["photo", "thumbnail"],
            json!({}),
        ),
        attribute(
            "addresses",
            "complex",
            json!({"multiValued": true, "subAttributes": address}),
        ),
        labelled("entitlements", text_value(), &[], json!({})),
        labelled("roles", text_value(), &[], json!({})),
        labelled(
            "x509Certificates",
            attribute("value", "binary", json!({})),
            &[],
            json!({}),
        ),
    ]);
    user
});

/// The schemas Roster serves (RFC 7643 §7, as §8.7.1 writes them out): every attribute of Users
/// and Groups it takes, the enterprise extension and its own. Of a User Roster reads `userName`,
/// `name`, `displayName`, `emails`, `active` and its extension's `role`; the rest it keeps and
/// shows back as sent, so an identity provider that discovers attributes (Okta's schema
/// discovery) may map them. Not `password` or `groups`, which it never keeps (`forget_not_hers`).
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
    let user = USER_ATTRIBUTES.clone();
    let mut enterprise = strings(&[
        "employeeNumber",
        "costCenter",
        "organization",
        "division",
        "department",
    ]);
    enterprise.push(attribute(
        "manager",
        "complex",
        json!({"subAttributes": [
            attribute("value", "string", json!({})),
            attribute("$ref", "reference", json!({"referenceTypes": ["User"]})),
            attribute("displayName", "string", json!({})),
        ]}),
    ));
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
            ENTERPRISE_USER_SCHEMA,
            "EnterpriseUser",
            "Enterprise User",
            enterprise,
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
    fn booleans_sent_as_strings_are_kept_as_booleans() {
        // As Entra ID sends them; any case; a value that is no boolean is kept as sent.
        let sent = json!({
            "userName": "ada@example.com",
            "Active": "False",
            "emails": [{"value": "ada@example.com", "Primary": "True"}],
            "roles": [{"value": "Admin", "primary": "false"}, {"value": "Dev", "primary": "maybe"}],
            "addresses": {"locality": "London", "primary": "TRUE"},
            "title": "true",
        });
        let ada = user(sent).unwrap();
        assert_eq!(
            ada.resource,
            json!({
                "userName": "ada@example.com",
                "Active": false,
                "emails": [{"value": "ada@example.com", "Primary": true}],
                "roles": [{"value": "Admin", "primary": false}, {"value": "Dev", "primary": "maybe"}],
                "addresses": {"locality": "London", "primary": true},
                "title": "true",
            })
        );
        assert!(!ada.active);
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
            ROSTER_USER_SCHEMA: {"role": "owner"},
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
