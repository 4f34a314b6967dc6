//! The rows more than one writer creates (the API's operations, founding, the emulator's
//! fixtures): organizations, users, projects and their predefined roles, memberships, groups,
//! custom roles, service accounts, role assignments, keys and queued emails. Each INSERT is
//! written here once.

use serde_json::json;

use super::Tx;
use crate::domain::admin_key::AdminApiKey;
use crate::domain::audit::Event;
use crate::domain::group::Group;
use crate::domain::organization::{DEFAULT_PROJECT_NAME, NewOrganization, Organization};
use crate::domain::project_key::ServiceAccount;
use crate::domain::project_key::{CreatedKey, KeyOwner, NewKey};
use crate::domain::project_user::ProjectRole;
use crate::domain::role::{self, Role, RoleHolder, RoleScope, Scope};
use crate::domain::user::User;
use crate::domain::{Error, Result, ids, name, secret};
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

/// The ids an organization is founded with: new ones, or fixed ones (a reset, fixtures).
pub struct FoundingIds {
    pub org_id: String,
    pub project_id: String,
    pub owner_id: String,
}

impl FoundingIds {
    pub fn new() -> Self {
        FoundingIds {
            org_id: ids::new_id(ids::ORGANIZATION),
            project_id: ids::new_id(ids::PROJECT),
            owner_id: ids::new_id(ids::USER),
        }
    }
}

/// A new organization and the value of its first admin key, which is shown once.
#[derive(Debug)]
pub struct FoundedOrganization {
    pub organization: Organization,
    pub admin_key: String,
}

/// A message to queue.
#[derive(Clone, Debug)]
pub struct NewMail<'a> {
    pub org_id: &'a str,
    pub invite_id: Option<&'a str>,
    pub recipient: &'a str,
    pub subject: String,
    pub body: String,
    pub html_body: Option<String>,
}

