//! Every operation Roster serves, through the official Rust SDK (`async-openai` with its
//! `administration` feature), pointed at the server through a proxy that validates every
//! response body against the served contract. The SDK's typed deserialization fails on any
//! missing or mistyped field; the proxy names the path of any field the schema refuses.

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::traits::RequestOptionsBuilder;
use async_openai::types::admin::invites::ProjectMembership;
use async_openai::types::admin::project_service_accounts::ProjectServiceAccountRole;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::common::TestServer;
use crate::common::contract::ContractProxy;

/// A request body of the SDK's own type, from its JSON.
fn body<T: DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a request the SDK's type accepts")
}

/// The status and `param` of an SDK error.
fn refusal(error: OpenAIError) -> (u16, Option<String>) {
    match error {
        OpenAIError::ApiError(api) => (api.status_code.as_u16(), api.api_error.param),
        other => panic!("expected an API error, got {other:?}"),
    }
}

struct Suite {
    server: TestServer,
    proxy: ContractProxy,
    client: Client<OpenAIConfig>,
}

impl Suite {
    async fn start() -> Suite {
        let server = TestServer::start().await;
        let proxy = ContractProxy::start(&server.root).await;
        let config = OpenAIConfig::new()
            .with_api_base(format!("http://{}/v1", proxy.addr))
            .with_api_key(server.key.clone());
        Suite {
            client: Client::with_config(config),
            server,
            proxy,
        }
    }

    async fn finish(self) {
        assert_eq!(
            self.proxy.take_violations(),
            Vec::<String>::new(),
            "every body conforms to the contract"
        );
        self.server.stop().await;
    }
}

#[tokio::test]
async fn projects_admin_keys_invites_users_and_audit_logs() {
    let suite = Suite::start().await;
    let admin = suite.client.admin();

    let project = admin
        .projects()
        .create(body(json!({"name": "Rust"})))
        .await
        .unwrap();
    assert_eq!(
        admin
            .projects()
            .retrieve(project.id.clone())
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("Rust")
    );
    let renamed = admin
        .projects()
        .modify(project.id.clone(), body(json!({"name": "Rust 2"})))
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Rust 2"));
    // async-openai 0.43 types `has_more` of the project and project-user lists as a string,
    // against the contract's boolean: those two lists are read through the SDK's `_byot` calls.
    let listed: Value = admin
        .projects()
        .query(&[("limit", "100")])
        .unwrap()
        .list_byot()
        .await
        .unwrap();
    assert!(
        listed["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == project.id.as_str())
    );
    let (status, param) = refusal(
        admin
            .projects()
            .create(body(json!({"name": ""})))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, param.as_deref()), (400, Some("name")));

    let key = admin
        .api_keys()
        .create(body(json!({"name": "rust"})))
        .await
        .unwrap();
    assert_eq!(admin.api_keys().retrieve(&key.id).await.unwrap().id, key.id);
    assert!(
        admin
            .api_keys()
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|k| k.id == key.id)
    );
    assert!(admin.api_keys().delete(&key.id).await.unwrap().deleted);

    let invite = admin
        .invites()
        .create(body(json!({"email": "ada@example.com", "role": "reader", "projects": [{"id": project.id, "role": "member"}]})))
        .await
        .unwrap();
    assert_eq!(
        admin.invites().retrieve(&invite.id).await.unwrap().email,
        "ada@example.com"
    );
    assert!(
        admin
            .invites()
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|i| i.id == invite.id)
    );
    let token = suite
        .server
        .invite_token("ada@example.com")
        .await
        .expect("an invitation");
    let accepted = suite
        .server
        .anonymous()
        .post(
            &format!("/v1/invites/{token}/accept"),
            json!({"name": "Ada"}),
        )
        .await;
    let ada = accepted.id();
    let stale = admin
        .invites()
        .create(body(json!({"email": "bob@example.com", "role": "owner"})))
        .await
        .unwrap();
    // Its email is out (an invite deleted before its email is sent takes the email with it).
    let spent = suite
        .server
        .invite_token("bob@example.com")
        .await
        .expect("the invite's email");
    assert!(admin.invites().delete(&stale.id).await.unwrap().deleted);
    suite
        .server
        .anonymous()
        .post(
            &format!("/v1/invites/{spent}/accept"),
            json!({"name": "Bob"}),
        )
        .await
        .error(404, Some("token"));

    assert_eq!(
        admin.users().retrieve(&ada).await.unwrap().name.as_deref(),
        Some("Ada")
    );
    assert!(
        admin
            .users()
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|u| u.id == ada)
    );
    assert_eq!(
        admin
            .users()
            .modify(&ada, body(json!({"role": "owner"})))
            .await
            .unwrap()
            .role
            .as_deref(),
        Some("owner")
    );

    let projects = admin.projects();
    let members = projects.users(&project.id);
    assert_eq!(members.retrieve(&ada).await.unwrap().id, ada);
    let promoted = members
        .modify(&ada, body(json!({"role": "owner"})))
        .await
        .unwrap();
    assert_eq!(promoted.role, ProjectMembership::Owner);
    assert_eq!(
        members.retrieve(&ada).await.unwrap().role,
        ProjectMembership::Owner
    );
    let bob = suite
        .server
        .add_user("bob@example.com", "reader", "Bob")
        .await;
    assert_eq!(
        members
            .create(body(json!({"user_id": bob, "role": "member"})))
            .await
            .unwrap()
            .id,
        bob
    );
    let listed: Value = members.list_byot().await.unwrap();
    assert_eq!(listed["data"].as_array().unwrap().len(), 2);
    assert!(members.delete(&bob).await.unwrap().deleted);
    assert!(admin.users().delete(&bob).await.unwrap().deleted);

    let log = admin
        .audit_logs()
        .query(&[
            ("event_types[]", "project.created"),
            ("project_ids[]", project.id.as_str()),
        ])
        .unwrap()
        .get()
        .await
        .unwrap();
    assert_eq!(log.data.len(), 1);
    assert!(admin.projects().archive(project.id.clone()).await.is_ok());
    suite.finish().await;
}

