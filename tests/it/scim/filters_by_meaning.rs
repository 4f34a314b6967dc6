//! Filters against their meaning: random filters (from a fixed seed, so that a failure repeats)
//! over users and groups with awkward names, each answered by the server, page by page with its
//! `totalResults`, and by a plain reading of RFC 7644 §3.4.2.2 over the resources as the server
//! shows them. The hand-written tests name the cases someone thought of; this one finds the
//! ones no one did (an index range a collation misorders, a LIKE that ignores case, a `pr` of a
//! column that is not text).

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

use super::{GROUPS, USERS, call, create_many, filtered, token};
use crate::common::{Caller, TestServer};

/// What names are made of: case pairs in and beyond ASCII (`İ` lowercases to two characters,
/// `ß` has no one-character capital), LIKE's wildcards and its escape, ':' and '9' (which
/// linguistic collations order the other way round), a space, a quote and a dot.
const ALPHABET: &[&str] = &[
    "a", "A", "b", "B", "é", "É", "İ", "ß", "_", "%", "\\", ":", "9", "1", " ", "\"", ".", "z",
];

const USERS_MADE: usize = 48;
const GROUPS_MADE: usize = 16;
const FILTERS: usize = 240;

#[derive(Clone, Copy, PartialEq)]
enum Attribute {
    UserName,
    ExternalId,
    Email,
    DisplayName,
    Active,
    Id,
    Created,
    LastModified,
    Members,
}

const USER_ATTRIBUTES: &[Attribute] = &[
    Attribute::UserName,
    Attribute::ExternalId,
    Attribute::Email,
    Attribute::DisplayName,
    Attribute::Active,
    Attribute::Id,
    Attribute::Created,
    Attribute::LastModified,
];

const GROUP_ATTRIBUTES: &[Attribute] = &[
    Attribute::DisplayName,
    Attribute::ExternalId,
    Attribute::Id,
    Attribute::Created,
    Attribute::LastModified,
    Attribute::Members,
];

impl Attribute {
    fn name(self) -> &'static str {
        match self {
            Attribute::UserName => "userName",
            Attribute::ExternalId => "externalId",
            Attribute::Email => "emails.value",
            Attribute::DisplayName => "displayName",
            Attribute::Active => "active",
            Attribute::Id => "id",
            Attribute::Created => "meta.created",
            Attribute::LastModified => "meta.lastModified",
            Attribute::Members => "members",
        }
    }

    /// RFC 7643's `caseExact: false`: the server's User schema says which.
    fn ignores_case(self) -> bool {
        matches!(
            self,
            Attribute::UserName | Attribute::Email | Attribute::DisplayName
        )
    }

    /// The operators the attribute may be compared by: `active` and a member by eq and ne, a
    /// time by its order; text by all.
    fn operators(self) -> &'static [&'static str] {
        match self {
            Attribute::Active | Attribute::Members => &["eq", "ne"],
            Attribute::Created | Attribute::LastModified => &["eq", "ne", "gt", "ge", "lt", "le"],
            _ => &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"],
        }
    }

    /// The attribute's values in `resource` as shown, strings or a boolean: none when it has
    /// none, several for a group's members.
    fn values(self, resource: &Value) -> Vec<Value> {
        let values = match self {
            Attribute::Email => {
                // The address Roster sends to, as the README says filters compare: the primary
                // one, else the first, else (sent without any) her userName.
                let emails = resource["emails"].as_array().cloned().unwrap_or_default();
                vec![match emails
                    .iter()
                    .find(|e| e["primary"] == json!(true))
                    .or(emails.first())
                {
                    Some(primary) => primary["value"].clone(),
                    None => resource["userName"].clone(),
                }]
            }
            Attribute::Members => resource["members"]
                .as_array()
                .map(|members| members.iter().map(|m| m["value"].clone()).collect())
                .unwrap_or_default(),
            Attribute::Created => vec![resource["meta"]["created"].clone()],
            Attribute::LastModified => vec![resource["meta"]["lastModified"].clone()],
            _ => vec![resource[self.name()].clone()],
        };
        values
            .into_iter()
            .filter(|value| match value {
                Value::String(text) => !text.is_empty(),
                other => other.is_boolean(),
            })
            .collect()
    }
}

