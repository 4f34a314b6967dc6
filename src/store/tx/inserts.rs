//! The rows more than one aggregate writes: an organization's or project's predefined roles, a
//! role assignment, an admin key, a queued email.

use serde_json::json;

use super::Tx;
use crate::domain::admin_key::AdminApiKey;
use crate::domain::audit::Event;
use crate::domain::project_key::{CreatedKey, KeyOwner, NewKey};
use crate::domain::role::{self, Role, RoleHolder, RoleScope, Scope};
use crate::domain::{Error, Result, ids, secret};
use crate::store::db;

pub const SELECT_KEY: &str = "SELECT k.id, k.name, k.redacted_value, k.created_at, k.expires_at, k.last_used_at, \
     u.id AS owner_id, u.name AS owner_name, u.role AS owner_role, u.added_at AS owner_created_at \
     FROM admin_api_keys k JOIN users u ON u.id = k.owner_user_id";

pub fn assignment_event(
    event_type: &'static str,
    id: &str,
    scope: &RoleScope,
    principal: &RoleHolder,
) -> Event {
    let details = json!({
        "id": id,
        "principal_id": principal.id(),
        "principal_type": principal.kind(),
        "resource_id": scope.resource_id(),
        "resource_type": scope.scope().resource_type(),
    });
    scope.event(Event::new(event_type, id, details))
}

pub fn already_holds(principal: &RoleHolder, role: &Role) -> Error {
    Error::invalid(
        format!(
            "The {} '{}' already holds role '{}'.",
            principal.kind(),
            principal.id(),
            role.name
        ),
        "role_id",
    )
}

/// A message to queue.
#[derive(Clone, Debug)]
pub struct NewMail<'a> {
    pub org_id: &'a str,
    pub invite_id: Option<&'a str>,
    pub recipient: &'a str,
    pub subject: String,
    pub body: String,
}

impl Tx<'_> {
    /// The predefined roles of a new organization (`project_id: None`) or project.
    pub async fn insert_predefined_roles(
        &mut self,
        org_id: &str,
        project_id: Option<&str>,
    ) -> Result<()> {
        let (scope, resource_id) = match project_id {
            None => (Scope::Organization, org_id),
            Some(project) => (Scope::Project, project),
        };
        for predefined in role::predefined(scope) {
            db::query(
                "INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $9, NULL)",
            )
            .bind(predefined.id_in(resource_id))
            .bind(org_id.to_owned())
            .bind(project_id.map(str::to_owned))
            .bind(resource_id.to_owned())
            .bind(scope.resource_type())
            .bind(predefined.name)
            .bind(predefined.description)
            .bind(predefined.permissions_json())
            .bind(self.now)
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }

    /// Records that `principal` holds `role` in `scope`, with its audit event.
    pub async fn insert_role_assignment(
        &mut self,
        scope: &RoleScope,
        principal: &RoleHolder,
        role: &Role,
    ) -> Result<()> {
        let id = ids::new_id(ids::ROLE_ASSIGNMENT);
        let (user_id, group_id) = match principal {
            RoleHolder::User(id) => (Some(id.clone()), None),
            RoleHolder::Group(id) => (None, Some(id.clone())),
        };
        db::query(
            "INSERT INTO role_assignments (id, org_id, role_id, resource_id, project_id, user_id, group_id, principal_id, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(id.clone())
        .bind(scope.org_id.clone())
        .bind(role.id.clone())
        .bind(scope.resource_id().to_owned())
        .bind(scope.project_id.clone())
        .bind(user_id)
        .bind(group_id)
        .bind(principal.id().to_owned())
        .bind(self.now)
        .execute_unique(&mut *self.conn, || already_holds(principal, role)).await?;
        self.record(assignment_event(
            "role.assignment.created",
            &id,
            scope,
            principal,
        ))
        .await
    }

    /// Inserts an admin key, with `value` as its secret or a new random one, and its audit
    /// event; returns the key and its value.
    pub async fn insert_admin_key(
        &mut self,
        owner_user_id: &str,
        name: Option<&str>,
        expires_at: Option<i64>,
        value: Option<&str>,
    ) -> Result<(AdminApiKey, String)> {
        let key_id = ids::new_id(ids::ADMIN_API_KEY);
        let value = value.map_or_else(|| secret::generate(secret::ADMIN_KEY_PREFIX), str::to_owned);
        db::query(
            "INSERT INTO admin_api_keys (id, org_id, owner_user_id, name, digest, redacted_value, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(key_id.clone())
        .bind(self.org_id()?)
        .bind(owner_user_id.to_owned())
        .bind(name.map(str::to_owned))
        .bind(secret::digest(&value))
        .bind(secret::redact(&value))
        .bind(self.now)
        .bind(expires_at)
        .execute_unique(&mut *self.conn, || Error::invalid("That admin key value is already in use.", "value")).await?;
        let details = json!({"id": key_id, "data": {"scopes": []}});
        self.record(Event::new("api_key.created", &key_id, details))
            .await?;
        let key = db::query(format!("{SELECT_KEY} WHERE k.id = $1"))
            .bind(key_id)
            .fetch_one(&mut *self.conn)
            .await?;
        Ok((key, value))
    }

    /// Queues `mail`, due at once: it is sent if and only if this transaction commits.
    pub async fn enqueue_mail(&mut self, mail: &NewMail<'_>) -> Result<()> {
        db::query(
            "INSERT INTO outgoing_mail (id, org_id, invite_id, recipient, subject, body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(ids::new_id(ids::OUTGOING_MAIL))
        .bind(mail.org_id.to_owned())
        .bind(mail.invite_id.map(str::to_owned))
        .bind(mail.recipient.to_owned())
        .bind(mail.subject.clone())
        .bind(mail.body.clone())
        .bind(self.now)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// A new key of a project's member or service account, with its event; its value is
    /// shown once.
    pub async fn insert_project_key(
        &mut self,
        project_id: &str,
        owner: &KeyOwner,
        key: &NewKey,
    ) -> Result<CreatedKey> {
        let (prefix, user_id, account_id) = match owner {
            KeyOwner::User(id) => (secret::USER_KEY_PREFIX, Some(id.clone()), None),
            KeyOwner::ServiceAccount(id) => {
                (secret::SERVICE_ACCOUNT_KEY_PREFIX, None, Some(id.clone()))
            }
        };
        let value = secret::generate(prefix);
        let id = ids::new_id(ids::ADMIN_API_KEY);
        db::query(
            "INSERT INTO project_api_keys (id, org_id, project_id, name, digest, redacted_value, scopes, created_at, expires_at, user_id, service_account_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.clone())
        .bind(self.org_id()?)
        .bind(project_id.to_owned())
        .bind(key.name.clone())
        .bind(secret::digest(&value))
        .bind(secret::redact(&value))
        .bind(serde_json::to_string(&key.scopes).unwrap_or_else(|_| "[]".into()))
        .bind(self.now)
        .bind(key.expires_at)
        .bind(user_id)
        .bind(account_id)
        .execute(&mut *self.conn)
        .await?;
        let details = json!({"id": id, "data": {"scopes": key.scopes}});
        let event = Event::new("api_key.created", &id, details).in_project(project_id);
        self.record(event).await?;
        Ok(CreatedKey {
            id,
            name: key.name.clone(),
            created_at: self.now,
            value,
        })
    }
}