#[tokio::test]
async fn roles_assignments_and_groups() {
    let suite = Suite::start().await;
    let admin = suite.client.admin();
    let (projects, users, groups) = (admin.projects(), admin.users(), admin.groups());
    let project = projects
        .create(body(json!({"name": "Access"})))
        .await
        .unwrap();
    let ada = suite
        .server
        .add_user("ada@example.com", "reader", "Ada")
        .await;
    admin
        .projects()
        .users(&project.id)
        .create(body(json!({"user_id": ada, "role": "member"})))
        .await
        .unwrap();

    let roles = admin.roles();
    let role = roles
        .create(body(
            json!({"role_name": "Usage", "permissions": ["api.usage.read"]}),
        ))
        .await
        .unwrap();
    assert_eq!(roles.retrieve(&role.id).await.unwrap().name, "Usage");
    let updated = roles
        .update(
            &role.id,
            body(json!({"permissions": ["api.usage.read", "api.groups.read"]})),
        )
        .await
        .unwrap();
    assert_eq!(updated.permissions.len(), 2);
    assert!(
        roles
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|r| r.id == role.id)
    );

    let project_roles = projects.roles(&project.id);
    let caller = project_roles
        .create(body(
            json!({"role_name": "Caller", "permissions": ["api.model.request"]}),
        ))
        .await
        .unwrap();
    assert_eq!(
        project_roles.retrieve(&caller.id).await.unwrap().name,
        "Caller"
    );
    project_roles
        .update(&caller.id, body(json!({"role_name": "Callers"})))
        .await
        .unwrap();
    assert!(
        project_roles
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|r| r.name == "member")
    );

    let user_roles = users.roles(&ada);
    user_roles
        .assign(body(json!({"role_id": role.id})))
        .await
        .unwrap();
    assert_eq!(user_roles.retrieve(&role.id).await.unwrap().id, role.id);
    assert_eq!(user_roles.list().await.unwrap().data.len(), 2);
    user_roles.unassign(&role.id).await.unwrap();
    let (status, param) = refusal(
        user_roles
            .assign(body(json!({"role_id": caller.id})))
            .await
            .unwrap_err(),
    );
    assert_eq!((status, param.as_deref()), (400, Some("role_id")));

    let member_roles = projects.user_roles(&project.id, &ada);
    member_roles
        .assign(body(json!({"role_id": caller.id})))
        .await
        .unwrap();
    assert_eq!(
        member_roles.retrieve(&caller.id).await.unwrap().name,
        "Callers"
    );
    assert_eq!(member_roles.list().await.unwrap().data.len(), 2);
    member_roles.unassign(&caller.id).await.unwrap();

    let group = groups.create(body(json!({"name": "Eng"}))).await.unwrap();
    assert_eq!(groups.retrieve(&group.id).await.unwrap().name, "Eng");
    assert_eq!(
        groups
            .update(&group.id, body(json!({"name": "Engineering"})))
            .await
            .unwrap()
            .name,
        "Engineering"
    );
    assert!(
        groups
            .list()
            .await
            .unwrap()
            .data
            .iter()
            .any(|g| g.id == group.id)
    );
    let group_users = groups.users(&group.id);
    group_users
        .add(body(json!({"user_id": ada})))
        .await
        .unwrap();
    assert_eq!(group_users.retrieve(&ada).await.unwrap().id, ada);
    assert_eq!(group_users.list().await.unwrap().data.len(), 1);
    let group_roles = groups.roles(&group.id);
    group_roles
        .assign(body(json!({"role_id": role.id})))
        .await
        .unwrap();
    assert_eq!(group_roles.retrieve(&role.id).await.unwrap().id, role.id);
    assert_eq!(group_roles.list().await.unwrap().data.len(), 1);
    group_roles.unassign(&role.id).await.unwrap();

    let project_groups = projects.groups(&project.id);
    let access = project_groups
        .add(body(
            json!({"group_id": group.id, "role": "role-api-project-viewer"}),
        ))
        .await
        .unwrap();
    assert_eq!(access.group_id, group.id);
    assert_eq!(
        project_groups.retrieve(&group.id).await.unwrap().group_name,
        "Engineering"
    );
    assert_eq!(project_groups.list().await.unwrap().data.len(), 1);
    let project_group_roles = projects.group_roles(&project.id, &group.id);
    project_group_roles
        .assign(body(json!({"role_id": caller.id})))
        .await
        .unwrap();
    assert_eq!(
        project_group_roles.retrieve(&caller.id).await.unwrap().id,
        caller.id
    );
    assert_eq!(project_group_roles.list().await.unwrap().data.len(), 2);
    project_group_roles.unassign(&caller.id).await.unwrap();
    project_groups.remove(&group.id).await.unwrap();
    group_users.remove(&ada).await.unwrap();
    assert!(groups.delete(&group.id).await.unwrap().deleted);
    assert!(project_roles.delete(&caller.id).await.unwrap().deleted);
    assert!(roles.delete(&role.id).await.unwrap().deleted);
    suite.finish().await;
}

