//! PATCH (RFC 7644 §3.5.2): operations read from the request and applied to a resource, and
//! a group's member changes read apart so that the store need not read every member.

use std::collections::{HashMap, HashSet};

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, PatchPath, ValFilter};
use serde_json::{Map, Value, json};

use super::*;
use crate::domain::name;

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

/// The object that keeps `name`, and its name there: an extension's attribute
/// (`urn:...:User:manager`) is kept in its extension's object. `None` without that extension.
fn holder<'a>(
    object: &'a mut Map<String, Value>,
    name: &'a str,
) -> Option<(&'a mut Map<String, Value>, &'a str)> {
    match extension_attribute(name) {
        Some((schema, attribute)) => key_of(object, schema)
            .and_then(|k| object.get_mut(&k))
            .and_then(Value::as_object_mut)
            .map(|extension| (extension, attribute)),
        None => Some((object, name)),
    }
}

fn remove_attribute(object: &mut Map<String, Value>, name: &str, sub: Option<&str>) {
    let Some((object, name)) = holder(object, name) else {
        return;
    };
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
/// names (Entra ID's removal by value); a single-valued one (Entra ID's enterprise `manager`,
/// removed with its value named) goes whole, as RFC 7644 §3.5.2.2 removes one without a value.
fn remove_values(object: &mut Map<String, Value>, name: &str, values: Option<&Value>) {
    let Some((object, name)) = holder(object, name) else {
        return;
    };
    let listed = key_of(object, name).and_then(|k| object.get(&k));
    if !matches!(listed, None | Some(Value::Array(_))) {
        return remove_attribute(object, name, None);
    }
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
    use crate::domain::user::OrgRole;

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
        // A removal naming the value of one that has one value (Entra ID's of her manager, and
        // a title) removes it, as one without a value does.
        apply(
            &mut resource,
            json!([
                {"op": "Remove", "path": format!("{ENTERPRISE_USER_SCHEMA}:manager"), "value": [{"value": "user-9"}]},
                {"op": "remove", "path": "displayName", "value": "Ada L"},
            ]),
        )
        .unwrap();
        assert_eq!(
            (
                &resource[ENTERPRISE_USER_SCHEMA],
                resource.get("displayName")
            ),
            (&json!({}), None)
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
}
