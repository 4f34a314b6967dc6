//! SCIM 2.0 as identity providers drive it, on both backends: discovery and the tokens' reach
//! here, the helpers every file shares, and beside them Okta's and Entra ID's request sequences
//! (`identity_providers`), every filter operator (`filters`, and random filters against their
//! meaning in `filters_by_meaning`), pages and totals (`lists`), a user's suspension, bounds and
//! versions (`users`) and groups through every PATCH form (`groups`).

use std::collections::BTreeSet;

use reqwest::Method;
use serde_json::{Value, json};

use crate::common::{Caller, Resp, TestServer};

mod filters;
mod filters_by_meaning;
mod groups;
mod identity_providers;
mod lists;
mod users;

const USERS: &str = "/scim/v2/Users";
const GROUPS: &str = "/scim/v2/Groups";
const ROLE_EXTENSION: &str = "urn:roster:params:scim:schemas:extension:roster:2.0:User";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

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
    assert_eq!(schemas.body["totalResults"], 4, "{}", schemas.body);
    // Every schema a resource type names is described, each at its own address.
    let attributes = async |id: &str| -> Vec<String> {
        let schema = call(&scim, Method::GET, &format!("/scim/v2/Schemas/{id}"), None).await;
        assert_eq!(schema.status, 200, "{id}: {}", schema.body);
        schema.body["attributes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["name"].as_str().unwrap().to_owned())
            .collect()
    };
    for resource_type in types.body["Resources"].as_array().unwrap() {
        let extensions = resource_type["schemaExtensions"].as_array();
        for id in std::iter::once(&resource_type["schema"])
            .chain(extensions.into_iter().flatten().map(|e| &e["schema"]))
        {
            assert!(!attributes(id.as_str().unwrap()).await.is_empty(), "{id}");
        }
    }
    // A User's attributes as RFC 7643 names them, for an identity provider to map, but not those
    // Roster never keeps; the enterprise extension's too.
    let user_attributes = attributes("urn:ietf:params:scim:schemas:core:2.0:User").await;
    assert_eq!(user_attributes[0], "userName");
    for name in [
        "name",
        "emails",
        "active",
        "title",
        "phoneNumbers",
        "addresses",
    ] {
        assert!(user_attributes.contains(&name.to_owned()), "{name}");
    }
    for name in ["password", "groups"] {
        assert!(!user_attributes.contains(&name.to_owned()), "{name}");
    }
    assert_eq!(
        attributes(ENTERPRISE).await,
        [
            "employeeNumber",
            "costCenter",
            "organization",
            "division",
            "department",
            "manager"
        ]
    );
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