#[tokio::test]
async fn service_accounts_and_project_api_keys() {
    let suite = Suite::start().await;
    let admin = suite.client.admin();
    let projects = admin.projects();
    let project = projects
        .create(body(json!({"name": "Machines"})))
        .await
        .unwrap();
    let accounts = projects.service_accounts(&project.id);
    let bot = accounts.create(body(json!({"name": "bot"}))).await.unwrap();
    let first_key = bot.api_key.as_ref().expect("a first key");
    assert!(first_key.value.starts_with("sk-svcacct-"));
    assert_eq!(accounts.retrieve(&bot.id).await.unwrap().name, "bot");
    let promoted = accounts
        .update(&bot.id, body(json!({"role": "owner"})))
        .await
        .unwrap();
    assert!(matches!(promoted.role, ProjectServiceAccountRole::Owner));
    assert!(matches!(
        accounts.retrieve(&bot.id).await.unwrap().role,
        ProjectServiceAccountRole::Owner
    ));
    assert_eq!(accounts.list().await.unwrap().data.len(), 1);
    let extra = accounts
        .create_api_key(
            &bot.id,
            body(json!({"name": "extra", "scopes": ["api.model.read"]})),
        )
        .await
        .unwrap();
    assert!(extra.value.starts_with("sk-svcacct-"));

    let keys = projects.api_keys(&project.id);
    assert_eq!(keys.retrieve(&extra.id).await.unwrap().id, extra.id);
    assert_eq!(keys.list().await.unwrap().data.len(), 2);
    let (status, param) = refusal(keys.delete(&extra.id).await.unwrap_err());
    assert_eq!((status, param.as_deref()), (400, Some("api_key_id")));
    // A member's key (made through Roster's addition) is deleted on its own.
    let ada = suite
        .server
        .add_user("ada@example.com", "reader", "Ada")
        .await;
    suite.server.add_member(&project.id, &ada, "member").await;
    let laptop = suite
        .server
        .admin()
        .post(
            &format!(
                "/v1/organization/projects/{}/users/{ada}/api_keys",
                project.id
            ),
            json!({"name": "laptop"}),
        )
        .await
        .id();
    let deleted = keys.delete(&laptop).await.unwrap();
    assert_eq!(
        (deleted.id.as_str(), deleted.deleted),
        (laptop.as_str(), true)
    );
    assert!(refusal(keys.retrieve(&laptop).await.unwrap_err()).0 == 404);
    suite.server.clock.freeze();
    let updated = keys
        .update(
            &extra.id,
            body(json!({"scopes": ["api.responses.write"], "expires_in_seconds": 60})),
        )
        .await
        .unwrap();
    assert_eq!(updated.id, extra.id);
    // Neither the scopes nor the expiry is in the contract's key object; the gateway check
    // shows both.
    let checked = suite.server.gateway_check(&extra.value).await;
    let checked = checked.expect("the key verifies");
    assert_eq!(checked["permissions"], json!(["api.responses.write"]));
    assert_eq!(checked["expires_at"], suite.server.clock.now() + 60);
    suite.server.clock.advance(60);
    assert!(
        suite.server.gateway_check(&extra.value).await.is_none(),
        "the key expired at its new expiry"
    );
    assert!(accounts.delete(&bot.id).await.unwrap().deleted);
    assert_eq!(keys.list().await.unwrap().data.len(), 0);
    suite.finish().await;
}

