//! Project users: list, add, retrieve, change role, remove.

use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::projects::{lock_project, share_project};
use super::sql::Sql;
use super::users::{find_user, find_user_by_email};
use super::{Author, Store, audit, is_unique_violation};
use crate::domain::audit::Event;
use crate::domain::page::{Page, PageRequest};
use crate::domain::project_user::{self, Member, ProjectRole, ProjectUser};
use crate::domain::{Error, Result, ids};

/// Members of an active project: the reads check the project in the same query, and look it up
/// on its own only when they find nothing, to tell which 404 (or archived) it is.
const SELECT_MEMBER: &str = "SELECT u.id, u.name, u.email, pu.role, pu.added_at \
     FROM project_users pu JOIN users u ON u.id = pu.user_id \
     JOIN projects p ON p.id = pu.project_id AND p.archived_at IS NULL";

impl Store {
    /// Members in the order they were added; `after` is a user id.
    pub async fn list_project_users(
        &self,
        org_id: &str,
        project_id: &str,
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
        project_id: &str,
        user_id: &str,
    ) -> Result<ProjectUser> {
        let found = find_member(&self.read, org_id, project_id, user_id).await?;
        let project = async { self.get_project(org_id, project_id).await?.check_active() };
        Store::found_or(found, project, || not_a_member(user_id)).await
    }

    /// Adds an organization user to a project.
    pub async fn add_project_user(
        &self,
        author: &Author,
        project_id: &str,
        member: &Member,
        role: ProjectRole,
    ) -> Result<ProjectUser> {
        let now = self.clock.now();
        transact!(self, |conn| {
            share_project(conn, self.backend, &author.org_id, project_id)
                .await?
                .check_active()?;
            let user = resolve(conn, &author.org_id, member).await?;
            sqlx::query(
                "INSERT INTO project_users (id, org_id, project_id, user_id, role, added_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(ids::new_id(ids::PROJECT_USER))
            .bind(author.org_id.clone())
            .bind(project_id.to_owned())
            .bind(user.id.clone())
            .bind(role.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    Error::invalid(format!("User '{}' is already a member of project '{project_id}'.", user.id), "user_id")
                } else {
                    e.into()
                }
            })?;
            let event = Event::new(
                "user.added",
                &user.id,
                json!({"id": user.id, "data": {"role": role.as_str()}}),
            )
            .in_project(project_id);
            audit::record(conn, author, event, now).await?;
            Ok(ProjectUser {
                id: user.id,
                name: user.name,
                email: user.email,
                role: role.as_str().to_owned(),
                added_at: now,
            })
        })
    }

    pub async fn modify_project_user(
        &self,
        author: &Author,
        project_id: &str,
        user_id: &str,
        role: ProjectRole,
    ) -> Result<ProjectUser> {
        let now = self.clock.now();
        transact!(self, |conn| {
            let current = member_losing_ownership(
                self,
                conn,
                author,
                project_id,
                user_id,
                role != ProjectRole::Owner,
            )
            .await?;
            sqlx::query(
                "UPDATE project_users SET role = $1 WHERE project_id = $2 AND user_id = $3",
            )
            .bind(role.as_str())
            .bind(project_id.to_owned())
            .bind(user_id.to_owned())
            .execute(&mut *conn)
            .await?;
            let details = json!({"id": user_id, "changes_requested": {"role": role.as_str()}});
            audit::record(
                conn,
                author,
                Event::new("user.updated", user_id, details).in_project(project_id),
                now,
            )
            .await?;
            Ok(ProjectUser {
                role: role.as_str().to_owned(),
                ..current
            })
        })
    }

    pub async fn remove_project_user(
        &self,
        author: &Author,
        project_id: &str,
        user_id: &str,
    ) -> Result<()> {
        let now = self.clock.now();
        transact!(self, |conn| {
            member_losing_ownership(self, conn, author, project_id, user_id, true).await?;
            sqlx::query("DELETE FROM project_users WHERE project_id = $1 AND user_id = $2")
                .bind(project_id.to_owned())
                .bind(user_id.to_owned())
                .execute(&mut *conn)
                .await?;
            audit::record(
                conn,
                author,
                Event::new("user.deleted", user_id, json!({"id": user_id})).in_project(project_id),
                now,
            )
            .await
        })
    }
}

async fn find_member<'c, E>(
    executor: E,
    org_id: &str,
    project_id: &str,
    user_id: &str,
) -> Result<Option<ProjectUser>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT_MEMBER} WHERE pu.org_id = $1 AND pu.project_id = $2 AND pu.user_id = $3"
    )))
    .bind(org_id.to_owned())
    .bind(project_id.to_owned())
    .bind(user_id.to_owned())
    .fetch_optional(executor)
    .await?)
}

/// The organization user a request names; only organization users can join a project.
async fn resolve(
    conn: &mut AnyConnection,
    org_id: &str,
    member: &Member,
) -> Result<crate::domain::user::User> {
    let not_in_org = |param: &'static str| {
        Error::invalid(
            "Users must already be members of the organization to be added to a project.",
            param,
        )
    };
    match member {
        Member::Id(user_id) => find_user(&mut *conn, org_id, user_id)
            .await?
            .ok_or_else(|| not_in_org("user_id")),
        Member::Email(email) => find_user_by_email(conn, org_id, email)
            .await?
            .ok_or_else(|| not_in_org("email")),
        Member::Both { user_id, email } => {
            let user = find_user(&mut *conn, org_id, user_id)
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

/// In a change to one member of an active project: finds the member, and refuses the change if
/// it takes away (`loses_ownership`) the project's last owner. A change that can take ownership
/// away locks the project outright, so that two of them count the owners one after the other;
/// any other change only share-locks it, and runs alongside others. (Share-locking first and
/// locking outright on finding an owner deadlocks under concurrent removals.)
async fn member_losing_ownership(
    store: &Store,
    conn: &mut AnyConnection,
    author: &Author,
    project_id: &str,
    user_id: &str,
    loses_ownership: bool,
) -> Result<ProjectUser> {
    let project = if loses_ownership {
        lock_project(conn, store.backend, &author.org_id, project_id).await?
    } else {
        share_project(conn, store.backend, &author.org_id, project_id).await?
    };
    project.check_active()?;
    let current = find_member(&mut *conn, &author.org_id, project_id, user_id)
        .await?
        .ok_or_else(|| not_a_member(user_id))?;
    if current.is_owner() && loses_ownership {
        let owners = count_project_owners(conn, project_id).await?;
        project_user::check_keeps_an_owner(owners, owners - 1)?;
    }
    Ok(current)
}

async fn count_project_owners(conn: &mut AnyConnection, project_id: &str) -> Result<i64> {
    let (owners,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM project_users WHERE project_id = $1 AND role = 'owner'",
    )
    .bind(project_id.to_owned())
    .fetch_one(conn)
    .await?;
    Ok(owners)
}

fn not_a_member(user_id: &str) -> Error {
    Error::NotFound {
        message: format!("User '{user_id}' is not a member of this project."),
        param: Some("user_id"),
    }
}
