//! Roles of an organization or a project: the predefined ones (inserted with their organization
//! or project) and custom ones.

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::tx::{SELECT_ROLE, no_such_role};
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::RoleId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::RoleScope;
use crate::domain::role::{self, Role};
use crate::domain::{Result, ids};

/// What an update changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct RoleChanges {
    pub name: Option<String>,
    pub description: Option<String>,
    pub permissions: Option<Vec<String>>,
}

impl Store {
    /// A project scope names a project of the organization.
    pub async fn check_scope(&self, scope: &RoleScope) -> Result<()> {
        if let Some(project) = &scope.project_id {
            self.get_project(&scope.org_id, project).await?;
        }
        Ok(())
    }

    pub async fn list_roles(&self, scope: &RoleScope, page: &PageRequest) -> Result<Page<Role>> {
        self.check_scope(scope).await?;
        let mut sql = Sql::new(SELECT_ROLE);
        sql.push(" WHERE r.org_id = ").bind(scope.org_id.clone());
        sql.push(" AND r.resource_id = ")
            .bind(scope.resource_id().to_owned());
        sql.keyset("r.id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_role(&self, scope: &RoleScope, role_id: &RoleId) -> Result<Role> {
        let role_id = scope.role_id(role_id);
        let found = db::query(format!(
            "{SELECT_ROLE} WHERE r.org_id = $1 AND r.resource_id = $2 AND r.id = $3"
        ))
        .bind(scope.org_id.clone())
        .bind(scope.resource_id().to_owned())
        .bind(role_id.clone())
        .fetch_optional(&self.db)
        .await?;
        Store::found_or(found, self.check_scope(scope), || {
            no_such_role(&role_id, scope)
        })
        .await
    }

    pub async fn create_role(
        &self,
        author: &Author,
        scope: &RoleScope,
        name: &str,
        description: Option<&str>,
        permissions: &[String],
    ) -> Result<Role> {
        let name = role::validate_name(name)?;
        let permissions = role::validate_permissions(permissions, scope.scope(), "permissions")?;
        transact!(self, author, |tx| {
            let role = Role {
                id: ids::new_id(ids::ROLE),
                org_id: scope.org_id.clone(),
                resource_id: scope.resource_id().to_owned(),
                resource_type: scope.scope().resource_type().to_owned(),
                name: name.clone(),
                description: description.map(str::to_owned),
                permissions: serde_json::to_string(&permissions).unwrap_or_else(|_| "[]".into()),
                predefined: 0,
                created_at: tx.now,
                updated_at: tx.now,
                created_by: author.actor.as_ref().map(|a| a.user_id.clone()),
            };
            tx.check_scope_active(scope).await?;
            tx.insert_role(&role, scope.project_id.as_deref()).await?;
            let details = json!({
                "id": role.id,
                "role_name": role.name,
                "permissions": permissions,
                "resource_type": role.resource_type,
                "resource_id": role.resource_id,
            });
            let event = scope.event(Event::new("role.created", &role.id, details));
            tx.record(event).await?;
            Ok(role)
        })
    }

    pub async fn update_role(
        &self,
        author: &Author,
        scope: &RoleScope,
        role_id: &RoleId,
        changes: &RoleChanges,
    ) -> Result<Role> {
        let role_id = scope.role_id(role_id);
        let name = changes
            .name
            .as_deref()
            .map(role::validate_name)
            .transpose()?;
        let permissions = changes
            .permissions
            .as_deref()
            .map(|p| role::validate_permissions(p, scope.scope(), "permissions"))
            .transpose()?;
        transact!(self, author, |tx| {
            tx.check_scope_active(scope).await?;
            let current = tx.lock_role(scope, &role_id).await?;
            current.check_can_modify()?;
            let before = current.permission_list();
            let mut updated = current.clone();
            let mut requested = serde_json::Map::new();
            if let Some(name) = &name {
                updated.name = name.clone();
                requested.insert("role_name".into(), json!(name));
            }
            if let Some(description) = &changes.description {
                updated.description = Some(description.clone());
                requested.insert("description".into(), json!(description));
            }
            if let Some(permissions) = &permissions {
                updated.permissions =
                    serde_json::to_string(permissions).unwrap_or_else(|_| "[]".into());
                let added: Vec<&String> =
                    permissions.iter().filter(|p| !before.contains(p)).collect();
                let removed: Vec<&String> =
                    before.iter().filter(|p| !permissions.contains(p)).collect();
                requested.insert("permissions_added".into(), json!(added));
                requested.insert("permissions_removed".into(), json!(removed));
            }
            updated.updated_at = tx.now;
            db::query("UPDATE roles SET name = $1, description = $2, permissions = $3, updated_at = $4 WHERE id = $5")
                .bind(updated.name.clone())
                .bind(updated.description.clone())
                .bind(updated.permissions.clone())
                .bind(tx.now)
                .bind(updated.id.clone())
                .execute_unique(&mut *tx.conn, || role::duplicate_name(&updated.name))
                .await?;
            requested.insert("resource_id".into(), json!(updated.resource_id));
            requested.insert("resource_type".into(), json!(updated.resource_type));
            let details = json!({"id": updated.id, "changes_requested": requested});
            let event = scope.event(Event::new("role.updated", &updated.id, details));
            tx.record(event).await?;
            Ok(updated)
        })
    }

    /// Deletes a custom role; its assignments go with it (the foreign key cascades).
    pub async fn delete_role(
        &self,
        author: &Author,
        scope: &RoleScope,
        role_id: &RoleId,
    ) -> Result<String> {
        let role_id = scope.role_id(role_id);
        transact!(self, author, |tx| {
            let current = tx.lock_role(scope, &role_id).await?;
            current.check_can_modify()?;
            db::query("DELETE FROM roles WHERE id = $1")
                .bind(current.id.clone())
                .execute(&mut *tx.conn)
                .await?;
            let event = scope.event(Event::new(
                "role.deleted",
                &current.id,
                json!({"id": current.id}),
            ));
            tx.record(event).await?;
            Ok(current.id.clone())
        })
    }
}
