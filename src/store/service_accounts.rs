//! Service accounts: a project's machine identities.

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::tx::{SELECT_ACCOUNT, Tx};
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::{ProjectId, ServiceAccountId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::project::Project;
use crate::domain::project_key::{
    CreatedKey, KeyOwner, NewKey, ServiceAccount, ServiceAccountRole,
};
use crate::domain::{Error, Result, ids};

/// Inside a transaction: the project, locked, active and not the default project.
async fn lock_project_for_accounts(tx: &mut Tx<'_>, project_id: &str) -> Result<Project> {
    let project = tx.lock_project(&tx.org_id()?, project_id).await?;
    project.check_active()?;
    if project.is_default() {
        return Err(Error::invalid(
            "The default project cannot have service accounts; create them in another project.",
            "project_id",
        ));
    }
    Ok(project)
}

impl Store {
    pub async fn list_service_accounts(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        page: &PageRequest,
    ) -> Result<Page<ServiceAccount>> {
        self.get_project(org_id, project_id).await?.check_active()?;
        let mut sql = Sql::new(SELECT_ACCOUNT);
        sql.push(" WHERE s.project_id = ")
            .bind(project_id.to_owned());
        sql.keyset("s.id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_service_account(
        &self,
        org_id: &str,
        project_id: &ProjectId,
        account_id: &ServiceAccountId,
    ) -> Result<ServiceAccount> {
        let found = db::query(format!(
            "{SELECT_ACCOUNT} WHERE s.org_id = $1 AND s.project_id = $2 AND s.id = $3"
        ))
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .bind(account_id.to_owned())
        .fetch_optional(&self.db)
        .await?;
        Store::found_or(found, self.get_project(org_id, project_id), || {
            Error::not_found("service account", account_id, "service_account_id")
        })
        .await
    }

    /// Creates a service account with role `member` and a first key, or, `without_key`, with
    /// no role and no key (`create_service_account_only`).
    pub async fn create_service_account(
        &self,
        author: &Author,
        project_id: &ProjectId,
        name: &str,
        without_key: bool,
        first_key_expires_at: Option<i64>,
    ) -> Result<(ServiceAccount, Option<CreatedKey>)> {
        transact!(self, author, |tx| {
            let account = ServiceAccount {
                id: ids::new_id(ids::SERVICE_ACCOUNT),
                name: name.to_owned(),
                role: if without_key {
                    ServiceAccountRole::None
                } else {
                    ServiceAccountRole::Member
                },
                created_at: tx.now,
            };
            lock_project_for_accounts(tx, project_id).await?;
            tx.insert_service_account(&author.org_id, project_id, &account)
                .await?;
            let details = json!({"id": account.id, "data": {"role": account.role.as_str()}});
            let event =
                Event::new("service_account.created", &account.id, details).in_project(project_id);
            tx.record(event).await?;
            let key = if without_key {
                None
            } else {
                let first = NewKey {
                    name: "Secret Key".into(),
                    expires_at: first_key_expires_at,
                    scopes: Vec::new(),
                };
                let owner = KeyOwner::ServiceAccount(account.id.clone());
                Some(
                    tx.insert_project_key(project_id, &owner, &first, None)
                        .await?,
                )
            };
            Ok((account, key))
        })
    }

    pub async fn update_service_account(
        &self,
        author: &Author,
        project_id: &ProjectId,
        account_id: &ServiceAccountId,
        name: Option<&str>,
        role: Option<ServiceAccountRole>,
    ) -> Result<ServiceAccount> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let mut account = tx.lock_service_account(project_id, account_id).await?;
            let mut requested = serde_json::Map::new();
            if let Some(name) = name {
                account.name = name.to_owned();
                requested.insert("name".into(), json!(name));
            }
            if let Some(role) = role {
                account.role = role;
                requested.insert("role".into(), json!(role.as_str()));
            }
            db::query("UPDATE service_accounts SET name = $1, role = $2 WHERE id = $3")
                .bind(account.name.clone())
                .bind(account.role.as_str())
                .bind(account.id.clone())
                .execute(&mut *tx.conn)
                .await?;
            let details = json!({"id": account.id, "changes_requested": requested});
            let event =
                Event::new("service_account.updated", &account.id, details).in_project(project_id);
            tx.record(event).await?;
            Ok(account)
        })
    }

    /// Deletes a service account; its keys go with it and stop verifying at once.
    pub async fn delete_service_account(
        &self,
        author: &Author,
        project_id: &ProjectId,
        account_id: &ServiceAccountId,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id).await?;
            let account = tx.lock_service_account(project_id, account_id).await?;
            db::query("DELETE FROM service_accounts WHERE id = $1")
                .bind(account.id.clone())
                .execute(&mut *tx.conn)
                .await?;
            let event = Event::new(
                "service_account.deleted",
                &account.id,
                json!({"id": account.id}),
            )
            .in_project(project_id);
            tx.record(event).await
        })
    }
}
