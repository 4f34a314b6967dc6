//! Filters against their meaning: random filters (from a fixed seed, so that a failure repeats)
//! over users with awkward names, each answered by the server, page by page with its
//! `totalResults`, and by a plain reading of RFC 7644 §3.4.2.2 over the users as the server
//! shows them. The hand-written tests name the cases someone thought of; this one finds the
//! ones no one did (an index range a collation misorders, a LIKE that ignores case, a `pr` of a
//! column that is not text).

use std::collections::BTreeSet;

use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use reqwest::Method;
use serde_json::{Value, json};

use super::{USERS, call, create_many, filtered, token};
use crate::common::TestServer;

/// What names are made of: case pairs in and beyond ASCII (`İ` lowercases to two characters,
/// `ß` has no one-character capital), LIKE's wildcards and its escape, ':' and '9' (which
/// linguistic collations order the other way round), a space, a quote and a dot.
const ALPHABET: &[&str] = &[
    "a", "A", "b", "B", "é", "É", "İ", "ß", "_", "%", "\\", ":", "9", "1", " ", "\"", ".", "z",
];

const USERS_MADE: usize = 48;
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
}

const ATTRIBUTES: &[Attribute] = &[
    Attribute::UserName,
    Attribute::ExternalId,
    Attribute::Email,
    Attribute::DisplayName,
    Attribute::Active,
    Attribute::Id,
    Attribute::Created,
    Attribute::LastModified,
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
        }
    }

    /// RFC 7643's `caseExact: false`: the server's User schema says which.
    fn ignores_case(self) -> bool {
        matches!(
            self,
            Attribute::UserName | Attribute::Email | Attribute::DisplayName
        )
    }

    /// The operators the attribute may be compared by: `active` by eq and ne, a time by its
    /// order; text by all.
    fn operators(self) -> &'static [&'static str] {
        match self {
            Attribute::Active => &["eq", "ne"],
            Attribute::Created | Attribute::LastModified => &["eq", "ne", "gt", "ge", "lt", "le"],
            _ => &["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"],
        }
    }

    /// The attribute's value in `user` as shown, if she has one: a string, or a boolean.
    fn of(self, user: &Value) -> Option<Value> {
        let value = match self {
            Attribute::Email => {
                // The address Roster sends to, as the README says filters compare: the primary
                // one, else the first, else (sent without any) her userName.
                let emails = user["emails"].as_array().cloned().unwrap_or_default();
                match emails
                    .iter()
                    .find(|e| e["primary"] == json!(true))
                    .or(emails.first())
                {
                    Some(primary) => primary["value"].clone(),
                    None => user["userName"].clone(),
                }
            }
            Attribute::Created => user["meta"]["created"].clone(),
            Attribute::LastModified => user["meta"]["lastModified"].clone(),
            _ => user[self.name()].clone(),
        };
        match &value {
            Value::String(text) if !text.is_empty() => Some(value),
            Value::Bool(_) => Some(value),
            _ => None,
        }
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

    /// Whether `user` matches: a comparison with a value she lacks is false, and so `not` of it
    /// true (the README says so; RFC 7644 leaves it open).
    fn matches(&self, user: &Value) -> bool {
        match self {
            Filter::Present(attribute) => attribute.of(user).is_some(),
            Filter::And(a, b) => a.matches(user) && b.matches(user),
            Filter::Or(a, b) => a.matches(user) || b.matches(user),
            Filter::Not(inner) => !inner.matches(user),
            Filter::Compare(attribute, op, operand) => {
                let Some(value) = attribute.of(user) else {
                    return false;
                };
                if let (Value::Bool(value), Value::Bool(operand)) = (&value, operand) {
                    return (*op == "eq") == (value == operand);
                }
                let (Some(value), Some(operand)) = (value.as_str(), operand.as_str()) else {
                    panic!("{} compared with {operand}", attribute.name());
                };
                let (value, operand) = match attribute.ignores_case() {
                    true => (value.to_lowercase(), operand.to_lowercase()),
                    false => (value.to_owned(), operand.to_owned()),
                };
                // Rust orders strings by their UTF-8 bytes, which is code point order.
                match *op {
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
        }
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

/// A comparison or `pr` of an attribute the users have; its value mostly drawn from what one
/// of them holds (whole, or a part of it, in any case), so that filters find someone.
fn comparison(rng: &mut StdRng, users: &[Value]) -> Filter {
    let attribute = *ATTRIBUTES.choose(rng).unwrap();
    if rng.random_bool(0.1) {
        return Filter::Present(attribute);
    }
    let op = *attribute.operators().choose(rng).unwrap();
    let held = attribute.of(users.choose(rng).unwrap());
    let value = match (attribute, held) {
        (Attribute::Active, _) => json!(rng.random_bool(0.5)),
        (_, Some(Value::String(held))) if rng.random_bool(0.85) => {
            let chars: Vec<char> = held.chars().collect();
            let part: String = match (op, attribute) {
                (_, Attribute::Created | Attribute::LastModified) | ("eq" | "ne", _) => held,
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
                Attribute::Created | Attribute::LastModified => part,
                _ => any_case(rng, &part),
            })
        }
        (Attribute::Created | Attribute::LastModified, _) => json!("2026-01-01T00:00:00Z"),
        _ => json!(text(rng, 3)),
    };
    Filter::Compare(attribute, op, value)
}

fn filter(rng: &mut StdRng, users: &[Value], depth: u32) -> Filter {
    if depth == 0 || rng.random_bool(0.45) {
        return comparison(rng, users);
    }
    let which = rng.random_range(0..3);
    let mut inner = || Box::new(filter(rng, users, depth - 1));
    match which {
        0 => Filter::And(inner(), inner()),
        1 => Filter::Or(inner(), inner()),
        _ => Filter::Not(inner()),
    }
}

#[tokio::test]
async fn random_filters_find_what_they_mean() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    // ROSTER_TEST_FILTER_SEED=<n> draws other users and filters, to look further.
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
    // The users as shown, the organization's owner among them.
    let everyone = call(&scim, Method::GET, &format!("{USERS}?count=200"), None).await;
    assert_eq!(everyone.status, 200, "{}", everyone.body);
    let users = everyone.body["Resources"].as_array().unwrap().clone();
    assert_eq!(users.len(), USERS_MADE + 1);

    let mut matched_some = 0;
    for _ in 0..FILTERS {
        let meant = filter(&mut rng, &users, 3);
        let written = meant.written(&mut rng);
        let expected: BTreeSet<&str> = users
            .iter()
            .filter(|u| meant.matches(u))
            .map(|u| u["id"].as_str().unwrap())
            .collect();
        matched_some += usize::from(!expected.is_empty() && expected.len() < users.len());
        // Read in pages of 7 (walked by startIndex) or whole.
        let count = *[7, 200].choose(&mut rng).unwrap();
        let mut listed = Vec::new();
        loop {
            let path = format!(
                "{}&startIndex={}&count={count}",
                filtered(USERS, &written),
                listed.len() + 1
            );
            let page = call(&scim, Method::GET, &path, None).await;
            assert_eq!(page.status, 200, "seed {seed}, {written}: {}", page.body);
            assert_eq!(
                page.body["totalResults"],
                expected.len(),
                "seed {seed}, {written}: totalResults"
            );
            let resources = page.body["Resources"].as_array().unwrap();
            listed.extend(
                resources
                    .iter()
                    .map(|r| r["id"].as_str().unwrap().to_owned()),
            );
            if resources.is_empty() || listed.len() >= expected.len() {
                break;
            }
        }
        let found: BTreeSet<&str> = listed.iter().map(String::as_str).collect();
        assert_eq!(
            found.len(),
            listed.len(),
            "seed {seed}, {written}: listed twice"
        );
        let name = |id: &&str| {
            let user = users.iter().find(|u| u["id"] == *id).unwrap();
            format!("{} {}", user["userName"], user["externalId"])
        };
        assert!(
            found == expected,
            "seed {seed}, {written}: found but not meant {:?}; meant but not found {:?}",
            found.difference(&expected).map(name).collect::<Vec<_>>(),
            expected.difference(&found).map(name).collect::<Vec<_>>(),
        );
    }
    // The filters were worth running: many found some users and missed others.
    assert!(
        matched_some > FILTERS / 4,
        "{matched_some} filters told users apart"
    );
    s.stop().await;
}
