//! Service accounts and project API keys, and verifying a project key.

use serde_json::json;

use super::db;
use super::sql::{OWNER_HAS_ACCESS, Sql};
use super::tx::Tx;
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::page::{Page, PageRequest};
use crate::domain::project::Project;
use crate::domain::project_key::{NO_ROLE, ProjectApiKey, ServiceAccount, ServiceAccountRole};
use crate::domain::{Error, Result, ids, secret};

const SELECT_ACCOUNT: &str = "SELECT s.id, s.name, s.role, s.created_at FROM service_accounts s";
const SELECT_KEY: &str = "SELECT k.id, k.project_id, k.name, k.redacted_value, k.created_at, k.last_used_at, k.expires_at, \
    k.user_id, u.email AS user_email, u.name AS user_name, u.added_at AS user_added_at, pu.role AS member_role, \
    k.service_account_id, s.name AS service_account_name, s.role AS service_account_role, s.created_at AS service_account_created_at \
    FROM project_api_keys k LEFT JOIN users u ON u.id = k.user_id \
    LEFT JOIN project_users pu ON pu.project_id = k.project_id AND pu.user_id = k.user_id \
    LEFT JOIN service_accounts s ON s.id = k.service_account_id";

/// Who a new key belongs to.
#[derive(Clone, Debug)]
pub enum KeyOwner {
    User(String),
    ServiceAccount(String),
}

/// What a new key is: its name, lifetime and scopes, already validated.
#[derive(Clone, Debug)]
pub struct NewKey {
    pub name: String,
    pub expires_at: Option<i64>,
    pub scopes: Vec<String>,
}

/// A key just made: its id, name and creation time, and its value, shown once.
#[derive(Clone, Debug)]
pub struct CreatedKey {
    pub id: String,
    pub name: String,
    pub created_at: i64,
    pub value: String,
}

/// Which keys a list shows, by whether their owner has access to the project.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OwnerAccess {
    Active,
    Inactive,
    #[default]
    Any,
}

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

async fn insert_key(
    tx: &mut Tx<'_>,
    project_id: &str,
    owner: &KeyOwner,
    key: &NewKey,
) -> Result<CreatedKey> {
    let (prefix, user_id, account_id) = match owner {
        KeyOwner::User(id) => (secret::USER_KEY_PREFIX, Some(id.clone()), None),
        KeyOwner::ServiceAccount(id) => {
            (secret::SERVICE_ACCOUNT_KEY_PREFIX, None, Some(id.clone()))
        }
    };
    let value = secret::generate(prefix);
    let id = ids::new_id(ids::ADMIN_API_KEY);
    db::query(
        "INSERT INTO project_api_keys (id, org_id, project_id, name, digest, redacted_value, scopes, created_at, expires_at, user_id, service_account_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(id.clone())
    .bind(tx.org_id()?)
    .bind(project_id.to_owned())
    .bind(key.name.clone())
    .bind(secret::digest(&value))
    .bind(secret::redact(&value))
    .bind(serde_json::to_string(&key.scopes).unwrap_or_else(|_| "[]".into()))
    .bind(tx.now)
    .bind(key.expires_at)
    .bind(user_id)
    .bind(account_id)
    .execute(&mut *tx.conn)
    .await?;
    let details = json!({"id": id, "data": {"scopes": key.scopes}});
    let event = Event::new("api_key.created", &id, details).in_project(project_id);
    tx.record(event).await?;
    Ok(CreatedKey {
        id,
        name: key.name.clone(),
        created_at: tx.now,
        value,
    })
}

async fn lock_account(
    tx: &mut Tx<'_>,
    project_id: &str,
    account_id: &str,
) -> Result<ServiceAccount> {
    db::query(format!(
        "{SELECT_ACCOUNT} WHERE s.org_id = $1 AND s.project_id = $2 AND s.id = $3{}",
        tx.backend.for_update_of("s")
    ))
    .bind(tx.org_id()?)
    .bind(project_id.to_owned())
    .bind(account_id.to_owned())
    .fetch_optional(&mut *tx.conn)
    .await?
    .ok_or_else(|| Error::not_found("service account", account_id, "service_account_id"))
}

impl Store {
    pub async fn list_service_accounts(
        &self,
        org_id: &str,
        project_id: &str,
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
        project_id: &str,
        account_id: &str,
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
        project_id: &str,
        name: &str,
        without_key: bool,
        first_key_expires_at: Option<i64>,
    ) -> Result<(ServiceAccount, Option<CreatedKey>)> {
        transact!(self, author, |tx| {
            let account = ServiceAccount {
                id: ids::new_id(ids::SERVICE_ACCOUNT),
                name: name.to_owned(),
                role: if without_key {
                    NO_ROLE
                } else {
                    ServiceAccountRole::Member.as_str()
                }
                .to_owned(),
                created_at: tx.now,
            };
            lock_project_for_accounts(tx, project_id).await?;
            db::query("INSERT INTO service_accounts (id, org_id, project_id, name, role, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(account.id.clone())
                .bind(author.org_id.clone())
                .bind(project_id.to_owned())
                .bind(account.name.clone())
                .bind(account.role.clone())
                .bind(tx.now)
                .execute(&mut *tx.conn)
                .await?;
            let details = json!({"id": account.id, "data": {"role": account.role}});
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
                Some(insert_key(tx, project_id, &owner, &first).await?)
            };
            Ok((account, key))
        })
    }

    pub async fn update_service_account(
        &self,
        author: &Author,
        project_id: &str,
        account_id: &str,
        name: Option<&str>,
        role: Option<ServiceAccountRole>,
    ) -> Result<ServiceAccount> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let mut account = lock_account(tx, project_id, account_id).await?;
            let mut requested = serde_json::Map::new();
            if let Some(name) = name {
                account.name = name.to_owned();
                requested.insert("name".into(), json!(name));
            }
            if let Some(role) = role {
                account.role = role.as_str().to_owned();
                requested.insert("role".into(), json!(role.as_str()));
            }
            db::query("UPDATE service_accounts SET name = $1, role = $2 WHERE id = $3")
                .bind(account.name.clone())
                .bind(account.role.clone())
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
        project_id: &str,
        account_id: &str,
    ) -> Result<()> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id).await?;
            let account = lock_account(tx, project_id, account_id).await?;
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

    /// A new key for a service account, or (Roster's addition) for a member of the project.
    pub async fn create_project_key(
        &self,
        author: &Author,
        project_id: &str,
        owner: &KeyOwner,
        key: &NewKey,
    ) -> Result<CreatedKey> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            match owner {
                KeyOwner::ServiceAccount(id) => {
                    lock_account(tx, project_id, id).await?;
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
            insert_key(tx, project_id, owner, key).await
        })
    }

    pub async fn list_project_keys(
        &self,
        org_id: &str,
        project_id: &str,
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
        project_id: &str,
        key_id: &str,
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
        project_id: &str,
        key_id: &str,
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
        project_id: &str,
        key_id: &str,
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
