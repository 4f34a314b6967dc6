//! Admin API keys: authentication, and the four operations of the contract.

use std::time::Duration;

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::tx::SELECT_KEY;
use super::{Author, Store};
use crate::domain::admin_key::AdminApiKey;
use crate::domain::audit::Event;
use crate::domain::ids::AdminApiKeyId;
use crate::domain::page::{Page, PageRequest};
use crate::domain::principal::Principal;
use crate::domain::{Error, Result};

/// How stale `last_used_at` may get before a request refreshes it: a write a minute per key
/// at most, instead of one on every request.
pub const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

/// How long an authenticated key is trusted without a lookup. A key deleted through this
/// process is refused at once (its deletion clears the cache); deleted through another replica
/// of one database, within this long. The same holds for a key whose owner is demoted or
/// deleted.
const KEY_CACHE_TTL: Duration = Duration::from_millis(500);
/// Keys remembered at most; beyond, the cache starts afresh.
pub(super) const KEY_CACHE_CAPACITY: usize = 10_000;

impl Store {
    /// The caller behind a key digest: a cache hit, or one lookup of a unique index. Expiry is
    /// the caller's check.
    pub async fn authenticate(&self, digest: &str) -> Result<Option<Principal>> {
        let miss = match self.keys.get(digest) {
            Ok(principal) => {
                crate::telemetry::cache_lookup("admin_keys", true);
                return Ok(Some(principal));
            }
            Err(miss) => miss,
        };
        crate::telemetry::cache_lookup("admin_keys", false);
        let found = self.lookup_key(digest).await?;
        // Only keys that authenticated are kept: an unknown key is looked up every time.
        if let Some(principal) = &found {
            self.keys
                .put(digest, principal.clone(), KEY_CACHE_TTL, miss);
        }
        Ok(found)
    }

    async fn lookup_key(&self, digest: &str) -> Result<Option<Principal>> {
        db::query(
            "SELECT k.org_id, o.default_project_id, k.id AS key_id, k.digest AS key_digest, k.expires_at, k.last_used_at, \
             u.id AS user_id, u.email AS user_email, u.role AS user_role, u.active AS user_active \
             FROM admin_api_keys k JOIN users u ON u.id = k.owner_user_id JOIN organizations o ON o.id = k.org_id \
             WHERE k.digest = $1",
        )
        .bind(digest.to_owned())
        .fetch_optional(&self.db)
        .await
    }

    /// Records that a key was used, if its `last_used_at` is older than the granularity.
    pub async fn touch_admin_key(&self, principal: &Principal, now: i64) -> Result<()> {
        if principal
            .last_used_at
            .is_some_and(|at| now - at < LAST_USED_GRANULARITY_SECONDS)
        {
            return Ok(());
        }
        let touch = db::query("UPDATE admin_api_keys SET last_used_at = $1 WHERE id = $2")
            .bind(now)
            .bind(principal.key_id.clone());
        self.write_once(touch).await?;
        self.keys.update(&principal.key_digest, |cached| {
            cached.last_used_at = Some(now)
        });
        Ok(())
    }

    pub async fn list_admin_keys(
        &self,
        org_id: &str,
        page: &PageRequest,
    ) -> Result<Page<AdminApiKey>> {
        let mut sql = Sql::new(SELECT_KEY);
        sql.push(" WHERE k.org_id = ").bind(org_id.to_owned());
        sql.keyset("k.id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_admin_key(&self, org_id: &str, key_id: &AdminApiKeyId) -> Result<AdminApiKey> {
        db::query(format!("{SELECT_KEY} WHERE k.org_id = $1 AND k.id = $2"))
            .bind(org_id.to_owned())
            .bind(key_id.to_owned())
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| Error::not_found("admin API key", key_id, "key_id"))
    }

    /// Creates a key owned by `owner_user_id`; returns it and its value, which is shown once.
    pub async fn create_admin_key(
        &self,
        author: &Author,
        owner_user_id: &str,
        name: Option<&str>,
        expires_at: Option<i64>,
    ) -> Result<(AdminApiKey, String)> {
        transact!(self, author, |tx| {
            tx.insert_admin_key(owner_user_id, name, expires_at, None)
                .await
        })
    }

    /// Deletes a key; it is refused from the next request on.
    pub async fn delete_admin_key(&self, author: &Author, key_id: &AdminApiKeyId) -> Result<()> {
        let deleted = transact!(self, author, |tx| {
            let deleted = db::query("DELETE FROM admin_api_keys WHERE org_id = $1 AND id = $2")
                .bind(author.org_id.clone())
                .bind(key_id.to_owned())
                .execute(&mut *tx.conn)
                .await?;
            if deleted == 0 {
                return Err(Error::not_found("admin API key", key_id, "key_id"));
            }
            tx.record(Event::new("api_key.deleted", key_id, json!({"id": key_id})))
                .await
        });
        // After the commit: a lookup between a clear and the commit could cache the key anew.
        self.keys.clear();
        deleted
    }
}