#[test]
fn the_oracle_names_the_field_that_breaks_the_contract() {
    use crate::common::contract::violation;
    let project = json!({"id": "proj_1", "object": "organization.project", "name": "n", "created_at": "yesterday", "status": "active"});
    let found =
        violation("GET", "/v1/organization/projects/proj_1", 200, &project).expect("a violation");
    assert!(found.contains("/created_at"), "{found}");
    let envelope = json!({"error": {"message": "m", "type": "t", "param": null}});
    assert!(
        violation("GET", "/v1/organization/projects/proj_1", 404, &envelope).is_some(),
        "the envelope needs `code`"
    );
    assert!(
        violation("GET", "/v1/organization/projects/proj_1", 418, &envelope).is_some(),
        "undeclared status"
    );
    let list =
        json!({"object": "list", "data": [], "first_id": null, "last_id": null, "has_more": false});
    assert_eq!(
        violation("GET", "/v1/organization/projects", 200, &list),
        None
    );
}

#[tokio::test]
async fn project_model_and_tool_permissions_and_rate_limits() {
    use async_openai::types::admin::projects::ProjectModelPermissionsMode;

    let suite = Suite::start().await;
    let admin = suite.client.admin();
    let project = admin
        .projects()
        .create(body(json!({"name": "Policies"})))
        .await
        .unwrap();
    let projects = admin.projects();

    let models = projects.model_permissions(&project.id);
    let none = models.retrieve().await.unwrap();
    assert_eq!(
        (none.mode, none.model_ids),
        (ProjectModelPermissionsMode::DenyList, vec![])
    );
    let allowed = models
        .update(body(
            json!({"mode": "allow_list", "model_ids": ["gpt-4o", "o3"]}),
        ))
        .await
        .unwrap();
    assert_eq!(allowed.mode, ProjectModelPermissionsMode::AllowList);
    assert_eq!(models.retrieve().await.unwrap().model_ids, ["gpt-4o", "o3"]);
    assert!(models.delete().await.unwrap().deleted);
    assert!(models.retrieve().await.unwrap().model_ids.is_empty());
    assert_eq!(
        refusal(
            models
                .update(body(json!({"mode": "allow_list", "model_ids": [""]})))
                .await
                .unwrap_err()
        ),
        (400, Some("model_ids[0]".to_owned()))
    );

    let tools = projects.hosted_tool_permissions(&project.id);
    assert!(tools.retrieve().await.unwrap().code_interpreter.enabled);
    let off = tools
        .update(body(json!({"code_interpreter": {"enabled": false}})))
        .await
        .unwrap();
    assert!(!off.code_interpreter.enabled && off.file_search.enabled);
    assert!(!tools.retrieve().await.unwrap().code_interpreter.enabled);

    let limits = projects.rate_limits(&project.id);
    let listed = projects
        .rate_limits(&project.id)
        .query(&[("limit", "100")])
        .unwrap()
        .list()
        .await
        .unwrap();
    assert!(!listed.has_more);
    let o3 = listed
        .data
        .iter()
        .find(|l| l.id == "rl-o3")
        .unwrap()
        .clone();
    let updated = limits
        .update("rl-o3", body(json!({"max_requests_per_1_minute": 7})))
        .await
        .unwrap();
    assert_eq!(
        (updated.model.as_str(), updated.max_requests_per_1_minute),
        ("o3", 7)
    );
    assert_eq!(updated.max_tokens_per_1_minute, o3.max_tokens_per_1_minute);
    assert_eq!(
        refusal(
            limits
                .update("rl-nope", body(json!({"max_requests_per_1_minute": 7})))
                .await
                .unwrap_err()
        ),
        (404, Some("rate_limit_id".to_owned()))
    );
    suite.finish().await;
}