/// A filter, as written and as meant.
enum Filter {
    Compare(Attribute, &'static str, Value),
    Present(Attribute),
    And(Box<Filter>, Box<Filter>),
    Or(Box<Filter>, Box<Filter>),
    Not(Box<Filter>),
}

impl Filter {
    fn written(&self, rng: &mut StdRng) -> String {
        match self {
            Filter::Compare(attribute, op, value) => {
                format!("{} {op} {value}", any_case(rng, attribute.name()))
            }
            Filter::Present(attribute) => format!("{} pr", any_case(rng, attribute.name())),
            Filter::And(a, b) => format!("({} and {})", a.written(rng), b.written(rng)),
            Filter::Or(a, b) => format!("({} or {})", a.written(rng), b.written(rng)),
            Filter::Not(inner) => format!("not ({})", inner.written(rng)),
        }
    }

    /// Whether `resource` matches: a comparison is true if true of any of its values (a group's
    /// members), so false of a value it lacks, and `not` of that true (the README says so; RFC
    /// 7644 leaves it open).
    fn matches(&self, resource: &Value) -> bool {
        match self {
            Filter::Present(attribute) => !attribute.values(resource).is_empty(),
            Filter::And(a, b) => a.matches(resource) && b.matches(resource),
            Filter::Or(a, b) => a.matches(resource) || b.matches(resource),
            Filter::Not(inner) => !inner.matches(resource),
            Filter::Compare(attribute, op, operand) => attribute
                .values(resource)
                .iter()
                .any(|value| compare(*attribute, op, value, operand)),
        }
    }
}

fn compare(attribute: Attribute, op: &str, value: &Value, operand: &Value) -> bool {
    if let (Value::Bool(value), Value::Bool(operand)) = (value, operand) {
        return (op == "eq") == (value == operand);
    }
    let (Some(value), Some(operand)) = (value.as_str(), operand.as_str()) else {
        panic!("{} compared with {operand}", attribute.name());
    };
    let (value, operand) = match attribute.ignores_case() {
        true => (value.to_lowercase(), operand.to_lowercase()),
        false => (value.to_owned(), operand.to_owned()),
    };
    // Rust orders strings by their UTF-8 bytes, which is code point order.
    match op {
        "eq" => value == operand,
        "ne" => value != operand,
        "co" => value.contains(&operand),
        "sw" => value.starts_with(&operand),
        "ew" => value.ends_with(&operand),
        "gt" => value > operand,
        "ge" => value >= operand,
        "lt" => value < operand,
        "le" => value <= operand,
        other => panic!("no operator {other}"),
    }
}

/// `text` with each letter's case drawn anew: the server reads attribute names, and compares
/// what ignores case, either way.
fn any_case(rng: &mut StdRng, text: &str) -> String {
    text.chars()
        .map(|c| match rng.random_bool(0.3) {
            true if c.is_lowercase() => c.to_uppercase().collect::<String>(),
            true => c.to_lowercase().collect(),
            false => c.to_string(),
        })
        .collect()
}

/// Up to `most` characters of the alphabet, neither starting nor ending with a space (names are
/// kept trimmed).
fn text(rng: &mut StdRng, most: usize) -> String {
    loop {
        let length = rng.random_range(1..=most);
        let drawn: String = (0..length)
            .map(|_| *ALPHABET.choose(rng).unwrap())
            .collect();
        if !drawn.starts_with(' ') && !drawn.ends_with(' ') {
            return drawn;
        }
    }
}

/// The `i`th user: a random userName (unique whatever its case), and, each at random, an
/// externalId, a displayName (else a name, else neither), addresses (else her userName is
/// one) with the primary one not always first, and `active`.
fn user(rng: &mut StdRng, i: usize, taken: &mut BTreeSet<String>) -> Value {
    let with_emails = rng.random_bool(0.7);
    let user_name = loop {
        let name = match with_emails {
            true => text(rng, 6),
            false => format!("{}{i}@ex.test", any_case(rng, "name")),
        };
        if taken.insert(name.to_lowercase()) {
            break name;
        }
    };
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": rng.random_bool(0.8),
    });
    if with_emails {
        let address =
            |rng: &mut StdRng, n: usize| format!("{}{i}.{n}@Ex.test", any_case(rng, "mail"));
        body["emails"] = match rng.random_bool(0.7) {
            true => json!([{"value": address(rng, 0), "primary": true}]),
            false => {
                json!([{"value": address(rng, 1)}, {"value": address(rng, 2), "primary": true}])
            }
        };
    }
    if rng.random_bool(0.75) {
        body["externalId"] = json!(text(rng, 5));
    }
    match rng.random_range(0..3) {
        0 => body["displayName"] = json!(text(rng, 8)),
        1 => body["name"] = json!({"givenName": text(rng, 4), "familyName": text(rng, 4)}),
        _ => {}
    }
    body
}

