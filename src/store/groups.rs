//! Groups of organization users, their members, and their access to projects.

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::tx::SELECT_GROUP;
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::group::{self, Group, GroupMember, ProjectGroup};
use crate::domain::ids::{GroupId, ProjectId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::role::{RoleHolder, RoleScope};
use crate::domain::{Error, Result, ids, name};

const SELECT_MEMBER: &str =
    "SELECT u.id, u.name, u.email FROM group_users gu JOIN users u ON u.id = gu.user_id";
const SELECT_PROJECT_GROUP: &str = "SELECT pg.project_id, pg.group_id, g.name AS group_name, pg.created_at FROM project_groups pg JOIN org_groups g ON g.id = pg.group_id";

impl Store {
    pub async fn list_groups(&self, org_id: &str, page: &PageRequest) -> Result<Page<Group>> {
        let mut sql = Sql::new(SELECT_GROUP);
        sql.push(" WHERE g.org_id = ").bind(org_id.to_owned());
        sql.keyset("g.id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_group(&self, org_id: &str, group_id: &GroupId) -> Result<Group> {
        db::query(format!("{SELECT_GROUP} WHERE g.org_id = $1 AND g.id = $2"))
            .bind(org_id.to_owned())
            .bind(group_id.to_owned())
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| Error::not_found("group", group_id, "group_id"))
    }

    pub async fn create_group(&self, author: &Author, name: &str) -> Result<Group> {
        let name = group::validate_name(name)?;
        transact!(self, author, |tx| {
            let created = Group {
                id: ids::new_id(ids::GROUP),
                name: name.clone(),
                created_at: tx.now,
                scim_managed: false,
            };
            tx.insert_group(&author.org_id, &created).await?;
            let details = json!({"id": created.id, "data": {"group_name": created.name}});
            tx.record(Event::new("group.created", &created.id, details))
                .await?;
            Ok(created)
        })
    }

    pub async fn rename_group(
        &self,
        author: &Author,
        group_id: &GroupId,
        name: &str,
    ) -> Result<Group> {
        let name = group::validate_name(name)?;
        transact!(self, author, |tx| {
            let current = tx.lock_group(&author.org_id, group_id).await?;
            current.check_not_scim_managed()?;
            db::query("UPDATE org_groups SET name = $1, name_folded = $4, updated_at = $2, version = version + 1 WHERE id = $3")
                .bind(name.clone())
                .bind(tx.now)
                .bind(current.id.clone())
                .bind(name::folded(&name))
                .execute(&mut *tx.conn)
                .await?;
            let details = json!({"id": current.id, "changes_requested": {"group_name": name}});
            tx.record(Event::new("group.updated", &current.id, details))
                .await?;
            Ok(Group {
                name: name.clone(),
                ..current
            })
        })
    }

    /// Deletes a group: its members, project accesses and role assignments go with it (the
    /// foreign keys cascade), in this one transaction.
    pub async fn delete_group(&self, author: &Author, group_id: &GroupId) -> Result<()> {
        transact!(self, author, |tx| {
            let current = tx.lock_group(&author.org_id, group_id).await?;
            current.check_not_scim_managed()?;
            db::query("DELETE FROM org_groups WHERE id = $1")
                .bind(current.id.clone())
                .execute(&mut *tx.conn)
                .await?;
            let details = json!({"id": current.id});
            tx.record(Event::new("group.deleted", &current.id, details))
                .await?;
            Ok(())
        })
    }

    /// A group's members, by user id (the cursor).
    pub async fn list_group_users(
        &self,
        org_id: &str,
        group_id: &GroupId,
        page: &PageRequest,
    ) -> Result<Page<GroupMember>> {
        self.get_group(org_id, group_id).await?;
        let mut sql = Sql::new(SELECT_MEMBER);
        sql.push(" WHERE gu.group_id = ").bind(group_id.to_owned());
        sql.keyset("gu.user_id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_group_user(
        &self,
        org_id: &str,
        group_id: &GroupId,
        user_id: &UserId,
    ) -> Result<GroupMember> {
        let found = db::query(format!(
            "{SELECT_MEMBER} JOIN org_groups g ON g.id = gu.group_id \
             WHERE g.org_id = $1 AND gu.group_id = $2 AND gu.user_id = $3"
        ))
        .bind(org_id.to_owned())
        .bind(group_id.to_owned())
        .bind(user_id.to_owned())
        .fetch_optional(&self.db)
        .await?;
        Store::found_or(found, self.get_group(org_id, group_id), || {
            Error::not_found("user in this group", user_id, "user_id")
        })
        .await
    }

    pub async fn add_group_user(
        &self,
        author: &Author,
        group_id: &GroupId,
        user_id: &str,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            let group = tx.lock_group(&author.org_id, group_id).await?;
            group.check_not_scim_managed()?;
            let user = tx
                .find_user(&author.org_id, user_id)
                .await?
                .ok_or_else(|| {
                    Error::invalid(
                        format!("User '{user_id}' is not a user of this organization."),
                        "user_id",
                    )
                })?;
            tx.insert_group_user(&group.id, &user.id).await?;
            tx.touch_group(&group.id).await?;
            let details = json!({"id": group.id, "changes_requested": {"users_added": [user.id]}});
            tx.record(Event::new("group.updated", &group.id, details))
                .await?;
            Ok(())
        })
    }

    pub async fn remove_group_user(
        &self,
        author: &Author,
        group_id: &GroupId,
        user_id: &UserId,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            let group = tx.lock_group(&author.org_id, group_id).await?;
            group.check_not_scim_managed()?;
            if tx.delete_group_user(&group.id, user_id).await? == 0 {
                return Err(Error::not_found("user in this group", user_id, "user_id"));
            }
            tx.touch_group(&group.id).await?;
            let details =
                json!({"id": group.id, "changes_requested": {"users_removed": [user_id]}});
            tx.record(Event::new("group.updated", &group.id, details))
                .await?;
            Ok(())
        })
    }

    pub async fn list_project_groups(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        page: &PageRequest,
    ) -> Result<Page<ProjectGroup>> {
        self.get_project(org_id, project_id).await?;
        let mut sql = Sql::new(SELECT_PROJECT_GROUP);
        sql.push(" WHERE pg.project_id = ")
            .bind(project_id.to_owned());
        sql.keyset("pg.group_id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_project_group(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        group_id: &GroupId,
    ) -> Result<ProjectGroup> {
        let found = db::query(format!(
            "{SELECT_PROJECT_GROUP} WHERE g.org_id = $1 AND pg.project_id = $2 AND pg.group_id = $3"
        ))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .bind(group_id.to_owned())
        .fetch_optional(&self.db)
        .await?;
        Store::found_or(found, self.get_project(org_id, project_id), || {
            Error::not_found("group with access to this project", group_id, "group_id")
        })
        .await
    }

    /// Gives a group access to a project with a project role (an assignment like any other).
    pub async fn add_project_group(
        &self,
        author: &Author,
        project_id: &ProjectId,
        group_id: &str,
        role_id: &str,
    ) -> Result<ProjectGroup> {
        let scope = RoleScope::project(&author.org_id, project_id);
        let role_id = scope.role_id(role_id);
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let group = tx
                .lock_group(&author.org_id, group_id)
                .await
                .map_err(|_| Error::invalid(format!("No such group: '{group_id}'."), "group_id"))?;
            let role = tx.lock_role(&scope, &role_id).await.map_err(|_| {
                Error::invalid(
                    format!("No such role in project '{project_id}': '{role_id}'."),
                    "role",
                )
            })?;
            tx.insert_project_group(project_id, &group.id).await?;
            let principal = RoleHolder::Group(GroupId::stored(group.id.clone()));
            tx.insert_role_assignment(&scope, &principal, &role).await?;
            Ok(ProjectGroup {
                project_id: project_id.to_string(),
                group_id: group.id.clone(),
                group_name: group.name.clone(),
                created_at: tx.now,
            })
        })
    }

    /// Takes a group's access to a project away, with every role it held there.
    pub async fn remove_project_group(
        &self,
        author: &Author,
        project_id: &ProjectId,
        group_id: &GroupId,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id).await?;
            let removed =
                db::query("DELETE FROM project_groups WHERE project_id = $1 AND group_id = $2")
                    .bind(project_id.to_owned())
                    .bind(group_id.to_owned())
                    .execute(&mut *tx.conn)
                    .await?;
            if removed == 0 {
                return Err(Error::not_found(
                    "group with access to this project",
                    group_id,
                    "group_id",
                ));
            }
            let details = json!({
                "id": group_id,
                "principal_id": group_id,
                "principal_type": "group",
                "resource_id": project_id,
                "resource_type": "api.project",
            });
            let event =
                Event::new("role.assignment.deleted", group_id, details).in_project(project_id);
            tx.record(event).await?;
            Ok(())
        })
    }
}