#[tokio::test]
async fn certificates_of_the_organization_and_a_project() {
    let suite = Suite::start().await;
    let admin = suite.client.admin();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let pem = params.self_signed(&key).unwrap().pem();

    let certificates = admin.certificates();
    let created = certificates
        .upload_organization(body(json!({"name": "Rust CA", "certificate": pem})))
        .await
        .unwrap();
    assert_eq!(
        (created.object.as_str(), created.name.as_deref()),
        ("certificate", Some("Rust CA"))
    );
    let renamed = certificates
        .modify(&created.id, body(json!({"name": "Partners"})))
        .await
        .unwrap();
    assert_eq!(renamed.name.as_deref(), Some("Partners"));
    assert_eq!(
        certificates.retrieve(&created.id).await.unwrap().id,
        created.id
    );
    let listed = certificates.list_organization().await.unwrap();
    assert_eq!(listed.data.len(), 1);
    let ids = || body(json!({"certificate_ids": [created.id]}));
    let activated = certificates.activate_organization(ids()).await.unwrap();
    assert!(activated.data[0].active);
    assert_eq!(
        refusal(certificates.delete(&created.id).await.unwrap_err()).0,
        400
    );

    let project = admin
        .projects()
        .create(body(json!({"name": "mTLS"})))
        .await
        .unwrap();
    let projects = admin.projects();
    let in_project = projects.certificates(&project.id);
    assert!(!in_project.list().await.unwrap().data[0].active);
    assert!(in_project.activate(ids()).await.unwrap().data[0].active);
    assert!(!in_project.deactivate(ids()).await.unwrap().data[0].active);
    certificates.deactivate_organization(ids()).await.unwrap();
    let deleted = certificates.delete(&created.id).await.unwrap();
    assert_eq!(deleted.id, created.id);
    assert_eq!(
        refusal(certificates.retrieve(&created.id).await.unwrap_err()),
        (404, Some("certificate_id".to_owned()))
    );
    suite.finish().await;
}
