//! Users and project members inside a transaction: finding them, and changing their predefined
//! role (through the users and members operations, and through the role-assignment ones).

use super::Tx;
use crate::domain::audit::Event;
use crate::domain::project_user::{ProjectRole, ProjectUser};
use crate::domain::user::{self, OrgRole, User};
use crate::domain::{Error, Result};
use crate::store::db;

pub const SELECT_USER: &str = "SELECT u.id, u.email, u.name, u.role, u.added_at FROM users u";
/// Members of an active project: the reads check the project in the same query, and look it up
/// on its own only when they find nothing, to tell which 404 (or archived) it is.
pub const SELECT_MEMBER: &str = "SELECT u.id, u.name, u.email, pu.role, pu.added_at \
     FROM project_users pu JOIN users u ON u.id = pu.user_id \
     JOIN projects p ON p.id = pu.project_id AND p.archived_at IS NULL";

pub async fn find_user<'e>(
    executor: impl Into<db::Executor<'e>>,
    org_id: &str,
    user_id: &str,
) -> Result<Option<User>> {
    db::query(format!("{SELECT_USER} WHERE u.org_id = $1 AND u.id = $2"))
        .bind(org_id.to_owned())
        .bind(user_id.to_owned())
        .fetch_optional(executor)
        .await
}

pub async fn find_member<'e>(
    executor: impl Into<db::Executor<'e>>,
    org_id: &str,
    project_id: &str,
    user_id: &str,
) -> Result<Option<ProjectUser>> {
    db::query(format!(
        "{SELECT_MEMBER} WHERE pu.org_id = $1 AND pu.project_id = $2 AND pu.user_id = $3"
    ))
    .bind(org_id.to_owned())
    .bind(project_id.to_owned())
    .bind(user_id.to_owned())
    .fetch_optional(executor)
    .await
}

pub fn not_a_member(user_id: &str) -> Error {
    Error::NotFound {
        message: format!("User '{user_id}' is not a member of this project."),
        param: Some("user_id"),
    }
}

impl Tx<'_> {
    pub async fn find_user(&mut self, org_id: &str, user_id: &str) -> Result<Option<User>> {
        find_user(&mut *self.conn, org_id, user_id).await
    }

    pub async fn find_user_by_email(&mut self, org_id: &str, email: &str) -> Result<Option<User>> {
        db::query(format!(
            "{SELECT_USER} WHERE u.org_id = $1 AND u.email = $2"
        ))
        .bind(org_id.to_owned())
        .bind(email.to_owned())
        .fetch_optional(&mut *self.conn)
        .await
    }

    /// Refuses a change through the Admin API to a user her identity provider manages (SCIM).
    pub async fn refuse_scim_managed_user(&mut self, user_id: &str) -> Result<()> {
        let managed: Option<(bool,)> =
            db::query("SELECT scim_managed FROM users WHERE org_id = $1 AND id = $2")
                .bind(self.org_id()?)
                .bind(user_id.to_owned())
                .fetch_optional(&mut *self.conn)
                .await?;
        match managed {
            Some((true,)) => Err(user::managed_by_scim("User", user_id)),
            _ => Ok(()),
        }
    }

    /// In a change to one user of the organization: finds her, and refuses the change if it
    /// takes away (`loses_ownership`) the organization's last owner; `doing` names the change
    /// in that refusal. The organization is locked, so such changes count owners in turn.
    pub async fn user_losing_ownership(
        &mut self,
        user_id: &str,
        loses_ownership: bool,
        doing: &str,
    ) -> Result<User> {
        let org_id = self.org_id()?;
        self.lock_organization(&org_id).await?;
        let current = self
            .find_user(&org_id, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id, "user_id"))?;
        if current.is_owner() && loses_ownership {
            // The owners left acting: active ones (SCIM can suspend an owner), but her.
            let (others,): (i64,) = db::query(
                "SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'owner' AND active = 1 AND id <> $2",
            )
            .bind(org_id)
            .bind(user_id.to_owned())
            .fetch_one(&mut *self.conn)
            .await?;
            user::check_keeps_an_owner(others, doing)?;
        }
        Ok(current)
    }

    /// Gives a user of the organization another predefined role, with its event.
    pub async fn set_user_role(&mut self, user_id: &str, role: OrgRole) -> Result<User> {
        let current = self.user_losing_role(user_id, role).await?;
        self.write_user_role(current, role).await
    }

    /// The user whose role is to become `role`, once the organization is locked and keeps an
    /// owner after the change.
    pub async fn user_losing_role(&mut self, user_id: &str, role: OrgRole) -> Result<User> {
        self.user_losing_ownership(user_id, role != OrgRole::Owner, "Demoting this user")
            .await
    }

    /// Writes `current`'s new role, with its event.
    pub async fn write_user_role(&mut self, current: User, role: OrgRole) -> Result<User> {
        db::query("UPDATE users SET role = $1, updated_at = $2, version = version + 1 WHERE org_id = $3 AND id = $4")
            .bind(role)
            .bind(self.now)
            .bind(self.org_id()?)
            .bind(current.id.clone())
            .execute(&mut *self.conn)
            .await?;
        self.record(role_changed(&current.id, role.as_str()))
            .await?;
        Ok(User { role, ..current })
    }

    /// In a change to one member of an active project: finds the member. The project is
    /// share-locked, so that archiving it waits for the change, while changes to its members run
    /// side by side. (A project may be left without owners, as in the real service: the
    /// organization's owners administer every project.)
    pub async fn member_of_active_project(
        &mut self,
        project_id: &str,
        user_id: &str,
    ) -> Result<ProjectUser> {
        let org_id = self.org_id()?;
        self.share_project(&org_id, project_id)
            .await?
            .check_active()?;
        find_member(&mut *self.conn, &org_id, project_id, user_id)
            .await?
            .ok_or_else(|| not_a_member(user_id))
    }

    /// Gives a member of a project another predefined role, with its event.
    pub async fn set_member_role(
        &mut self,
        project_id: &str,
        user_id: &str,
        role: ProjectRole,
    ) -> Result<ProjectUser> {
        let current = self.member_of_active_project(project_id, user_id).await?;
        self.write_member_role(project_id, current, role).await
    }

    /// Writes a member's new role in `project_id`, with its event.
    pub async fn write_member_role(
        &mut self,
        project_id: &str,
        current: ProjectUser,
        role: ProjectRole,
    ) -> Result<ProjectUser> {
        db::query("UPDATE project_users SET role = $1 WHERE project_id = $2 AND user_id = $3")
            .bind(role)
            .bind(project_id.to_owned())
            .bind(current.id.clone())
            .execute(&mut *self.conn)
            .await?;
        self.record(role_changed(&current.id, role.as_str()).in_project(project_id))
            .await?;
        Ok(ProjectUser { role, ..current })
    }
}

fn role_changed(user_id: &str, role: &str) -> Event {
    let details = serde_json::json!({"id": user_id, "changes_requested": {"role": role}});
    Event::new("user.updated", user_id, details)
}
