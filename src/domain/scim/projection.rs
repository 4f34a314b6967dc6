//! Which attributes a response carries (RFC 7644 §3.4.2.5): `attributes` and
//! `excludedAttributes`.

use serde_json::{Map, Value};

use super::*;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
