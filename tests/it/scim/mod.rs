//! SCIM 2.0 as identity providers drive it, on both backends: discovery, Okta's and Entra ID's
//! request sequences, every filter operator, PATCH forms, suspension cutting off keys, isolation
//! between organizations, and pagination with no gap or duplicate.

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Caller, Resp, TestServer};

mod filters_by_meaning;

const USERS: &str = "/scim/v2/Users";
const ROLE_EXTENSION: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:User";

/// A SCIM token for the bootstrap organization.
async fn token(s: &TestServer) -> String {
    s.store
        .create_scim_token(&s.cli_author(), Some("test"))
        .await
        .expect("a SCIM token")
        .1
}

async fn call(caller: &Caller<'_>, method: Method, path: &str, body: Option<Value>) -> Resp {
    caller.request(method, path, body).await
}

/// Asserts a SCIM error body with `status` (and `scim_type`, if given).
#[track_caller]
fn refused(response: &Resp, status: u16, scim_type: Option<&str>) {
    assert_eq!(response.status, status, "{}", response.body);
    assert_eq!(
        response.body["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"]),
        "{}",
        response.body
    );
    assert_eq!(response.body["status"], status.to_string());
    assert_eq!(
        response.body["scimType"].as_str(),
        scim_type,
        "{}",
        response.body
    );
    assert_eq!(
        response.headers["content-type"], "application/scim+json",
        "{}",
        response.body
    );
}

fn user(user_name: &str, external_id: &str, display: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "externalId": external_id,
        "displayName": display,
        "name": {"givenName": display, "familyName": "Tester"},
        "emails": [{"value": user_name, "type": "work", "primary": true}],
        "active": true,
    })
}

async fn create(scim: &Caller<'_>, body: Value) -> Value {
    let created = call(scim, Method::POST, USERS, Some(body)).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body
}

/// Creates a user of each of `bodies`, sixteen at a time; what each answered, in order.
async fn create_many(scim: &Caller<'_>, bodies: &[Value]) -> Vec<Value> {
    let mut created = Vec::with_capacity(bodies.len());
    for batch in bodies.chunks(16) {
        let made = futures_util::future::join_all(
            batch
                .iter()
                .map(|body| call(scim, Method::POST, USERS, Some(body.clone()))),
        )
        .await;
        for answer in made {
            assert_eq!(answer.status, 201, "{}", answer.body);
            created.push(answer.body);
        }
    }
    created
}

/// `path` listed with `filter`, URL-encoded.
fn filtered(path: &str, filter: &str) -> String {
    let query: String = form_urlencoded::byte_serialize(filter.as_bytes()).collect();
    format!("{path}?filter={query}")
}

/// The `userName`s of a list's resources, in the order listed.
fn user_names(list: &Value) -> Vec<String> {
    list["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["userName"].as_str().unwrap().to_owned())
        .collect()
}

fn ids(list: &Value) -> BTreeSet<String> {
    user_names(list).into_iter().collect()
}

/// The `attribute` of each resource `path` lists with `filter`, sorted, having checked that
/// `totalResults` counts them.
async fn found(scim: &Caller<'_>, path: &str, filter: &str, attribute: &str) -> Vec<String> {
    let list = call(scim, Method::GET, &filtered(path, filter), None).await;
    assert_eq!(list.status, 200, "{filter}: {}", list.body);
    let names: BTreeSet<String> = list.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r[attribute].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(list.body["totalResults"], names.len(), "{filter}");
    names.into_iter().collect()
}

/// Creates a SCIM group named `name` with `external_id`.
async fn create_group(scim: &Caller<'_>, name: &str, external_id: &str) -> Value {
    let body = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": name,
        "externalId": external_id,
    });
    let made = call(scim, Method::POST, GROUPS, Some(body)).await;
    assert_eq!(made.status, 201, "{}", made.body);
    made.body
}

#[tokio::test]
async fn discovery_answers_at_the_base_and_only_to_a_token() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let config = call(&scim, Method::GET, "/scim/v2/ServiceProviderConfig", None).await;
    assert_eq!(config.status, 200, "{}", config.body);
    assert_eq!(config.headers["content-type"], "application/scim+json");
    assert_eq!(config.body["patch"]["supported"], true);
    assert_eq!(config.body["filter"]["supported"], true);
    assert_eq!(config.body["etag"]["supported"], true);
    let types = call(&scim, Method::GET, "/scim/v2/ResourceTypes", None).await;
    let names: Vec<&str> = types.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    let schemas = call(&scim, Method::GET, "/scim/v2/Schemas", None).await;
    assert_eq!(schemas.body["totalResults"], 3, "{}", schemas.body);
    let user_schema = call(
        &scim,
        Method::GET,
        "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
        None,
    )
    .await;
    assert_eq!(user_schema.body["attributes"][0]["name"], "userName");
    refused(
        &call(&scim, Method::GET, "/scim/v2/Schemas/urn:nope", None).await,
        404,
        None,
    );
    // Optional endpoints Roster does not serve answer 501, as RFC 7644 §3.11 asks of /Me.
    for (method, path) in [
        (Method::GET, "/scim/v2/Me"),
        (Method::PATCH, "/scim/v2/Me/anything"),
        (Method::POST, "/scim/v2/Bulk"),
    ] {
        let answer = call(&scim, method, path, Some(json!({}))).await;
        refused(&answer, 501, None);
        assert!(
            answer.body["detail"]
                .as_str()
                .unwrap()
                .contains("not supported"),
            "{}",
            answer.body
        );
    }

    for key in [
        None,
        Some("scim-not-a-token-at-all-0000000000"),
        Some(s.key.as_str()),
    ] {
        let caller = match key {
            Some(key) => s.with_key(key),
            None => s.anonymous(),
        };
        let response = call(&caller, Method::GET, USERS, None).await;
        refused(&response, 401, None);
        assert!(response.headers.contains_key("www-authenticate"));
    }
    s.stop().await;
}

