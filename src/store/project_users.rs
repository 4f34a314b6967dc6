//! Project users: list, add, retrieve, change role, remove.

use super::db;
use super::sql::Sql;
use super::tx::{SELECT_MEMBER, Tx, find_member, not_a_member};
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::{ProjectId, UserId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::project_user::{Member, ProjectRole, ProjectUser};
use crate::domain::user::User;
use crate::domain::{Error, Result};
use serde_json::json;

impl Store {
    /// Members in the order they were added; `after` is a user id.
    pub async fn list_project_users(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        page: &PageRequest,
    ) -> Result<Page<ProjectUser>> {
        let mut sql = Sql::new(SELECT_MEMBER);
        sql.push(" WHERE pu.org_id = ").bind(org_id.to_owned());
        sql.push(" AND pu.project_id = ")
            .bind(project_id.to_owned());
        if let Some(after) = &page.after {
            sql.push(" AND pu.id > (SELECT c.id FROM project_users c WHERE c.project_id = ")
                .bind(project_id.to_owned());
            sql.push(" AND c.user_id = ").bind(after.clone()).push(")");
        }
        sql.push(" ORDER BY pu.id LIMIT ").bind(page.limit + 1);
        let page = self.fetch_page(sql, page.limit).await?;
        if page.items.is_empty() {
            self.get_project(org_id, project_id).await?.check_active()?;
        }
        Ok(page)
    }

    pub async fn get_project_user(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> Result<ProjectUser> {
        let found = find_member(&self.db, org_id, project_id, user_id).await?;
        let project = async { self.get_project(org_id, project_id).await?.check_active() };
        Store::found_or(found, project, || not_a_member(user_id)).await
    }

    /// Adds an organization user to a project.
    pub async fn add_project_user(
        &self,
        author: &Author,
        project_id: &ProjectId,
        member: &Member,
        role: ProjectRole,
    ) -> Result<ProjectUser> {
        transact!(self, author, |tx| {
            tx.share_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let user = resolve(tx, &author.org_id, member).await?;
            tx.insert_member(&author.org_id, project_id, &user.id, role)
                .await?;
            let event = Event::new(
                "user.added",
                &user.id,
                json!({"id": user.id, "data": {"role": role.as_str()}}),
            )
            .in_project(project_id);
            tx.record(event).await?;
            Ok(ProjectUser {
                id: user.id,
                name: user.name,
                email: user.email,
                role,
                added_at: tx.now,
            })
        })
    }

    pub async fn modify_project_user(
        &self,
        author: &Author,
        project_id: &ProjectId,
        user_id: &UserId,
        role: ProjectRole,
    ) -> Result<ProjectUser> {
        transact!(self, author, |tx| {
            tx.set_member_role(project_id, user_id, role).await
        })
    }

    pub async fn remove_project_user(
        &self,
        author: &Author,
        project_id: &ProjectId,
        user_id: &UserId,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            if tx
                .share_project(&author.org_id, project_id)
                .await?
                .is_default()
            {
                return Err(Error::rule(
                    "Users cannot be removed from the Default project, unless they are being removed from the organization.",
                ));
            }
            tx.member_of_active_project(project_id, user_id).await?;
            db::query("DELETE FROM project_users WHERE project_id = $1 AND user_id = $2")
                .bind(project_id.to_owned())
                .bind(user_id.to_owned())
                .execute(&mut *tx.conn)
                .await?;
            tx.record(
                Event::new("user.deleted", user_id, json!({"id": user_id})).in_project(project_id),
            )
            .await
        })
    }
}

/// The organization user a request names; only organization users can join a project.
async fn resolve(tx: &mut Tx<'_>, org_id: &str, member: &Member) -> Result<User> {
    let not_in_org = |param: &'static str| {
        Error::invalid(
            "Users must already be members of the organization to be added to a project.",
            param,
        )
    };
    match member {
        Member::Id(user_id) => tx
            .find_user(org_id, user_id)
            .await?
            .ok_or_else(|| not_in_org("user_id")),
        Member::Email(email) => tx
            .find_user_by_email(org_id, email)
            .await?
            .ok_or_else(|| not_in_org("email")),
        Member::Both { user_id, email } => {
            let user = tx
                .find_user(org_id, user_id)
                .await?
                .ok_or_else(|| not_in_org("user_id"))?;
            if &user.email != email {
                return Err(Error::invalid(
                    format!(
                        "'user_id' and 'email' name different users: {user_id} is not {email}."
                    ),
                    "email",
                ));
            }
            Ok(user)
        }
    }
}
