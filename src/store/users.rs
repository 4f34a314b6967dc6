//! Organization users: list, retrieve, change role, delete.

use serde_json::json;
use sqlx::{AnyConnection, AssertSqlSafe};

use super::sql::Sql;
use super::{Author, Backend, Store, audit};
use crate::domain::audit::Event;
use crate::domain::page::{Page, PageRequest};
use crate::domain::user::{self, OrgRole, User};
use crate::domain::{Error, Result};

const SELECT_USER: &str = "SELECT u.id, u.email, u.name, u.role, u.added_at FROM users u";

impl Store {
    /// Users in the order they joined, optionally only those with one of `emails`.
    pub async fn list_users(
        &self,
        org_id: &str,
        page: &PageRequest,
        emails: &[String],
    ) -> Result<Page<User>> {
        let mut sql = Sql::new(SELECT_USER);
        sql.push(" WHERE u.org_id = ").bind(org_id.to_owned());
        if !emails.is_empty() {
            sql.push(" AND u.email IN (");
            for (i, email) in emails.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.bind(email.trim().to_lowercase());
            }
            sql.push(")");
        }
        if let Some(after) = &page.after {
            sql.push(" AND u.id > ").bind(after.clone());
        }
        sql.push(" ORDER BY u.id LIMIT ").bind(page.limit + 1);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_user(&self, org_id: &str, user_id: &str) -> Result<User> {
        find_user(&self.read, org_id, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id, "user_id"))
    }

    pub async fn modify_user_role(
        &self,
        author: &Author,
        user_id: &str,
        role: OrgRole,
    ) -> Result<User> {
        let now = self.clock.now();
        let modified = transact!(self, |conn| {
            lock_organization(conn, self.backend, &author.org_id).await?;
            let current = find_user(&mut *conn, &author.org_id, user_id)
                .await?
                .ok_or_else(|| Error::not_found("user", user_id, "user_id"))?;
            if current.is_owner() && role != OrgRole::Owner {
                user::check_keeps_an_owner(
                    count_owners(conn, &author.org_id).await? - 1,
                    "Demoting this user",
                )?;
            }
            sqlx::query("UPDATE users SET role = $1 WHERE org_id = $2 AND id = $3")
                .bind(role.as_str())
                .bind(author.org_id.clone())
                .bind(user_id.to_owned())
                .execute(&mut *conn)
                .await?;
            let details = json!({"id": user_id, "changes_requested": {"role": role.as_str()}});
            audit::record(
                conn,
                author,
                Event::new("user.updated", user_id, details),
                now,
            )
            .await?;
            Ok(User {
                role: role.as_str().to_owned(),
                ..current
            })
        });
        // A demoted owner's admin keys stop working: forget the cached ones (after the commit, as
        // for a deleted key).
        self.keys.clear();
        modified
    }

    /// Deletes a user with her project memberships and the admin keys she owns, in one transaction.
    pub async fn delete_user(&self, author: &Author, user_id: &str) -> Result<()> {
        let now = self.clock.now();
        let deleted = transact!(self, |conn| {
            lock_organization(conn, self.backend, &author.org_id).await?;
            let current = find_user(&mut *conn, &author.org_id, user_id)
                .await?
                .ok_or_else(|| Error::not_found("user", user_id, "user_id"))?;
            if current.is_owner() {
                user::check_keeps_an_owner(
                    count_owners(conn, &author.org_id).await? - 1,
                    "Deleting this user",
                )?;
            }
            // Memberships and admin keys go by ON DELETE CASCADE, in this same transaction.
            sqlx::query("DELETE FROM users WHERE org_id = $1 AND id = $2")
                .bind(author.org_id.clone())
                .bind(user_id.to_owned())
                .execute(&mut *conn)
                .await?;
            audit::record(
                conn,
                author,
                Event::new("user.deleted", user_id, json!({"id": user_id})),
                now,
            )
            .await
        });
        // Her admin keys went with her: forget them (after the commit, as for a deleted key).
        self.keys.clear();
        deleted
    }
}

pub(super) async fn find_user<'c, E>(
    executor: E,
    org_id: &str,
    user_id: &str,
) -> Result<Option<User>>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT_USER} WHERE u.org_id = $1 AND u.id = $2"
    )))
    .bind(org_id.to_owned())
    .bind(user_id.to_owned())
    .fetch_optional(executor)
    .await?)
}

pub(super) async fn find_user_by_email(
    conn: &mut AnyConnection,
    org_id: &str,
    email: &str,
) -> Result<Option<User>> {
    Ok(sqlx::query_as(AssertSqlSafe(format!(
        "{SELECT_USER} WHERE u.org_id = $1 AND u.email = $2"
    )))
    .bind(org_id.to_owned())
    .bind(email.to_owned())
    .fetch_optional(conn)
    .await?)
}

/// Locks the organization's row: changes to who owns it take turns, so that two concurrent
/// demotions cannot both see another owner left.
async fn lock_organization(conn: &mut AnyConnection, backend: Backend, org_id: &str) -> Result<()> {
    sqlx::query(AssertSqlSafe(format!(
        "SELECT o.id FROM organizations o WHERE o.id = $1{}",
        backend.for_update_of("o")
    )))
    .bind(org_id.to_owned())
    .execute(conn)
    .await?;
    Ok(())
}

async fn count_owners(conn: &mut AnyConnection, org_id: &str) -> Result<i64> {
    let (owners,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM users WHERE org_id = $1 AND role = 'owner'")
            .bind(org_id.to_owned())
            .fetch_one(conn)
            .await?;
    Ok(owners)
}
