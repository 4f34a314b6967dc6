//! Project API keys: of a project's service accounts, and (Roster's addition) of its members.

use serde_json::json;

use super::db;
use super::sql::{OWNER_HAS_ACCESS, Sql};
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::{ProjectApiKeyId, ProjectId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::project_key::{CreatedKey, KeyOwner, NewKey, OwnerAccess, ProjectApiKey};
use crate::domain::{Error, Result};

const SELECT_KEY: &str = "SELECT k.id, k.project_id, k.name, k.redacted_value, k.created_at, k.last_used_at, k.expires_at, \
    k.user_id, u.email AS user_email, u.name AS user_name, u.added_at AS user_added_at, u.active AS user_active, pu.role AS member_role, \
    k.service_account_id, s.name AS service_account_name, s.role AS service_account_role, s.created_at AS service_account_created_at \
    FROM project_api_keys k LEFT JOIN users u ON u.id = k.user_id \
    LEFT JOIN project_users pu ON pu.project_id = k.project_id AND pu.user_id = k.user_id \
    LEFT JOIN service_accounts s ON s.id = k.service_account_id";

impl Store {
    /// A new key for a service account, or (Roster's addition) for a member of the project.
    pub async fn create_project_key(
        &self,
        author: &Author,
        project_id: &ProjectId,
        owner: &KeyOwner,
        key: &NewKey,
    ) -> Result<CreatedKey> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            match owner {
                KeyOwner::ServiceAccount(id) => {
                    tx.lock_service_account(project_id, id).await?;
                }
                KeyOwner::User(id) => {
                    let member: Option<(String,)> = db::query(
                        "SELECT pu.user_id FROM project_users pu WHERE pu.project_id = $1 AND pu.user_id = $2",
                    )
                    .bind(project_id.to_owned())
                    .bind(id.clone())
                    .fetch_optional(&mut *tx.conn)
                    .await?;
                    if member.is_none() {
                        return Err(Error::invalid(
                            format!("User '{id}' is not a member of project '{project_id}'."),
                            "user_id",
                        ));
                    }
                }
            }
            tx.insert_project_key(project_id, owner, key, None).await
        })
    }

    pub async fn list_project_keys(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        page: &PageRequest,
        access: OwnerAccess,
    ) -> Result<Page<ProjectApiKey>> {
        self.get_project(org_id, project_id).await?;
        let mut sql = Sql::new(SELECT_KEY);
        sql.push(" WHERE k.project_id = ")
            .bind(project_id.to_owned());
        match access {
            OwnerAccess::Active => sql.push(&format!(" AND {OWNER_HAS_ACCESS}")),
            OwnerAccess::Inactive => sql.push(&format!(" AND NOT {OWNER_HAS_ACCESS}")),
            OwnerAccess::Any => &mut sql,
        };
        sql.keyset("k.id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_project_key(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        key_id: &ProjectApiKeyId,
    ) -> Result<ProjectApiKey> {
        let found = db::query(format!(
            "{SELECT_KEY} WHERE k.org_id = $1 AND k.project_id = $2 AND k.id = $3"
        ))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .bind(key_id.to_owned())
        .fetch_optional(&self.db)
        .await?;
        Store::found_or(found, self.get_project(org_id, project_id), || {
            Error::not_found("API key", key_id, "api_key_id")
        })
        .await
    }

    /// Changes a key's lifetime or scopes (the SDKs' `api_keys.update`).
    pub async fn update_project_key(
        &self,
        author: &Author,
        project_id: &ProjectId,
        key_id: &ProjectApiKeyId,
        expires_at: Option<i64>,
        scopes: Option<&[String]>,
    ) -> Result<ProjectApiKey> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let mut sql = Sql::new("UPDATE project_api_keys SET id = id");
            let mut requested = serde_json::Map::new();
            if let Some(at) = expires_at {
                sql.push(", expires_at = ").bind(at);
                requested.insert("expires_at".into(), json!(at));
            }
            if let Some(scopes) = scopes {
                sql.push(", scopes = ")
                    .bind(serde_json::to_string(scopes).unwrap_or_else(|_| "[]".into()));
                requested.insert("scopes".into(), json!(scopes));
            }
            sql.push(" WHERE project_id = ").bind(project_id.to_owned());
            sql.push(" AND id = ").bind(key_id.to_owned());
            let query = sql.build();
            let updated = query.execute(&mut *tx.conn).await?;
            if updated == 0 {
                return Err(Error::not_found("API key", key_id, "api_key_id"));
            }
            let details = json!({"id": key_id, "changes_requested": requested});
            let event = Event::new("api_key.updated", key_id, details).in_project(project_id);
            tx.record(event).await?;
            db::query(format!(
                "{SELECT_KEY} WHERE k.project_id = $1 AND k.id = $2"
            ))
            .bind(project_id.to_owned())
            .bind(key_id.to_owned())
            .fetch_one(&mut *tx.conn)
            .await
        })
    }

    /// Deletes a user's key. A service account's keys go with the account, not one by one, as
    /// the contract says.
    pub async fn delete_project_key(
        &self,
        author: &Author,
        project_id: &ProjectId,
        key_id: &ProjectApiKeyId,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id).await?;
            let owner: Option<(Option<String>,)> = db::query(format!(
                "SELECT k.service_account_id FROM project_api_keys k WHERE k.project_id = $1 AND k.id = $2{}",
                self.backend.for_update_of("k")
            ))
            .bind(project_id.to_owned())
            .bind(key_id.to_owned())
            .fetch_optional(&mut *tx.conn)
            .await?;
            match owner {
                None => return Err(Error::not_found("API key", key_id, "api_key_id")),
                Some((Some(account),)) => {
                    return Err(Error::invalid(
                        format!(
                            "API key '{key_id}' belongs to service account '{account}'; delete the service account instead."
                        ),
                        "api_key_id",
                    ));
                }
                Some((None,)) => {}
            }
            db::query("DELETE FROM project_api_keys WHERE id = $1")
                .bind(key_id.to_owned())
                .execute(&mut *tx.conn)
                .await?;
            let event =
                Event::new("api_key.deleted", key_id, json!({"id": key_id})).in_project(project_id);
            tx.record(event).await
        })
    }
}
