//! Reading a row a transaction is about to check and change, locked until it ends (PostgreSQL
//! row locks; SQLite's write transactions are serialized and need none).

use super::Tx;
use crate::domain::group::Group;
use crate::domain::project::Project;
use crate::domain::project_key::ServiceAccount;
use crate::domain::role::{Role, RoleScope};
use crate::domain::{Error, Result};
use crate::store::db;

pub const SELECT_PROJECT: &str = "SELECT p.id, p.name, p.created_at, p.archived_at, p.external_key_id, p.residency, \
     o.default_project_id FROM projects p JOIN organizations o ON o.id = p.org_id";
pub const SELECT_GROUP: &str =
    "SELECT g.id, g.name, g.created_at, g.scim_managed FROM org_groups g";
pub const SELECT_ACCOUNT: &str =
    "SELECT s.id, s.name, s.role, s.created_at FROM service_accounts s";
pub const SELECT_ROLE: &str = "SELECT r.id, r.org_id, r.resource_id, r.resource_type, r.name, r.description, r.permissions, r.predefined, r.created_at, r.updated_at, r.created_by FROM roles r";

impl Tx<'_> {
    /// Reads a project, locking its row until the transaction ends.
    pub async fn lock_project(&mut self, org_id: &str, project_id: &str) -> Result<Project> {
        let lock = self.backend.for_update_of("p");
        self.select_project(org_id, project_id, &lock).await
    }

    /// Reads a project that the transaction adds to (a member, say) but does not change: adders
    /// run side by side, and archiving the project waits for them.
    pub async fn share_project(&mut self, org_id: &str, project_id: &str) -> Result<Project> {
        let lock = self.backend.for_share_of("p");
        self.select_project(org_id, project_id, &lock).await
    }

    async fn select_project(
        &mut self,
        org_id: &str,
        project_id: &str,
        lock: &str,
    ) -> Result<Project> {
        db::query(format!(
            "{SELECT_PROJECT} WHERE p.org_id = $1 AND p.id = $2{lock}"
        ))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .fetch_optional(&mut *self.conn)
        .await?
        .ok_or_else(|| Error::not_found("project", project_id, "project_id"))
    }

    /// The project of a project scope exists and is active (and stays so: it is locked).
    pub async fn check_scope_active(&mut self, scope: &RoleScope) -> Result<()> {
        if let Some(project) = &scope.project_id {
            self.lock_project(&scope.org_id, project)
                .await?
                .check_active()?;
        }
        Ok(())
    }

    /// Reads a group, locking it.
    pub async fn lock_group(&mut self, org_id: &str, group_id: &str) -> Result<Group> {
        db::query(format!(
            "{SELECT_GROUP} WHERE g.org_id = $1 AND g.id = $2{}",
            self.backend.for_update_of("g")
        ))
        .bind(org_id.to_owned())
        .bind(group_id.to_owned())
        .fetch_optional(&mut *self.conn)
        .await?
        .ok_or_else(|| Error::not_found("group", group_id, "group_id"))
    }

    /// Reads a role of `scope`, locking it.
    pub async fn lock_role(&mut self, scope: &RoleScope, role_id: &str) -> Result<Role> {
        db::query(format!(
            "{SELECT_ROLE} WHERE r.org_id = $1 AND r.resource_id = $2 AND r.id = $3{}",
            self.backend.for_update_of("r")
        ))
        .bind(scope.org_id.clone())
        .bind(scope.resource_id().to_owned())
        .bind(role_id.to_owned())
        .fetch_optional(&mut *self.conn)
        .await?
        .ok_or_else(|| no_such_role(role_id, scope))
    }

    /// Locks the organization's row: changes to who owns it take turns, so that two concurrent
    /// demotions cannot both see another owner left.
    pub async fn lock_organization(&mut self, org_id: &str) -> Result<()> {
        db::query(format!(
            "SELECT o.id FROM organizations o WHERE o.id = $1{}",
            self.backend.for_update_of("o")
        ))
        .bind(org_id.to_owned())
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    /// Reads a service account of a project, locking it.
    pub async fn lock_service_account(
        &mut self,
        project_id: &str,
        account_id: &str,
    ) -> Result<ServiceAccount> {
        db::query(format!(
            "{SELECT_ACCOUNT} WHERE s.org_id = $1 AND s.project_id = $2 AND s.id = $3{}",
            self.backend.for_update_of("s")
        ))
        .bind(self.org_id()?)
        .bind(project_id.to_owned())
        .bind(account_id.to_owned())
        .fetch_optional(&mut *self.conn)
        .await?
        .ok_or_else(|| Error::not_found("service account", account_id, "service_account_id"))
    }
}

pub(in crate::store) fn no_such_role(role_id: &str, scope: &RoleScope) -> Error {
    let within = match &scope.project_id {
        Some(project) => format!("project '{project}'"),
        None => "this organization".to_owned(),
    };
    Error::NotFound {
        message: format!("No such role in {within}: '{role_id}'"),
        param: Some("role_id"),
    }
}