/// A comparison or `pr` of one of `attributes`; its value mostly drawn from what one of
/// `resources` holds (whole, or a part of it, in any case), so that filters find some.
fn comparison(rng: &mut StdRng, attributes: &[Attribute], resources: &[Value]) -> Filter {
    let attribute = *attributes.choose(rng).unwrap();
    if rng.random_bool(0.1) {
        return Filter::Present(attribute);
    }
    let op = *attribute.operators().choose(rng).unwrap();
    let held = attribute
        .values(resources.choose(rng).unwrap())
        .choose(rng)
        .cloned();
    let value = match (attribute, held) {
        (Attribute::Active, _) => json!(rng.random_bool(0.5)),
        (_, Some(Value::String(held))) if rng.random_bool(0.85) => {
            let chars: Vec<char> = held.chars().collect();
            let part: String = match (op, attribute) {
                (_, Attribute::Created | Attribute::LastModified | Attribute::Members)
                | ("eq" | "ne", _) => held,
                _ => {
                    let from = rng.random_range(0..chars.len());
                    let to = rng.random_range(from + 1..=chars.len());
                    let (from, to) = match op {
                        "sw" => (0, to),
                        "ew" => (from, chars.len()),
                        _ => (from, to),
                    };
                    chars[from..to].iter().collect()
                }
            };
            json!(match attribute {
                Attribute::Created | Attribute::LastModified | Attribute::Members => part,
                _ => any_case(rng, &part),
            })
        }
        (Attribute::Created | Attribute::LastModified, _) => json!("2026-01-01T00:00:00Z"),
        (Attribute::Members, _) => json!("user-none"),
        _ => json!(text(rng, 3)),
    };
    Filter::Compare(attribute, op, value)
}

fn filter(rng: &mut StdRng, attributes: &[Attribute], resources: &[Value], depth: u32) -> Filter {
    if depth == 0 || rng.random_bool(0.45) {
        return comparison(rng, attributes, resources);
    }
    let which = rng.random_range(0..3);
    let mut inner = || Box::new(filter(rng, attributes, resources, depth - 1));
    match which {
        0 => Filter::And(inner(), inner()),
        1 => Filter::Or(inner(), inner()),
        _ => Filter::Not(inner()),
    }
}

/// The `i`th group: a random name (unique whatever its case), an externalId at random, and
/// some of `users` as members.
fn group(rng: &mut StdRng, i: usize, users: &[Value], taken: &mut BTreeSet<String>) -> Value {
    let name = loop {
        let name = format!("{} {i}", text(rng, 6));
        if taken.insert(name.to_lowercase()) {
            break name;
        }
    };
    let members: Vec<Value> = (0..rng.random_range(0..6))
        .map(|_| json!({"value": users.choose(rng).unwrap()["id"]}))
        .collect();
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "members": members,
    });
    if rng.random_bool(0.75) {
        body["externalId"] = json!(text(rng, 5));
    }
    body
}