impl Tx<'_> {
    /// Inserts an organization, its owner, its default project and its first admin key (`value`,
    /// or a random one), with their events; the transaction then acts in it.
    pub async fn found_organization(
        &mut self,
        new: &NewOrganization,
        admin_key: Option<&str>,
        ids: FoundingIds,
    ) -> Result<FoundedOrganization> {
        let FoundingIds {
            org_id,
            project_id,
            owner_id,
        } = ids;
        db::query("INSERT INTO organizations (id, name, created_at, default_project_id) VALUES ($1, $2, $3, $4)")
            .bind(org_id.clone())
            .bind(new.name.clone())
            .bind(self.now)
            .bind(project_id.clone())
            .execute_unique(&mut *self.conn, || {
                Error::invalid(format!("Organization '{org_id}' already exists."), "id")
            })
            .await?;
        let owner = User {
            id: owner_id.clone(),
            email: new.owner_email.clone(),
            name: new.owner_name.clone(),
            role: crate::domain::user::OrgRole::Owner,
            added_at: self.now,
        };
        self.insert_user(&org_id, &owner).await?;
        self.insert_project(&org_id, &project_id, DEFAULT_PROJECT_NAME, None, None)
            .await?;
        self.insert_predefined_roles(&org_id, None).await?;
        self.author = Some(crate::store::Author {
            org_id: org_id.clone(),
            actor: None,
            default_project_id: Some(project_id.clone()),
        });
        self.record(Event::new(
            "user.added",
            &owner_id,
            json!({"id": owner_id, "data": {"role": "owner"}}),
        ))
        .await?;
        let details = json!({"id": project_id, "data": {"name": DEFAULT_PROJECT_NAME, "title": DEFAULT_PROJECT_NAME}});
        self.record(Event::new("project.created", &project_id, details).in_project(&project_id))
            .await?;
        let (_, secret) = self
            .insert_admin_key(&owner_id, Some("Bootstrap key"), None, admin_key)
            .await?;
        Ok(FoundedOrganization {
            organization: Organization {
                id: org_id,
                name: new.name.clone(),
                created_at: self.now,
                default_project_id: project_id,
                owner_email: new.owner_email.clone(),
            },
            admin_key: secret,
        })
    }

    /// Inserts a user of the organization; an email already there is refused in the real
    /// service's words.
    pub async fn insert_user(&mut self, org_id: &str, user: &User) -> Result<()> {
        db::query("INSERT INTO users (id, org_id, email, name, role, added_at, updated_at, user_name, user_name_folded, name_folded) \
                   VALUES ($1, $2, $3, $4, $5, $6, $6, $3, $7, $8)")
            .bind(user.id.clone())
            .bind(org_id.to_owned())
            .bind(user.email.clone())
            .bind(user.name.clone())
            .bind(user.role)
            .bind(user.added_at)
            .bind(name::folded(&user.email))
            .bind(name::folded(&user.name))
            .execute_unique(&mut *self.conn, || {
                Error::rule(format!(
                    "A user with email {} already exists in this organization.",
                    user.email
                ))
            })
            .await?;
        Ok(())
    }

    /// Inserts a project and its predefined roles.
    pub async fn insert_project(
        &mut self,
        org_id: &str,
        project_id: &str,
        name: &str,
        external_key_id: Option<String>,
        residency: Option<String>,
    ) -> Result<()> {
        db::query(
            "INSERT INTO projects (id, org_id, name, created_at, external_key_id, residency) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(project_id.to_owned())
        .bind(org_id.to_owned())
        .bind(name.to_owned())
        .bind(self.now)
        .bind(external_key_id)
        .bind(residency)
        .execute_unique(&mut *self.conn, || {
            Error::invalid(format!("Project '{project_id}' already exists."), "id")
        })
        .await?;
        self.insert_predefined_roles(org_id, Some(project_id)).await
    }

    /// Makes a user a member of a project.
    pub async fn insert_member(
        &mut self,
        org_id: &str,
        project_id: &str,
        user_id: &str,
        role: ProjectRole,
    ) -> Result<()> {
        db::query(
            "INSERT INTO project_users (id, org_id, project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(ids::new_id(ids::PROJECT_USER))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .bind(user_id.to_owned())
        .bind(role)
        .bind(self.now)
        .execute_unique(&mut *self.conn, || {
            Error::invalid(
                format!("User '{user_id}' already exists in project '{project_id}'."),
                "user_id",
            )
        })
        .await?;
        Ok(())
    }

    pub async fn insert_group(&mut self, org_id: &str, group: &Group) -> Result<()> {
        db::query("INSERT INTO org_groups (id, org_id, name, created_at, updated_at, name_folded) VALUES ($1, $2, $3, $4, $4, $5)")
            .bind(group.id.clone())
            .bind(org_id.to_owned())
            .bind(group.name.clone())
            .bind(group.created_at)
            .bind(name::folded(&group.name))
            .execute_unique(&mut *self.conn, || {
                Error::invalid(format!("Group '{}' already exists.", group.id), "id")
            })
            .await?;
        Ok(())
    }

    pub async fn insert_group_user(&mut self, group_id: &str, user_id: &str) -> Result<()> {
        db::query("INSERT INTO group_users (group_id, user_id, added_at) VALUES ($1, $2, $3)")
            .bind(group_id.to_owned())
            .bind(user_id.to_owned())
            .bind(self.now)
            .execute_unique(&mut *self.conn, || {
                Error::invalid(
                    format!("User '{user_id}' is already in group '{group_id}'."),
                    "user_id",
                )
            })
            .await?;
        Ok(())
    }

    /// Takes a user out of a group; how many rows went (0 if she was not in it).
    pub async fn delete_group_user(&mut self, group_id: &str, user_id: &str) -> Result<u64> {
        db::query("DELETE FROM group_users WHERE group_id = $1 AND user_id = $2")
            .bind(group_id.to_owned())
            .bind(user_id.to_owned())
            .execute(&mut *self.conn)
            .await
    }

    /// Marks a group changed (its members did): SCIM's `meta.lastModified` and ETag follow.
    pub async fn touch_group(&mut self, group_id: &str) -> Result<()> {
        db::query("UPDATE org_groups SET updated_at = $1, version = version + 1 WHERE id = $2")
            .bind(self.now)
            .bind(group_id.to_owned())
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    /// Gives a group access to a project (its role there is an assignment of its own).
    pub async fn insert_project_group(&mut self, project_id: &str, group_id: &str) -> Result<()> {
        db::query(
            "INSERT INTO project_groups (project_id, group_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(project_id.to_owned())
        .bind(group_id.to_owned())
        .bind(self.now)
        .execute_unique(&mut *self.conn, || {
            Error::invalid(
                format!("Group '{group_id}' already exists in project '{project_id}'."),
                "group_id",
            )
        })
        .await?;
        Ok(())
    }

    /// Inserts a custom role; a name already used in its scope is refused.
    pub async fn insert_role(&mut self, role: &Role, project_id: Option<&str>) -> Result<()> {
        db::query(
            "INSERT INTO roles (id, org_id, project_id, resource_id, resource_type, name, description, permissions, predefined, created_at, updated_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, $9, $10)",
        )
        .bind(role.id.clone())
        .bind(role.org_id.clone())
        .bind(project_id.map(str::to_owned))
        .bind(role.resource_id.clone())
        .bind(role.resource_type.clone())
        .bind(role.name.clone())
        .bind(role.description.clone())
        .bind(role.permissions.clone())
        .bind(role.created_at)
        .bind(role.created_by.clone())
        .execute_unique(&mut *self.conn, || role::duplicate_name(&role.name))
        .await?;
        Ok(())
    }

    pub async fn insert_service_account(
        &mut self,
        org_id: &str,
        project_id: &str,
        account: &ServiceAccount,
    ) -> Result<()> {
        db::query("INSERT INTO service_accounts (id, org_id, project_id, name, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(account.id.clone())
            .bind(org_id.to_owned())
            .bind(project_id.to_owned())
            .bind(account.name.clone())
            .bind(account.role.as_str())
            .bind(account.created_at)
            .execute_unique(&mut *self.conn, || {
                Error::invalid(format!("Service account '{}' already exists.", account.id), "id")
            })
            .await?;
        Ok(())
    }

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
            "INSERT INTO outgoing_mail (id, org_id, invite_id, recipient, subject, body, html_body, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)",
        )
        .bind(ids::new_id(ids::OUTGOING_MAIL))
        .bind(mail.org_id.to_owned())
        .bind(mail.invite_id.map(str::to_owned))
        .bind(mail.recipient.to_owned())
        .bind(mail.subject.clone())
        .bind(mail.body.clone())
        .bind(mail.html_body.clone())
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
        value: Option<&str>,
    ) -> Result<CreatedKey> {
        let (prefix, user_id, account_id) = match owner {
            KeyOwner::User(id) => (secret::USER_KEY_PREFIX, Some(id.clone()), None),
            KeyOwner::ServiceAccount(id) => {
                (secret::SERVICE_ACCOUNT_KEY_PREFIX, None, Some(id.clone()))
            }
        };
        let value = value.map_or_else(|| secret::generate(prefix), str::to_owned);
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
        .execute_unique(&mut *self.conn, || {
            Error::invalid("That API key value is already in use.", "value")
        })
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
