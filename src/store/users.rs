//! Organization users: list, retrieve, change role, delete.

use super::db;
use super::sql::Sql;
use super::tx::{SELECT_USER, find_user};
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::UserId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::scim::{Precondition, changed_since};
use crate::domain::user::{OrgRole, User};
use crate::domain::{Error, Result, name};
use serde_json::json;

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
                sql.bind(name::folded(email.trim()));
            }
            sql.push(")");
        }
        if let Some(after) = &page.after {
            sql.push(" AND u.id > ").bind(after.clone());
        }
        sql.push(" ORDER BY u.id LIMIT ").bind(page.limit + 1);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_user(&self, org_id: &str, user_id: &UserId) -> Result<User> {
        find_user(&self.db, org_id, user_id)
            .await?
            .ok_or_else(|| Error::not_found("user", user_id, "user_id"))
    }

    pub async fn modify_user_role(
        &self,
        author: &Author,
        user_id: &UserId,
        role: OrgRole,
    ) -> Result<User> {
        let modified = transact!(self, author, |tx| {
            tx.refuse_scim_managed_user(user_id).await?;
            tx.set_user_role(user_id, role).await
        });
        // A demoted owner's admin keys stop working: forget the cached ones (after the commit, as
        // for a deleted key).
        self.keys.clear();
        modified
    }

    /// Deletes a user with her project memberships and the admin keys she owns, in one
    /// transaction: through the Admin API (`through_scim` `None`) not one SCIM manages; through
    /// SCIM only if its precondition holds for her version.
    pub async fn delete_user(
        &self,
        author: &Author,
        user_id: &UserId,
        through_scim: Option<&Precondition>,
    ) -> Result<()> {
        let deleted = transact!(self, author, |tx| {
            if through_scim.is_none() {
                tx.refuse_scim_managed_user(user_id).await?;
            }
            tx.user_losing_ownership(user_id, true, "Deleting this user")
                .await?;
            // Memberships and admin keys go by ON DELETE CASCADE, in this same transaction.
            let deleted: Option<(i64,)> =
                db::query("DELETE FROM users WHERE org_id = $1 AND id = $2 RETURNING version")
                    .bind(author.org_id.clone())
                    .bind(user_id.to_owned())
                    .fetch_optional(&mut *tx.conn)
                    .await?;
            // SCIM's If-Match and If-None-Match: a deletion they refuse rolls back.
            if let (Some(precondition), Some((version,))) = (through_scim, deleted)
                && !precondition.holds(version)
            {
                return Err(changed_since("User", user_id, version));
            }
            tx.record(Event::new("user.deleted", user_id, json!({"id": user_id})))
                .await
        });
        // Her admin keys went with her: forget them (after the commit, as for a deleted key).
        self.keys.clear();
        deleted
    }
}