/// Every resource `path` lists, as shown.
async fn listed(scim: &Caller<'_>, path: &str, made: usize) -> Vec<Value> {
    let everyone = call(scim, Method::GET, &format!("{path}?count=200"), None).await;
    assert_eq!(everyone.status, 200, "{}", everyone.body);
    let resources = everyone.body["Resources"].as_array().unwrap().clone();
    assert_eq!(resources.len(), made);
    resources
}

/// Asks `path` `FILTERS` random filters of `attributes`, and checks each answer against what
/// the filter means of `resources`.
async fn ask(
    scim: &Caller<'_>,
    rng: &mut StdRng,
    seed: u64,
    (path, attributes): (&str, &[Attribute]),
    resources: &[Value],
) {
    let mut told_apart = 0;
    for _ in 0..FILTERS {
        let meant = filter(rng, attributes, resources, 3);
        let written = meant.written(rng);
        let expected: BTreeSet<&str> = resources
            .iter()
            .filter(|r| meant.matches(r))
            .map(|r| r["id"].as_str().unwrap())
            .collect();
        told_apart += usize::from(!expected.is_empty() && expected.len() < resources.len());
        // Read in pages of 7 (walked by startIndex) or whole.
        let count = *[7, 200].choose(rng).unwrap();
        let mut ids = Vec::new();
        loop {
            let page = format!(
                "{}&startIndex={}&count={count}",
                filtered(path, &written),
                ids.len() + 1
            );
            let page = call(scim, Method::GET, &page, None).await;
            assert_eq!(page.status, 200, "seed {seed}, {written}: {}", page.body);
            assert_eq!(
                page.body["totalResults"],
                expected.len(),
                "seed {seed}, {written}: totalResults"
            );
            let found = page.body["Resources"].as_array().unwrap();
            ids.extend(found.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
            if found.is_empty() || ids.len() >= expected.len() {
                break;
            }
        }
        let found: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
        assert_eq!(
            found.len(),
            ids.len(),
            "seed {seed}, {written}: listed twice"
        );
        let named = |id: &&str| {
            let resource = resources.iter().find(|r| r["id"] == *id).unwrap();
            let name = &resource[if path == USERS {
                "userName"
            } else {
                "displayName"
            }];
            format!("{name} {}", resource["externalId"])
        };
        assert!(
            found == expected,
            "seed {seed}, {written}: found but not meant {:?}; meant but not found {:?}",
            found.difference(&expected).map(named).collect::<Vec<_>>(),
            expected.difference(&found).map(named).collect::<Vec<_>>(),
        );
    }
    // The filters were worth asking: many found some and missed others.
    assert!(
        told_apart > FILTERS / 4,
        "{path}: {told_apart} filters told resources apart"
    );
}

#[tokio::test]
async fn random_filters_find_what_they_mean() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    // ROSTER_TEST_FILTER_SEED=<n> draws other resources and filters, to look further.
    let seed = std::env::var("ROSTER_TEST_FILTER_SEED")
        .ok()
        .and_then(|seed| seed.parse().ok())
        .unwrap_or(20261202);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut taken = BTreeSet::new();
    let bodies: Vec<Value> = (0..USERS_MADE)
        .map(|i| user(&mut rng, i, &mut taken))
        .collect();
    create_many(&scim, &bodies).await;
    // The organization's owner is one of them.
    let users = listed(&scim, USERS, USERS_MADE + 1).await;
    for i in 0..GROUPS_MADE {
        let body = group(&mut rng, i, &users, &mut taken);
        let made = call(&scim, Method::POST, GROUPS, Some(body)).await;
        assert_eq!(made.status, 201, "{}", made.body);
    }
    let groups = listed(&scim, GROUPS, GROUPS_MADE).await;

    ask(&scim, &mut rng, seed, (USERS, USER_ATTRIBUTES), &users).await;
    ask(&scim, &mut rng, seed, (GROUPS, GROUP_ATTRIBUTES), &groups).await;
    s.stop().await;
}