/// Okta's first requests: a probe of the list, then a lookup by userName before each create.
#[tokio::test]
async fn okta_provisions_updates_deactivates_and_deletes() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let probe = call(
        &scim,
        Method::GET,
        "/scim/v2/Users?startIndex=1&count=2",
        None,
    )
    .await;
    assert_eq!(probe.status, 200, "{}", probe.body);
    assert_eq!(probe.body["totalResults"], 1, "the owner");
    assert_eq!(probe.body["startIndex"], 1);
    let lookup = call(
        &scim,
        Method::GET,
        "/scim/v2/Users?filter=userName%20eq%20%22ada%40example.com%22&startIndex=1&count=100",
        None,
    )
    .await;
    assert_eq!(
        (
            lookup.body["totalResults"].as_i64(),
            lookup.body["Resources"].as_array().map(Vec::len)
        ),
        (Some(0), Some(0))
    );

    // Created with application/scim+json, as Okta sends it.
    let created = reqwest::Client::new()
        .post(format!("{}{USERS}", s.root))
        .bearer_auth(&token)
        .header("content-type", "application/scim+json; charset=utf-8")
        .body({
            // With Okta's password sync on, the password comes along; and Okta sends
            // `groups`, which is read-only (RFC 7643 §4.1.2).
            let mut ada = user("ada@example.com", "00u1", "Ada");
            ada["password"] = json!("Sup3rSecret!");
            ada["groups"] = json!([]);
            ada.to_string()
        })
        .send()
        .await
        .unwrap();
    assert_eq!(created.status().as_u16(), 201);
    let etag = created.headers()["etag"].to_str().unwrap().to_owned();
    let location = created.headers()["location"].to_str().unwrap().to_owned();
    let ada: Value = created.json().await.unwrap();
    let id = ada["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("user-"), "{ada}");
    assert_eq!(etag, "W/\"1\"");
    assert!(
        location.ends_with(&format!("/scim/v2/Users/{id}")),
        "{location}"
    );
    assert_eq!(ada["meta"]["version"], etag);
    assert!(ada.get("password").is_none(), "never returned: {ada}");
    assert!(ada.get("groups").is_none(), "not hers to set: {ada}");

    // In the Admin API: an organization user, with no invitation sent.
    let admin = s.admin();
    let listed = admin.get(&format!("/v1/organization/users/{id}")).await;
    assert_eq!(listed.ok()["email"], "ada@example.com");
    assert_eq!(
        listed.ok()["role"],
        "reader",
        "reader unless the extension says"
    );
    assert_eq!(listed.ok()["name"], "Ada");
    assert!(
        s.invite_token("ada@example.com").await.is_none(),
        "no invitation"
    );

    // Okta's profile push: PUT the whole user.
    let mut renamed = user("ada@example.com", "00u1", "Ada Lovelace");
    renamed[ROLE_EXTENSION] = json!({"role": "owner"});
    let put = call(&scim, Method::PUT, &format!("{USERS}/{id}"), Some(renamed)).await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(put.body["displayName"], "Ada Lovelace");
    assert_eq!(put.body["meta"]["version"], "W/\"2\"");
    assert_eq!(
        admin
            .get(&format!("/v1/organization/users/{id}"))
            .await
            .ok()["role"],
        "owner"
    );
    // A stale If-Match is refused, and changes nothing.
    let stale = reqwest::Client::new()
        .put(format!("{}{USERS}/{id}", s.root))
        .bearer_auth(&token)
        .header("if-match", "W/\"1\"")
        .json(&user("ada@example.com", "x", "Stale"))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 412);

    // Deactivation: Okta's PATCH without a path.
    let deactivated = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "value": {"active": false}}],
        })),
    )
    .await;
    assert_eq!(deactivated.status, 200, "{}", deactivated.body);
    assert_eq!(deactivated.body["active"], false);
    assert_eq!(deactivated.body["displayName"], "Ada Lovelace");

    let deleted = call(&scim, Method::DELETE, &format!("{USERS}/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    refused(
        &call(&scim, Method::GET, &format!("{USERS}/{id}"), None).await,
        404,
        None,
    );
    admin
        .get(&format!("/v1/organization/users/{id}"))
        .await
        .error(404, Some("user_id"));

    // Each change is in the audit log, by the SCIM token.
    let log = admin
        .get(&format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&limit=100"
        ))
        .await;
    let events = log.ok()["data"].as_array().unwrap().clone();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        ["user.deleted", "user.updated", "user.updated", "user.added"],
        "{events:?}"
    );
    for event in &events {
        let key = &event["actor"]["api_key"];
        assert!(
            key["id"].as_str().unwrap().starts_with("scim_token_"),
            "{event}"
        );
    }
    s.stop().await;
}

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// Entra ID capitalises its ops, sends booleans as strings and names sub-attributes in values.
#[tokio::test]
async fn entra_capitalised_ops_and_string_booleans() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let created = create(&scim, user("grace@example.com", "e-1", "Grace")).await;
    let id = created["id"].as_str().unwrap();
    let lookup = call(
        &scim,
        Method::GET,
        "/scim/v2/Users?filter=externalId%20eq%20%22e-1%22",
        None,
    )
    .await;
    assert_eq!(lookup.body["Resources"][0]["id"], id);
    let patched = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "Replace", "path": "active", "value": "False"},
                {"op": "Add", "value": {"name.familyName": "Hopper", "displayName": "Grace Hopper"}},
                {"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "hopper@example.com"},
                {"op": "Add", "path": "emails", "value": [{"value": "grace@home.test", "type": "home"}]},
                {"op": "Remove", "path": "emails[type eq \"home\"]"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "Navy"},
                // Her manager as Entra ID sends one: the id alone.
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "user-0000"},
                // A phone number she has not had: Entra ID names the new value by its type.
                {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            ],
        })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["active"], false);
    assert_eq!(patched.body["name"]["familyName"], "Hopper");
    assert_eq!(patched.body["displayName"], "Grace Hopper");
    // The extension an op added is named in `schemas`, as RFC 7643 §3 asks.
    assert_eq!(patched.body[ENTERPRISE]["department"], "Navy");
    assert_eq!(
        patched.body[ENTERPRISE]["manager"],
        json!({"value": "user-0000"}),
        "complex, as RFC 7643 §4.3 has it"
    );
    assert!(
        patched.body["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(ENTERPRISE)),
        "{}",
        patched.body
    );
    assert_eq!(
        patched.body["emails"],
        json!([{"value": "hopper@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(
        patched.body["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        s.admin()
            .get(&format!("/v1/organization/users/{id}"))
            .await
            .ok()["email"],
        "hopper@example.com"
    );
    let reactivated = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{id}"),
        Some(json!({"Operations": [{"op": "Replace", "path": "active", "value": "True"}]})),
    )
    .await;
    assert_eq!(reactivated.body["active"], true);

    for (body, scim_type) in [
        (
            json!({"Operations": [{"op": "Move", "path": "active"}]}),
            "invalidSyntax",
        ),
        (json!({"Operations": [{"op": "Remove"}]}), "noTarget"),
        (
            json!({"Operations": [{"op": "Replace", "path": "emails[", "value": 1}]}),
            "invalidPath",
        ),
        (json!({"Operations": []}), "invalidSyntax"),
        (
            json!({"Operations": [{"op": "Replace", "path": "active", "value": "maybe"}]}),
            "invalidValue",
        ),
    ] {
        let response = call(&scim, Method::PATCH, &format!("{USERS}/{id}"), Some(body)).await;
        refused(&response, 400, Some(scim_type));
    }
    s.stop().await;
}

#[tokio::test]
async fn every_filter_operator_selects_what_it_says() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("ada@example.com", "x-ada", "Ada")).await;
    create(&scim, user("bob@example.org", "x-bob", "Bob")).await;
    let mut carol = user("carol@example.com", "x-carol", "Carol");
    carol["active"] = json!(false);
    create(&scim, carol).await;
    let mut dave = user("dave@example.net", "", "Dave");
    dave.as_object_mut().unwrap().remove("externalId");
    create(&scim, dave).await;

    let matching = |filter: &'static str| {
        let scim = &scim;
        async move {
            let list = call(scim, Method::GET, &filtered(USERS, filter), None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            let found = ids(&list.body);
            assert_eq!(list.body["totalResults"], found.len(), "{filter}");
            found
                .into_iter()
                .map(|n| n.split('@').next().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    for (filter, expected) in [
        (r#"userName eq "ADA@example.com""#, vec!["ada"]),
        (
            r#"userName ne "ada@example.com""#,
            vec!["bob", "carol", "dave", "owner"],
        ),
        (r#"userName co "example.co""#, vec!["ada", "carol", "owner"]),
        (r#"userName sw "B""#, vec!["bob"]),
        (r#"userName ew ".net""#, vec!["dave"]),
        (r#"externalId pr"#, vec!["ada", "bob", "carol"]),
        (r#"externalId eq "x-bob""#, vec!["bob"]),
        (r#"emails.value eq "carol@example.com""#, vec!["carol"]),
        (r#"emails[value co "example.org"]"#, vec!["bob"]),
        (r#"displayName eq "dave""#, vec!["dave"]),
        (r#"active eq false"#, vec!["carol"]),
        (
            r#"userName gt "bob@example.org""#,
            vec!["carol", "dave", "owner"],
        ),
        (
            r#"userName ge "bob@example.org""#,
            vec!["bob", "carol", "dave", "owner"],
        ),
        (r#"userName lt "bob""#, vec!["ada"]),
        (r#"userName le "ada@example.com""#, vec!["ada"]),
        (r#"userName sw "a" and active eq true"#, vec!["ada"]),
        (
            r#"userName eq "bob@example.org" or userName eq "dave@example.net""#,
            vec!["bob", "dave"],
        ),
        (r#"not (userName co "example.com")"#, vec!["bob", "dave"]),
        // A comparison with an absent value is false, so `not` of it is true.
        (
            r#"not (externalId eq "x-bob")"#,
            vec!["ada", "carol", "dave", "owner"],
        ),
        (r#"not (externalId pr)"#, vec!["dave", "owner"]),
        (
            r#"not (externalId ne "x-bob")"#,
            vec!["bob", "dave", "owner"],
        ),
        (
            r#"not (externalId co "a" or active eq false)"#,
            vec!["bob", "dave", "owner"],
        ),
        (
            r#"not (userName sw "a" and userName ew ".com")"#,
            vec!["bob", "carol", "dave", "owner"],
        ),
        (
            r#"(userName sw "c" or userName sw "d") and not (active eq false)"#,
            vec!["dave"],
        ),
        (
            r#"meta.lastModified ge "2000-01-01T00:00:00Z""#,
            vec!["ada", "bob", "carol", "dave", "owner"],
        ),
        (r#"meta.lastModified gt "2999-01-01T00:00:00Z""#, vec![]),
        // A flag and a time are present when set: every user has them.
        (
            r#"active pr and meta.created pr"#,
            vec!["ada", "bob", "carol", "dave", "owner"],
        ),
        (r#"not (meta.lastModified pr)"#, vec![]),
    ] {
        assert_eq!(matching(filter).await, expected, "{filter}");
    }
    for bad in [
        r#"userName eq"#,
        r#"title eq "x""#,
        r#"active gt true"#,
        r#"userName eq "a" and"#,
        // A part of a time is no time.
        r#"meta.created sw "2026-11-30T12:00:00Z""#,
    ] {
        refused(
            &call(&scim, Method::GET, &filtered(USERS, bad), None).await,
            400,
            Some("invalidFilter"),
        );
    }
    s.stop().await;
}

/// Strings compare lexicographically (RFC 7644 §3.4.2.2), by code point, on both backends,
/// whatever PostgreSQL's collation. The tests' PostgreSQL databases are ICU's en-US (a linguistic
/// collation, as many servers have), where ':' sorts before '9': a prefix read as the range
/// [prefix, next prefix) then found nothing for `sw "user9"` (up to "user:").
#[tokio::test]
async fn strings_compare_by_code_point_whatever_the_database_collation() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("user9@example.com", "id:9", "Agent 9")).await;
    create(&scim, user("user10@example.com", "id-10", "Agent 10")).await;
    create_group(&scim, "Team 9", "g:9").await;
    create_group(&scim, "Team 10", "g-10").await;
    for (filter, expected) in [
        (r#"userName sw "user9""#, vec!["user9@example.com"]),
        (r#"userName sw "USER1""#, vec!["user10@example.com"]),
        (r#"externalId sw "id:""#, vec!["user9@example.com"]),
        (r#"displayName sw "agent 9""#, vec!["user9@example.com"]),
        (r#"emails.value sw "user9@""#, vec!["user9@example.com"]),
        (
            r#"not (userName sw "user9")"#,
            vec!["owner@example.com", "user10@example.com"],
        ),
        (
            r#"userName lt "user:""#,
            vec![
                "owner@example.com",
                "user10@example.com",
                "user9@example.com",
            ],
        ),
        (r#"userName gt "user:""#, vec![]),
    ] {
        assert_eq!(
            found(&scim, USERS, filter, "userName").await,
            expected,
            "{filter}"
        );
    }
    for (filter, expected) in [
        (r#"displayName sw "team 9""#, vec!["Team 9"]),
        (r#"externalId sw "g:""#, vec!["Team 9"]),
        (r#"displayName lt "team :""#, vec!["Team 10", "Team 9"]),
    ] {
        assert_eq!(
            found(&scim, GROUPS, filter, "displayName").await,
            expected,
            "{filter}"
        );
    }
    s.stop().await;
}

/// The longest filter the grammar reads, 1,024 terms, is answered (SQLite refuses an expression
/// deeper than 1,000, so a chain of terms must not become one), on users and groups, in `and`
/// and `or` chains of every kind of comparison; one term more is a 400.
#[tokio::test]
async fn the_longest_filter_the_grammar_reads_is_answered() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("ada@example.com", "x-ada", "Ada")).await;
    create(&scim, user("bob@example.org", "x-bob", "Bob")).await;
    let search = |path: &'static str, terms: Vec<String>, joiner: &'static str| {
        let scim = &scim;
        async move {
            let filter = terms.join(joiner);
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                "filter": filter,
            });
            call(scim, Method::POST, &format!("{path}/.search"), Some(body)).await
        }
    };
    // Of each kind a few hundred that match no one, and the terms that find Ada and Bob.
    let misses = |n: usize| {
        (0..n).map(|i| match i % 4 {
            0 => format!(r#"userName eq "nobody{i}@example.com""#),
            1 => format!(r#"userName co "nobody{i}@""#),
            2 => format!(r#"externalId sw "none-{i}""#),
            _ => format!(r#"displayName ew "Nobody {i}""#),
        })
    };
    let mut any: Vec<String> = misses(1_022).collect();
    any.push(r#"userName eq "ada@example.com""#.into());
    any.push(r#"emails[value co "bob@"]"#.into());
    let found = search(USERS, any.clone(), " or ").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(
        user_names(&found.body),
        ["ada@example.com", "bob@example.org"]
    );
    assert_eq!(found.body["totalResults"], 2);

    let mut all: Vec<String> = misses(1_023).map(|t| format!("not ({t})")).collect();
    all.push(r#"userName sw "a""#.into());
    let found = search(USERS, all, " and ").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(user_names(&found.body), ["ada@example.com"]);
    assert_eq!(found.body["totalResults"], 1);

    let groups: Vec<String> = (0..1_024)
        .map(|i| format!(r#"displayName eq "Group {i}""#))
        .collect();
    let found = search(GROUPS, groups, " or ").await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["totalResults"], 0);

    any.push(r#"userName eq "carol@example.com""#.into());
    refused(
        &search(USERS, any, " or ").await,
        400,
        Some("invalidFilter"),
    );
    s.stop().await;
}

/// `co` and `ew` are served from trigram indexes (migration 0013), which ignore case and read
/// `_` as a wildcard: what they find is checked exactly, and they follow renames and deletes.
#[tokio::test]
async fn substring_filters_match_exactly_and_follow_every_change() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let lee = create(&scim, user("lee_b@example.com", "Ext_1", "Lee Brown")).await;
    let leo = create(&scim, user("leexb@example.com", "ext-1", "Leo Black")).await;
    let users = |filter| found(&scim, USERS, filter, "userName");
    assert_eq!(users(r#"userName co "e_b""#).await, ["lee_b@example.com"]);
    assert_eq!(users(r#"userName co "E_B@""#).await, ["lee_b@example.com"]);
    assert_eq!(
        users(r#"userName ew "e_b@example.com""#).await,
        ["lee_b@example.com"]
    );
    assert_eq!(
        users(r#"externalId co "xt_1""#).await,
        ["lee_b@example.com"]
    );
    assert_eq!(
        users(r#"emails.value co "xb@ex""#).await,
        ["leexb@example.com"]
    );
    assert_eq!(
        users(r#"displayName co "o bla""#).await,
        ["leexb@example.com"]
    );
    assert_eq!(
        users(r#"displayName co "le" and not (userName co "_")"#).await,
        ["leexb@example.com"]
    );
    // externalId is case-exact (RFC 7643 §3.1): every operator compares it with case (SQLite's
    // LIKE ignores ASCII case), and a filter's `not` is every other user.
    let everyone = [
        "lee_b@example.com",
        "leexb@example.com",
        "owner@example.com",
    ];
    for (filter, expected) in [
        (r#"externalId co "EXT""#, vec![]),
        (r#"externalId co "Ext""#, vec!["lee_b@example.com"]),
        (r#"externalId ew "T_1""#, vec![]),
        (r#"externalId ew "t_1""#, vec!["lee_b@example.com"]),
        (r#"externalId sw "e""#, vec!["leexb@example.com"]),
        (r#"externalId sw "E""#, vec!["lee_b@example.com"]),
        (r#"not (externalId co "EXT")"#, everyone.to_vec()),
        (r#"not (externalId ew "T_1")"#, everyone.to_vec()),
        (
            r#"not (externalId sw "E")"#,
            vec!["leexb@example.com", "owner@example.com"],
        ),
        (r#"not (externalId co "xt")"#, vec!["owner@example.com"]),
    ] {
        assert_eq!(users(filter).await, expected, "{filter}");
    }

    // Renamed: found by the new name only.
    let patched = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{}", leo["id"].as_str().unwrap()),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [
                {"op": "replace", "path": "userName", "value": "leonie@example.com"},
                {"op": "replace", "path": "displayName", "value": "Leonie Grey"},
            ],
        })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(users(r#"userName co "eexb""#).await, Vec::<String>::new());
    assert_eq!(users(r#"userName co "eoni""#).await, ["leonie@example.com"]);
    assert_eq!(
        users(r#"displayName co "ie gr""#).await,
        ["leonie@example.com"]
    );
    assert_eq!(
        users(r#"displayName co "black""#).await,
        Vec::<String>::new()
    );

    // Deleted: found no more.
    let path = format!("{USERS}/{}", lee["id"].as_str().unwrap());
    assert_eq!(call(&scim, Method::DELETE, &path, None).await.status, 204);
    assert_eq!(users(r#"userName co "e_b""#).await, Vec::<String>::new());

    // Groups: by displayName and externalId.
    create_group(&scim, "Team_Red", "grp_1").await;
    create_group(&scim, "TeamXRed", "grp-2").await;
    let groups = |filter| found(&scim, GROUPS, filter, "displayName");
    assert_eq!(groups(r#"displayName co "m_r""#).await, ["Team_Red"]);
    assert_eq!(groups(r#"displayName ew "XRED""#).await, ["TeamXRed"]);
    assert_eq!(groups(r#"externalId co "p_1""#).await, ["Team_Red"]);
    s.stop().await;
}

/// userName and displayName ignore case beyond ASCII, as Unicode folds it (SQLite's lower()
/// knows only ASCII): identity providers find users and groups named in any language by the
/// name they sent, and a userName differing only in case is taken.
#[tokio::test]
async fn names_compare_ignoring_case_in_every_language() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut unal = user("Ünal@Example.com", "x-unal", "ÜNAL Şahin");
    unal["emails"] = json!([{"value": "unal@example.com", "primary": true}]);
    create(&scim, unal).await;
    s.add_user("élodie@example.com", "reader", "Élodie Ørsted")
        .await;
    let users = |filter: &'static str| {
        let scim = &scim;
        async move {
            let list = call(scim, Method::GET, &filtered(USERS, filter), None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            assert_eq!(
                list.body["totalResults"],
                list.body["Resources"].as_array().unwrap().len(),
                "{filter}"
            );
            user_names(&list.body)
        }
    };
    for filter in [
        r#"userName eq "Ünal@Example.com""#,
        r#"userName eq "ünal@example.com""#,
        r#"userName eq "ÜNAL@EXAMPLE.COM""#,
        r#"userName sw "ÜN""#,
        r#"userName co "NAL@EX""#,
        r#"displayName eq "ünal şahin""#,
        r#"displayName ew "ŞAHIN""#,
    ] {
        assert_eq!(users(filter).await, ["Ünal@Example.com"], "{filter}");
    }
    // Added through the Admin API.
    for filter in [
        r#"userName eq "ÉLODIE@example.com""#,
        r#"displayName eq "ÉLODIE ØRSTED""#,
        r#"displayName co "die ør""#,
    ] {
        assert_eq!(users(filter).await, ["élodie@example.com"], "{filter}");
    }
    let mut twin = user("ünal@EXAMPLE.com", "x-twin", "Twin");
    twin["emails"] = json!([{"value": "twin@example.com", "primary": true}]);
    refused(
        &call(&scim, Method::POST, USERS, Some(twin)).await,
        409,
        Some("uniqueness"),
    );

    // Groups, as Entra ID looks them up (its displayName as sent), made by SCIM and renamed
    // through the Admin API.
    let made = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Équipe Ärzte",
        })),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    let admin = s.admin();
    let renamed = admin
        .post("/v1/organization/groups", json!({"name": "Ops"}))
        .await
        .id();
    admin
        .post(
            &format!("/v1/organization/groups/{renamed}"),
            json!({"name": "ÖFFENTLICHE Dienste"}),
        )
        .await
        .ok();
    let groups = |filter: &'static str| {
        let scim = &scim;
        async move {
            let list = call(scim, Method::GET, &filtered(GROUPS, filter), None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            list.body["Resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|g| g["displayName"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    for (filter, expected) in [
        (r#"displayName eq "Équipe Ärzte""#, "Équipe Ärzte"),
        (r#"displayName eq "ÉQUIPE ÄRZTE""#, "Équipe Ärzte"),
        (r#"displayName co "pe är""#, "Équipe Ärzte"),
        (
            r#"displayName eq "öffentliche dienste""#,
            "ÖFFENTLICHE Dienste",
        ),
        (r#"displayName sw "Öff""#, "ÖFFENTLICHE Dienste"),
    ] {
        assert_eq!(groups(filter).await, [expected], "{filter}");
    }
    s.stop().await;
}

#[tokio::test]
async fn suspension_stops_her_keys_at_once_and_reactivation_restores_them() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut owner = user("eve@example.com", "x-eve", "Eve");
    owner[ROLE_EXTENSION] = json!({"role": "owner"});
    let eve = create(&scim, owner).await;
    let id = eve["id"].as_str().unwrap().to_owned();
    let (_, admin_key) = s
        .store
        .create_admin_key(&s.cli_author(), &id, Some("eve"), None)
        .await
        .unwrap();
    let project = s.add_project("P").await;
    s.add_member(&project, &id, "member").await;
    let project_key = s
        .admin()
        .post(
            &format!("/v1/organization/projects/{project}/users/{id}/api_keys"),
            json!({"name": "laptop"}),
        )
        .await
        .ok()["value"]
        .as_str()
        .unwrap()
        .to_owned();
    let works = |key: String| {
        let s = &s;
        async move {
            s.with_key(&key)
                .get("/v1/organization/projects")
                .await
                .status
                == 200
        }
    };
    assert!(works(admin_key.clone()).await);
    assert!(s.gateway_check(&project_key).await.is_some());

    let active = |value: bool| {
        let scim = &scim;
        let path = format!("{USERS}/{id}");
        async move {
            let patched = call(
                scim,
                Method::PATCH,
                &path,
                Some(json!({"Operations": [{"op": "replace", "path": "active", "value": value}]})),
            )
            .await;
            assert_eq!(patched.status, 200, "{}", patched.body);
        }
    };
    active(false).await;
    let refused_key = s
        .with_key(&admin_key)
        .get("/v1/organization/projects")
        .await;
    assert!(
        refused_key.error(401, None)["message"]
            .as_str()
            .unwrap()
            .contains("suspended"),
        "{}",
        refused_key.body
    );
    assert!(
        s.gateway_check(&project_key).await.is_none(),
        "the gateway refuses her key"
    );
    let key_object = s
        .admin()
        .get(&format!("/v1/organization/projects/{project}/api_keys"))
        .await;
    assert_eq!(
        key_object.ok()["data"][0]["owner_project_access"],
        "inactive"
    );

    active(true).await;
    assert!(works(admin_key).await, "her admin key works again");
    assert!(s.gateway_check(&project_key).await.is_some());
    s.stop().await;
}

#[tokio::test]
async fn what_scim_manages_the_admin_api_does_not_change() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let frank = create(&scim, user("frank@example.com", "x-frank", "Frank")).await;
    let id = frank["id"].as_str().unwrap();
    let admin = s.admin();
    let path = format!("/v1/organization/users/{id}");
    admin
        .post(&path, json!({"role": "owner"}))
        .await
        .error_mentioning(400, None, "managed by SCIM");
    admin
        .delete(&path)
        .await
        .error_mentioning(400, None, "managed by SCIM");
    assert_eq!(admin.get(&path).await.ok()["role"], "reader");

    // userName and email are unique whatever their case: 409 uniqueness.
    refused(
        &call(
            &scim,
            Method::POST,
            USERS,
            Some(user("FRANK@example.com", "y", "F")),
        )
        .await,
        409,
        Some("uniqueness"),
    );
    refused(
        &call(
            &scim,
            Method::POST,
            USERS,
            Some(json!({"userName": "no-address"})),
        )
        .await,
        400,
        Some("invalidValue"),
    );
    refused(
        &call(&scim, Method::GET, &format!("{USERS}/user-nope"), None).await,
        404,
        None,
    );
    s.stop().await;
}

/// The strings Roster indexes are bounded, so that no value fails in the database (PostgreSQL's
/// B-tree keeps no entry over 2,704 bytes): 512 characters of four bytes each are kept, one
/// more is refused with 400 and nothing made; a group is named as the Admin API names one. An
/// id with NUL (which PostgreSQL stores nowhere) is refused too.
#[tokio::test]
async fn strings_up_to_their_bounds_are_kept_and_past_them_refused() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let wide = |n: usize| "𝒜".repeat(n);
    let mut longest = user("longest@example.com", &wide(512), &wide(512));
    longest["userName"] = json!(wide(512));
    let made = create(&scim, longest).await;
    assert_eq!(made["userName"], wide(512));
    assert_eq!(made["externalId"], wide(512));
    let found = call(
        &scim,
        Method::POST,
        &format!("{USERS}/.search"),
        Some(json!({"filter": format!(r#"userName eq "{}""#, wide(512))})),
    )
    .await;
    assert_eq!(found.body["totalResults"], 1, "{}", found.body);

    for (attribute, detail) in [
        (
            "userName",
            "'userName' must be between 1 and 512 characters.",
        ),
        ("externalId", "'externalId' must be at most 512 characters."),
        (
            "displayName",
            "The user's name (displayName, else name) must be between 1 and 512 characters.",
        ),
    ] {
        let mut body = user("past@example.com", "x-past", "Past");
        body[attribute] = json!(wide(513));
        let refused_one = call(&scim, Method::POST, USERS, Some(body)).await;
        refused(&refused_one, 400, Some("invalidValue"));
        assert_eq!(refused_one.body["detail"], detail, "{attribute}");
    }
    let control = user("tab@example.com", "x-tab", "Tab\tName");
    refused(
        &call(&scim, Method::POST, USERS, Some(control)).await,
        400,
        Some("invalidValue"),
    );
    let listed = call(&scim, Method::GET, USERS, None).await;
    assert_eq!(
        listed.body["totalResults"], 2,
        "the owner and the longest only"
    );

    let group = |name: String, external: String| {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": name,
            "externalId": external,
        })
    };
    let kept = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(group(wide(255), wide(512))),
    )
    .await;
    assert_eq!(kept.status, 201, "{}", kept.body);
    for body in [
        group(wide(256), "g".into()),
        group("Line\nbreak".into(), "g".into()),
        group("Ops".into(), wide(513)),
    ] {
        refused(
            &call(&scim, Method::POST, GROUPS, Some(body)).await,
            400,
            Some("invalidValue"),
        );
    }
    let groups = call(&scim, Method::GET, GROUPS, None).await;
    assert_eq!(groups.body["totalResults"], 1);

    // An id holding NUL, which no database stores, is refused before one is asked.
    for base in [USERS, GROUPS] {
        for method in [Method::GET, Method::PUT, Method::PATCH, Method::DELETE] {
            let body = (method == Method::PUT || method == Method::PATCH).then(|| json!({}));
            let answer = call(&scim, method.clone(), &format!("{base}/a%00b"), body).await;
            refused(&answer, 400, Some("invalidValue"));
        }
    }
    s.stop().await;
}

/// RFC 7644 §3.14: a read names the version it holds (`If-None-Match`: 304, its ETag and no
/// body) or the one it wants (`If-Match`: 412 for another); a change or a deletion goes ahead
/// only when its `If-Match` names the current version among its list, and its `If-None-Match`
/// does not; a refused one changes nothing.
#[tokio::test]
async fn conditional_requests_follow_the_versions_they_name() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let ada = create(&scim, user("ada@example.com", "x-ada", "Ada")).await;
    let group = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Ops",
        })),
    )
    .await
    .body;
    for (path, body) in [
        (
            format!("{USERS}/{}", ada["id"].as_str().unwrap()),
            user("ada@example.com", "x-ada", "Ada L"),
        ),
        (
            format!("{GROUPS}/{}", group["id"].as_str().unwrap()),
            json!({"displayName": "Ops 2"}),
        ),
    ] {
        let with = |method: Method, headers: &'static [(&'static str, &'static str)]| {
            let (scim, path, body) = (&scim, &path, &body);
            async move {
                let body = (method == Method::PUT).then(|| body.clone());
                scim.request_with(method, path, body, headers).await
            }
        };
        let unchanged = with(Method::GET, &[("if-none-match", "W/\"1\"")]).await;
        assert_eq!(unchanged.status, 304, "{path}: {}", unchanged.body);
        assert_eq!(unchanged.headers["etag"], "W/\"1\"");
        assert_eq!(unchanged.body, "");
        assert_eq!(
            with(Method::GET, &[("if-none-match", "W/\"0\", W/\"7\"")])
                .await
                .status,
            200
        );
        refused(
            &with(Method::GET, &[("if-match", "W/\"7\"")]).await,
            412,
            None,
        );
        for headers in [
            &[("if-match", "W/\"7\"")][..],
            &[("if-none-match", "*")],
            &[("if-none-match", "W/\"1\"")],
        ] {
            refused(&with(Method::PUT, headers).await, 412, None);
            refused(&with(Method::DELETE, headers).await, 412, None);
        }
        refused(
            &with(Method::PUT, &[("if-match", "seven")]).await,
            400,
            Some("invalidValue"),
        );
        let still = with(Method::GET, &[]).await;
        assert_eq!(
            still.body["meta"]["version"], "W/\"1\"",
            "{path}: nothing changed"
        );
        let changed = with(Method::PUT, &[("if-match", "W/\"7\", W/\"1\"")]).await;
        assert_eq!(changed.status, 200, "{path}: {}", changed.body);
        assert_eq!(changed.body["meta"]["version"], "W/\"2\"");
        assert_eq!(
            with(Method::DELETE, &[("if-match", "W/\"2\"")])
                .await
                .status,
            204
        );
        refused(&with(Method::GET, &[]).await, 404, None);
    }
    s.stop().await;
}

#[tokio::test]
async fn a_token_reaches_its_own_organization_only_and_stops_when_revoked() {
    let s = TestServer::start().await;
    let ours = token(&s).await;
    let other_key = s.second_organization().await;
    let other_org = s
        .with_key(&other_key)
        .get("/v1/organization/users")
        .await
        .ok()["data"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let theirs_org = s.store.list_organizations().await.unwrap();
    let theirs_id = theirs_org
        .iter()
        .find(|o| o.id != s.org_id)
        .unwrap()
        .id
        .clone();
    let theirs = s
        .store
        .create_scim_token(&s.store.cli_author(&theirs_id).await.unwrap(), None)
        .await
        .unwrap();
    let created = create(
        &s.with_key(&theirs.1),
        user("gina@example.com", "g", "Gina"),
    )
    .await;
    let gina = created["id"].as_str().unwrap();

    let scim = s.with_key(&ours);
    refused(
        &call(&scim, Method::GET, &format!("{USERS}/{gina}"), None).await,
        404,
        None,
    );
    refused(
        &call(&scim, Method::GET, &format!("{USERS}/{other_org}"), None).await,
        404,
        None,
    );
    refused(
        &call(&scim, Method::DELETE, &format!("{USERS}/{gina}"), None).await,
        404,
        None,
    );
    let listed = call(&scim, Method::GET, USERS, None).await;
    assert_eq!(
        ids(&listed.body),
        BTreeSet::from(["owner@example.com".to_owned()])
    );

    s.store
        .revoke_scim_token(
            &s.store.cli_author(&theirs.0.org_id).await.unwrap(),
            &theirs.0.id,
        )
        .await
        .unwrap();
    refused(
        &call(&s.with_key(&theirs.1), Method::GET, USERS, None).await,
        401,
        None,
    );
    s.stop().await;
}

#[tokio::test]
async fn pages_of_250_users_have_no_gap_or_duplicate() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    for i in 0..250 {
        create(
            &scim,
            user(&format!("u{i:03}@example.com"), &format!("x{i}"), "U"),
        )
        .await;
    }
    let mut seen = Vec::new();
    let mut start = 1;
    loop {
        let page = call(
            &scim,
            Method::GET,
            &format!("{USERS}?startIndex={start}&count=40"),
            None,
        )
        .await;
        assert_eq!(page.body["totalResults"], 251);
        assert_eq!(page.body["startIndex"], start);
        let names = user_names(&page.body);
        if names.is_empty() {
            break;
        }
        assert_eq!(page.body["itemsPerPage"], names.len());
        start += names.len() as i64;
        seen.extend(names);
    }
    assert_eq!(seen.len(), 251);
    assert_eq!(
        seen.iter().collect::<BTreeSet<_>>().len(),
        251,
        "no duplicate"
    );
    // A page asked out of turn is the same page.
    let again = call(
        &scim,
        Method::GET,
        &format!("{USERS}?startIndex=121&count=40"),
        None,
    )
    .await;
    assert_eq!(user_names(&again.body), seen[120..160]);
    // Past the end, an empty page; a count over the most is the most.
    let past = call(&scim, Method::GET, &format!("{USERS}?startIndex=300"), None).await;
    assert_eq!(past.body["Resources"], json!([]));
    let capped = call(&scim, Method::GET, &format!("{USERS}?count=1000"), None).await;
    assert_eq!(capped.body["itemsPerPage"], 200);
    s.stop().await;
}

/// `totalResults` is exact whichever way it is counted: the organization's kept count with no
/// filter (following creates and deletes through SCIM and the Admin API), that count less the
/// rest when few rows do not match, the matches when few do, and every match when neither side
/// is small (over 1,000 rows each, the most a count reads of one side before trying the other).
#[tokio::test]
async fn totals_are_exact_however_many_match() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    const MADE: usize = 2_050;
    let bodies: Vec<Value> = (0..MADE)
        .map(|i| {
            let mut body = user(&format!("u{i:04}@example.com"), &format!("x{i}"), "U");
            if i >= 2_040 {
                body.as_object_mut().unwrap().remove("externalId");
            }
            if i % 1_000 == 7 {
                body["active"] = json!(false);
            }
            body
        })
        .collect();
    create_many(&scim, &bodies).await;
    let total = |filter: Option<&'static str>| {
        let scim = &scim;
        async move {
            let path = match filter {
                Some(filter) => format!("{}&count=1", filtered(USERS, filter)),
                None => format!("{USERS}?count=1"),
            };
            let list = call(scim, Method::GET, &path, None).await;
            assert_eq!(list.status, 200, "{filter:?}: {}", list.body);
            list.body["totalResults"].as_i64().unwrap()
        }
    };
    let everyone = MADE as i64 + 1; // and the owner
    for (filter, expected) in [
        (None, everyone),
        // Few do not match.
        (Some(r#"userName ne "u0005@example.com""#), everyone - 1),
        (Some("externalId pr"), 2_040),
        (Some("active eq true"), everyone - 3),
        (Some(r#"userName sw "u0""#), 1_000),
        (
            Some(r#"not (userName eq "u0005@example.com")"#),
            everyone - 1,
        ),
        // Few match.
        (Some("not (externalId pr)"), 11),
        (Some("active eq false"), 3),
        (Some(r#"userName co "u01""#), 100),
        // Over 1,000 on each side (the owner's address comes before u...).
        (Some(r#"userName lt "u1025""#), 1_026),
        (Some(r#"userName ge "u1025""#), everyone - 1_026),
        (Some(r#"not (userName lt "u1025")"#), everyone - 1_026),
    ] {
        assert_eq!(total(filter).await, expected, "{filter:?}");
    }

    // Pages are the same whichever way they are read: few matches found by their index and
    // sorted, or many walked in order; in turn, or out of turn.
    let page = |filter: &'static str, start: i64, count: i64| {
        let scim = &scim;
        async move {
            let path = format!(
                "{}&startIndex={start}&count={count}",
                filtered(USERS, filter)
            );
            let list = call(scim, Method::GET, &path, None).await;
            assert_eq!(list.status, 200, "{filter}: {}", list.body);
            user_names(&list.body)
        }
    };
    // Users were made 16 at a time: the oracle is the unfiltered walk's order, which is ids'.
    let mut in_order = Vec::new();
    while in_order.len() < everyone as usize {
        let start = in_order.len() as i64 + 1;
        let more = page(r#"userName pr"#, start, 200).await;
        assert!(!more.is_empty(), "a page past {start}");
        in_order.extend(more);
    }
    let number = |name: &String| name[1..5].parse::<usize>().unwrap_or(usize::MAX);
    let expected = |keep: &dyn Fn(&String) -> bool, start: usize, count: usize| {
        in_order
            .iter()
            .filter(|name| keep(name))
            .skip(start - 1)
            .take(count)
            .cloned()
            .collect::<Vec<_>>()
    };
    let few = |name: &String| name.contains("u01");
    let mut walked = Vec::new();
    for start in [1, 31, 61, 91] {
        walked.extend(page(r#"userName co "u01""#, start, 30).await);
    }
    assert_eq!(walked, expected(&few, 1, 100), "a few, in turn");
    assert_eq!(
        page(r#"userName co "u01""#, 45, 10).await,
        expected(&few, 45, 10),
        "a few, out of turn"
    );
    assert_eq!(
        page(r#"userName ge "u2000""#, 41, 100).await,
        expected(&|name| name.as_str() >= "u2000", 41, 100),
        "a few by a range, out of turn"
    );
    let active = |name: &String| number(name) % 1_000 != 7;
    assert_eq!(
        page("active eq true", 1, 5).await,
        expected(&active, 1, 5),
        "many, first"
    );
    assert_eq!(
        page("active eq true", 1_501, 3).await,
        expected(&active, 1_501, 3),
        "many, out of turn"
    );
    let most = |name: &String| name != "u1500@example.com";
    assert_eq!(
        page(r#"userName ne "u1500@example.com""#, 1_501, 3).await,
        expected(&most, 1_501, 3),
        "most, out of turn"
    );

    // The kept count follows deletes through SCIM and the Admin API, and the users an invite
    // brings.
    let first = call(
        &scim,
        Method::GET,
        &filtered(USERS, r#"userName eq "u0000@example.com""#),
        None,
    )
    .await;
    let first_id = first.body["Resources"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let deleted = call(&scim, Method::DELETE, &format!("{USERS}/{first_id}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(total(None).await, everyone - 1);
    assert_eq!(total(Some("externalId pr")).await, 2_039);
    let invited = s.add_user("late@example.com", "reader", "Late").await;
    assert_eq!(total(None).await, everyone);
    let removed = s
        .admin()
        .delete(&format!("/v1/organization/users/{invited}"))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(total(None).await, everyone - 1);
    assert_eq!(total(Some(r#"userName ne "nobody""#)).await, everyone - 1);

    // Groups are counted as they come and go too.
    let mut made = Vec::new();
    for name in ["Ops", "Dev", "Sales"] {
        let group = call(
            &scim,
            Method::POST,
            GROUPS,
            Some(json!({"displayName": name})),
        )
        .await;
        assert_eq!(group.status, 201, "{}", group.body);
        made.push(group.body["id"].as_str().unwrap().to_owned());
    }
    let deleted = call(
        &scim,
        Method::DELETE,
        &format!("{GROUPS}/{}", made[0]),
        None,
    )
    .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let groups = call(&scim, Method::GET, &format!("{GROUPS}?count=1"), None).await;
    assert_eq!(groups.body["totalResults"], 2, "{}", groups.body);
    let others = call(
        &scim,
        Method::GET,
        &format!("{}&count=1", filtered(GROUPS, r#"displayName ne "Dev""#)),
        None,
    )
    .await;
    assert_eq!(others.body["totalResults"], 1, "{}", others.body);
    s.stop().await;
}

const GROUPS: &str = "/scim/v2/Groups";

/// A group's members set in one request by the hundred, some named twice: each is a member once,
/// and a PUT, a PATCH that adds and one that removes leave exactly who they name.
#[tokio::test]
async fn a_group_of_hundreds_is_set_in_one_request() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let bodies: Vec<Value> = (0..300)
        .map(|i| user(&format!("m{i:03}@example.com"), &format!("m{i}"), "M"))
        .collect();
    let mut people: Vec<String> = create_many(&scim, &bodies)
        .await
        .iter()
        .map(|made| made["id"].as_str().unwrap().to_owned())
        .collect();
    people.sort();
    let refs =
        |ids: &[String]| -> Vec<Value> { ids.iter().map(|id| json!({"value": id})).collect() };
    let twice: Vec<Value> = refs(&people).into_iter().chain(refs(&people)).collect();
    let created = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Everyone",
            "members": twice,
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let group = format!("{GROUPS}/{}", created.body["id"].as_str().unwrap());
    let members = || {
        let (scim, group) = (&scim, &group);
        async move {
            let found = call(scim, Method::GET, group, None).await;
            let mut ids: Vec<String> = found.body["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["value"].as_str().unwrap().to_owned())
                .collect();
            ids.sort();
            ids
        }
    };
    assert_eq!(members().await, people);

    let (first, second) = people.split_at(150);
    let put = call(
        &scim,
        Method::PUT,
        &group,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Everyone",
            "members": refs(second),
        })),
    )
    .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(members().await, second);

    let patch = |operations: Value| {
        let (scim, group) = (&scim, &group);
        async move {
            let body = json!({
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": operations,
            });
            let patched = call(scim, Method::PATCH, group, Some(body)).await;
            assert!([200, 204].contains(&patched.status), "{}", patched.body);
        }
    };
    patch(json!([{"op": "add", "path": "members", "value": twice}])).await;
    assert_eq!(members().await, people);
    patch(json!([{"op": "remove", "path": "members", "value": refs(first)}])).await;
    assert_eq!(members().await, second);
    s.stop().await;
}

#[tokio::test]
async fn groups_keep_their_members_through_every_patch_form() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut people = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let created = create(&scim, user(&format!("{name}@example.com"), name, name)).await;
        people.push(created["id"].as_str().unwrap().to_owned());
    }
    let [ann, ben, cat] = <[String; 3]>::try_from(people).unwrap();
    let created = call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Engineering",
            "externalId": "g-eng",
            "members": [{"value": ann}],
        })),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body,
        call(&scim, Method::GET, &format!("{GROUPS}/{id}"), None)
            .await
            .body
    );
    let members = |body: &Value| -> Vec<String> {
        body["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["value"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(members(&created.body), [ann.as_str()]);
    let found = call(
        &scim,
        Method::GET,
        "/scim/v2/Groups?filter=displayName%20eq%20%22engineering%22",
        None,
    )
    .await;
    assert_eq!(found.body["Resources"][0]["id"], id.as_str());

    let patch = |operations: Value| {
        let (scim, path) = (&scim, format!("{GROUPS}/{id}"));
        async move {
            let patched = call(
                scim,
                Method::PATCH,
                &path,
                Some(json!({"Operations": operations})),
            )
            .await;
            // 204, as Microsoft asks of a group PATCH, with the version the change left.
            assert_eq!(patched.status, 204, "{}", patched.body);
            assert_eq!(patched.body, "", "no body");
            let read = call(scim, Method::GET, &path, None).await;
            assert_eq!(
                patched.headers["etag"],
                read.body["meta"]["version"].as_str().unwrap()
            );
            // Asked for attributes, it answers the group as it left it, version and all.
            let asked = call(
                scim,
                Method::PATCH,
                &format!("{path}?excludedAttributes=externalId"),
                Some(json!({"Operations": [{"op": "add", "path": "members", "value": []}]})),
            )
            .await;
            assert_eq!(asked.status, 200, "{}", asked.body);
            let mut read = call(scim, Method::GET, &path, None).await.body;
            read.as_object_mut().unwrap().remove("externalId");
            assert_eq!(asked.body, read);
            read
        }
    };
    // Okta adds with a path; Entra removes by value; a value filter removes one.
    let body =
        patch(json!([{"op": "add", "path": "members", "value": [{"value": ben}, {"value": cat}]}]))
            .await;
    assert_eq!(members(&body), [ann.clone(), ben.clone(), cat.clone()]);
    let body = patch(json!([{"op": "Remove", "path": "members", "value": [{"value": ann}]}])).await;
    assert_eq!(members(&body), [ben.clone(), cat.clone()]);
    let body =
        patch(json!([{"op": "remove", "path": format!("members[value eq \"{ben}\"]")}])).await;
    assert_eq!(members(&body), [cat.as_str()]);
    let body = patch(json!([
        {"op": "replace", "path": "displayName", "value": "Platform"},
        {"op": "replace", "path": "members", "value": [{"value": ann}]},
    ]))
    .await;
    assert_eq!(
        (body["displayName"].as_str(), members(&body)),
        (Some("Platform"), vec![ann.clone()])
    );
    let body = patch(json!([{"op": "remove", "path": "members"}])).await;
    assert!(members(&body).is_empty());
    let unknown = call(
        &scim,
        Method::PATCH,
        &format!("{GROUPS}/{id}"),
        Some(json!({"Operations": [{"op": "add", "path": "members", "value": [{"value": ann}, {"value": "user-nope"}]}]})),
    )
    .await;
    refused(&unknown, 400, Some("invalidValue"));
    let unchanged = call(&scim, Method::GET, &format!("{GROUPS}/{id}"), None).await;
    assert_eq!(
        (members(&unchanged.body), &unchanged.body["meta"]["version"]),
        (vec![], &body["meta"]["version"]),
        "a refused change changes nothing"
    );
    // Adds and removes by id change those named alone, the last operation naming one
    // deciding, beside a rename as Okta sends it; the audit log names who changed.
    let body = patch(json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": ann}, {"value": ben}]},
        {"op": "Remove", "path": "members", "value": [{"value": ben}, {"value": cat}]},
        {"op": "add", "path": "members", "value": [{"value": ann}]},
        {"op": "replace", "value": {"id": id, "displayName": "Platform"}},
    ]))
    .await;
    assert_eq!(
        (body["displayName"].as_str(), members(&body)),
        (Some("Platform"), vec![ann.clone()])
    );
    let body = patch(json!([
        {"op": "add", "path": "members", "value": [{"value": ann}, {"value": cat}]},
        {"op": "remove", "path": format!("members[value eq \"{ben}\"]")},
    ]))
    .await;
    assert_eq!(members(&body), [ann.clone(), cat.clone()]);
    let changes = s
        .admin()
        .get(&format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&event_types[]=group.updated&limit=100"
        ))
        .await;
    let member_changes: Vec<&Value> = changes.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["group.updated"]["changes_requested"])
        .filter(|change| change.get("users_added").is_some())
        .take(2)
        .collect();
    assert_eq!(
        member_changes,
        [
            &json!({"users_added": [cat], "users_removed": []}),
            &json!({"users_added": [ann], "users_removed": []}),
        ],
        "newest first: {}",
        changes.body
    );
    // A change of members alone records them alone, not the unchanged name beside them; a
    // rename records the name; every change records something.
    let events = async || -> Vec<Value> {
        let path = format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&event_types[]=group.updated&limit=100"
        );
        s.admin().get(&path).await.ok()["data"]
            .as_array()
            .unwrap()
            .clone()
    };
    let recorded_by = async |operations: Value| -> Vec<Value> {
        let before = events().await.len();
        let path = format!("{GROUPS}/{id}");
        let body = json!({"Operations": operations});
        let patched = call(&scim, Method::PATCH, &path, Some(body)).await;
        assert_eq!(patched.status, 204, "{}", patched.body);
        let after = events().await;
        after[..after.len() - before]
            .iter()
            .map(|e| e["group.updated"]["changes_requested"].clone())
            .collect()
    };
    assert_eq!(
        recorded_by(json!([{"op": "remove", "path": "members", "value": [{"value": cat}]}])).await,
        [json!({"users_added": [], "users_removed": [cat]})]
    );
    assert_eq!(
        recorded_by(json!([
            {"op": "replace", "path": "displayName", "value": "Platform team"},
            {"op": "add", "path": "members", "value": [{"value": cat}]},
        ]))
        .await,
        [
            json!({"group_name": "Platform team"}),
            json!({"users_added": [cat], "users_removed": []}),
        ]
    );
    assert_eq!(
        recorded_by(json!([{"op": "replace", "path": "displayName", "value": "Platform"}])).await,
        [json!({"group_name": "Platform"})]
    );
    assert_eq!(
        recorded_by(json!([{"op": "add", "path": "members", "value": [{"value": cat}]}])).await,
        [json!({"group_name": "Platform"})],
        "a change that changes nothing still has its event"
    );

    // The Admin API shows it as SCIM-managed and leaves it alone.
    let admin = s.admin();
    let group = admin.get(&format!("/v1/organization/groups/{id}")).await;
    assert_eq!(group.ok()["is_scim_managed"], true);
    assert_eq!(group.ok()["name"], "Platform");
    admin
        .post(
            &format!("/v1/organization/groups/{id}"),
            json!({"name": "Mine"}),
        )
        .await
        .error_mentioning(400, None, "managed by SCIM");
    admin
        .post(
            &format!("/v1/organization/groups/{id}/users"),
            json!({"user_id": ann}),
        )
        .await
        .error_mentioning(400, None, "managed by SCIM");

    let deleted = call(&scim, Method::DELETE, &format!("{GROUPS}/{id}"), None).await;
    assert_eq!(deleted.status, 204);
    refused(
        &call(&scim, Method::GET, &format!("{GROUPS}/{id}"), None).await,
        404,
        None,
    );
    let log = admin
        .get(&format!(
            "/v1/organization/audit_logs?resource_ids[]={id}&limit=100"
        ))
        .await;
    let types: Vec<String> = log.ok()["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(types.first().map(String::as_str), Some("group.deleted"));
    assert_eq!(types.last().map(String::as_str), Some("group.created"));
    s.stop().await;
}

#[tokio::test]
async fn searches_and_attribute_selection() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    create(&scim, user("hal@example.com", "x-hal", "Hal")).await;
    let found = call(
        &scim,
        Method::POST,
        "/scim/v2/Users/.search",
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": "userName sw \"hal\"",
            "attributes": ["userName", "name.givenName"],
        })),
    )
    .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hal = &found.body["Resources"][0];
    assert_eq!(found.body["totalResults"], 1);
    assert_eq!(hal["userName"], "hal@example.com");
    assert_eq!(hal["name"], json!({"givenName": "Hal"}));
    assert!(
        hal.get("emails").is_none() && hal["id"].is_string(),
        "{hal}"
    );
    let id = hal["id"].as_str().unwrap();

    let without = call(
        &scim,
        Method::GET,
        &format!("{USERS}/{id}?excludedAttributes=emails,name.familyName"),
        None,
    )
    .await;
    assert!(without.body.get("emails").is_none(), "{}", without.body);
    assert_eq!(without.body["name"], json!({"givenName": "Hal"}));

    // Every resource type at once: the two users, then the group.
    call(
        &scim,
        Method::POST,
        GROUPS,
        Some(json!({"displayName": "Ops", "members": [{"value": id}]})),
    )
    .await;
    let everything = call(
        &scim,
        Method::POST,
        "/scim/v2/.search",
        Some(json!({"startIndex": 2, "count": 5})),
    )
    .await;
    assert_eq!(everything.body["totalResults"], 3, "{}", everything.body);
    let kinds: Vec<&str> = everything.body["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["meta"]["resourceType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["User", "Group"]);
    let groups_only = call(
        &scim,
        Method::POST,
        "/scim/v2/.search",
        Some(json!({"filter": "displayName eq \"ops\""})),
    )
    .await;
    assert_eq!(groups_only.body["totalResults"], 1, "{}", groups_only.body);

    // A change answers with the attributes asked for too (RFC 7644 §3.9).
    let created = call(
        &scim,
        Method::POST,
        &format!("{USERS}?attributes=userName"),
        Some(user("ivy@example.com", "x-ivy", "Ivy")),
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let ivy = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": ivy,
            "userName": "ivy@example.com"})
    );
    let patched = call(
        &scim,
        Method::PATCH,
        &format!("{USERS}/{ivy}?excludedAttributes=emails,meta"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "displayName", "value": "Ivy B"}],
        })),
    )
    .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["displayName"], "Ivy B", "{}", patched.body);
    assert!(
        patched.body.get("emails").is_none() && patched.body.get("meta").is_none(),
        "{}",
        patched.body
    );
    let group = groups_only.body["Resources"][0]["id"].as_str().unwrap();
    let added = call(
        &scim,
        Method::PATCH,
        &format!("{GROUPS}/{group}?excludedAttributes=members"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Add", "path": "members", "value": [{"$ref": null, "value": ivy}]}],
        })),
    )
    .await;
    assert_eq!(added.status, 200, "{}", added.body);
    assert_eq!(added.body["displayName"], "Ops", "{}", added.body);
    assert!(added.body.get("members").is_none(), "{}", added.body);
    let replaced = call(
        &scim,
        Method::PUT,
        &format!("{GROUPS}/{group}?attributes=members.value"),
        Some(json!({"displayName": "Ops", "members": [{"value": ivy}]})),
    )
    .await;
    assert_eq!(
        replaced.body,
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": group,
            "members": [{"value": ivy}]})
    );
    // A query that cannot be read changes nothing.
    let unread = call(
        &scim,
        Method::POST,
        &format!("{USERS}?count=many"),
        Some(user("jo@example.com", "x-jo", "Jo")),
    )
    .await;
    refused(&unread, 400, Some("invalidValue"));
    let jo = call(
        &scim,
        Method::GET,
        &filtered(USERS, r#"userName eq "jo@example.com""#),
        None,
    )
    .await;
    assert_eq!(jo.body["totalResults"], 0, "{}", jo.body);
    // A second filter is not left unheard; a second list of names adds to the first.
    let twice = call(
        &scim,
        Method::GET,
        &format!(
            "{}&filter=userName%20pr",
            filtered(USERS, r#"userName eq "ivy@example.com""#)
        ),
        None,
    )
    .await;
    refused(&twice, 400, Some("invalidValue"));
    assert!(
        twice.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("'filter' is given more than once")),
        "{}",
        twice.body
    );
    let names = call(
        &scim,
        Method::GET,
        &format!(
            "{}&attributes=userName&attributes=externalId",
            filtered(USERS, r#"userName eq "ivy@example.com""#)
        ),
        None,
    )
    .await;
    let ivy_named = &names.body["Resources"][0];
    assert!(
        ivy_named["userName"] == "ivy@example.com" && ivy_named["externalId"].is_string(),
        "{}",
        names.body
    );
    assert!(ivy_named.get("emails").is_none(), "{}", names.body);
    s.stop().await;
}

/// A group the Admin API made is shown through SCIM too; a change of its members there moves its
/// version (the ETag), so an identity provider's If-Match sees it.
#[tokio::test]
async fn admin_api_member_changes_move_a_groups_etag() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let admin = s.admin();
    let group = admin
        .post(
            "/v1/organization/groups",
            json!({"name": "Made in the API"}),
        )
        .await
        .id();
    let path = format!("{GROUPS}/{group}");
    let before = call(&scim, Method::GET, &path, None).await.body;
    assert_eq!(before["meta"]["version"], "W/\"1\"", "{before}");
    let ada = s.add_user("ada@example.com", "reader", "Ada").await;
    admin
        .post(
            &format!("/v1/organization/groups/{group}/users"),
            json!({"user_id": ada}),
        )
        .await
        .ok();
    let after = call(&scim, Method::GET, &path, None).await.body;
    assert_eq!(after["meta"]["version"], "W/\"2\"", "{after}");
    assert_eq!(after["members"][0]["value"], ada.as_str());
    admin
        .delete(&format!("/v1/organization/groups/{group}/users/{ada}"))
        .await
        .ok();
    let removed = call(&scim, Method::GET, &path, None).await.body;
    assert_eq!(removed["meta"]["version"], "W/\"3\"", "{removed}");
    assert_eq!(removed["members"], json!([]));
    s.stop().await;
}

/// Entra ID asks whether a group has a member before it adds or removes her
/// (`id eq "..." and members eq "..."`, answered with the id alone): a group is found by any of
/// its members, through each form of the path, as its members change.
#[tokio::test]
async fn groups_are_found_by_their_members() {
    let s = TestServer::start().await;
    let token = token(&s).await;
    let scim = s.with_key(&token);
    let mut people = Vec::new();
    for name in ["ann", "ben"] {
        let created = create(&scim, user(&format!("{name}@example.com"), name, name)).await;
        people.push(created["id"].as_str().unwrap().to_owned());
    }
    let [ann, ben] = <[String; 2]>::try_from(people).unwrap();
    let mut groups = Vec::new();
    for (name, members) in [
        ("Eng", vec![&ann]),
        ("Ops", vec![&ann, &ben]),
        ("Empty", vec![]),
    ] {
        let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
        // Entra ID creates a group as Microsoft documents it: no members, its own schema too.
        let body = match members.is_empty() {
            true => json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group",
                    "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
                "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
                "displayName": name,
                "meta": {"resourceType": "Group"},
            }),
            false => json!({"displayName": name, "members": members}),
        };
        let created = call(&scim, Method::POST, GROUPS, Some(body)).await;
        assert_eq!(created.status, 201, "{}", created.body);
        groups.push(created.body["id"].as_str().unwrap().to_owned());
    }
    let eng = &groups[0];
    let names = |list: &Value| -> Vec<String> {
        list["Resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["displayName"].as_str().unwrap().to_owned())
            .collect()
    };
    let listed = |filter: String| {
        let scim = &scim;
        async move {
            let found = call(scim, Method::GET, &filtered(GROUPS, &filter), None).await;
            assert_eq!(found.status, 200, "{filter}: {}", found.body);
            assert_eq!(
                found.body["totalResults"],
                names(&found.body).len(),
                "{filter}: {}",
                found.body
            );
            names(&found.body)
        }
    };

    // Entra ID's request, as it sends it.
    let asked = call(
        &scim,
        Method::GET,
        &format!(
            "{}&attributes=id",
            filtered(GROUPS, &format!(r#"id eq "{eng}" and members eq "{ann}""#))
        ),
        None,
    )
    .await;
    assert_eq!(asked.status, 200, "{}", asked.body);
    assert_eq!(asked.body["totalResults"], 1, "{}", asked.body);
    assert_eq!(
        asked.body["Resources"],
        json!([{"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "id": eng}])
    );
    assert!(
        listed(format!(r#"id eq "{eng}" and members eq "{ben}""#))
            .await
            .is_empty()
    );

    for (filter, expected) in [
        (format!(r#"members eq "{ann}""#), vec!["Eng", "Ops"]),
        (format!(r#"members.value eq "{ben}""#), vec!["Ops"]),
        (format!(r#"members[value eq "{ben}"]"#), vec!["Ops"]),
        (format!(r#"not (members eq "{ann}")"#), vec!["Empty"]),
        (format!(r#"members ne "{ann}""#), vec!["Ops"]),
        ("members pr".to_owned(), vec!["Eng", "Ops"]),
        ("not (members pr)".to_owned(), vec!["Empty"]),
        (
            format!(r#"members eq "{ben}" or displayName eq "empty""#),
            vec!["Ops", "Empty"],
        ),
    ] {
        let mut found = listed(filter.clone()).await;
        found.sort();
        let mut expected = expected;
        expected.sort();
        assert_eq!(found, expected, "{filter}");
    }

    // Entra ID removes her from Eng; Roster removes ben altogether.
    let removed = call(
        &scim,
        Method::PATCH,
        &format!("{GROUPS}/{eng}"),
        Some(json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Remove", "path": "members", "value": [{"value": ann}]}],
        })),
    )
    .await;
    assert!(
        removed.status == 200 || removed.status == 204,
        "{}",
        removed.body
    );
    assert_eq!(listed(format!(r#"members eq "{ann}""#)).await, ["Ops"]);
    let deleted = call(&scim, Method::DELETE, &format!("{USERS}/{ben}"), None).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert!(listed(format!(r#"members eq "{ben}""#)).await.is_empty());

    // A part or a range of ids is no member's id.
    for filter in [r#"members co "user""#, r#"members gt "user""#] {
        let refused_filter = call(&scim, Method::GET, &filtered(GROUPS, filter), None).await;
        refused(&refused_filter, 400, Some("invalidFilter"));
    }

    // Entra ID reads groups without their members; asked for, they are there.
    let ops = &groups[1];
    let without = call(
        &scim,
        Method::GET,
        &format!("{GROUPS}/{ops}?excludedAttributes=members"),
        None,
    )
    .await;
    assert_eq!(without.status, 200, "{}", without.body);
    assert_eq!(without.body["displayName"], "Ops", "{}", without.body);
    assert!(without.body.get("members").is_none(), "{}", without.body);
    let listed_without = call(
        &scim,
        Method::GET,
        &format!(
            "{}&excludedAttributes=members",
            filtered(GROUPS, r#"displayName eq "Ops""#)
        ),
        None,
    )
    .await;
    let found = &listed_without.body["Resources"][0];
    assert_eq!(found["displayName"], "Ops", "{}", listed_without.body);
    assert!(found.get("members").is_none(), "{found}");
    for path in [
        format!("{GROUPS}/{ops}?attributes=members.value"),
        format!("{GROUPS}/{ops}?excludedAttributes=members.display"),
    ] {
        let with = call(&scim, Method::GET, &path, None).await;
        assert_eq!(
            with.body["members"][0]["value"],
            ann.as_str(),
            "{path}: {}",
            with.body
        );
        assert_eq!(with.body["members"].as_array().map(Vec::len), Some(1));
    }
    s.stop().await;
}
