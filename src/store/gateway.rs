//! What a gateway check needs of a key, in one query, and a per-replica cache in front of it so
//! that most checks touch no database. Every committed change that may change a decision clears
//! the cache (`transact!`), so a change takes effect at once on the replica that made it; other
//! replicas notice within `DECISION_CACHE_TTL`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use super::Store;
use super::db;
use super::sql::OWNER_HAS_ACCESS;
use crate::domain::Result;
use crate::domain::certificate;
use crate::domain::gateway::{self, KeyFacts, Owner};
use crate::domain::policy::Policies;
use crate::domain::role::Grant;

/// How long a replica trusts what it loaded for a key that verified: the bound on how late
/// another replica's change (a key deleted, a member removed, a role changed) reaches it.
pub const DECISION_CACHE_TTL: Duration = Duration::from_millis(500);
/// How long it remembers that a key did not verify: briefly, so that a key just made through
/// another replica works there soon.
const REFUSAL_CACHE_TTL: Duration = Duration::from_millis(250);
/// Keys remembered at most (about a kilobyte each, so a few megabytes): more than a replica
/// sees in one `DECISION_CACHE_TTL` but under a key storm. Beyond, the cache starts afresh.
pub(super) const DECISION_CACHE_CAPACITY: usize = 4_096;
/// How stale a key's `last_used_at` may get before a check refreshes it (in the background).
const LAST_USED_GRANULARITY_SECONDS: i64 = 60;

impl Store {
    /// What a check needs of the key with this digest: a cache hit, or one query. `None` when no
    /// such key verifies (unknown, its project archived, its owner without access). Expiry is the
    /// decision's, by the clock.
    pub async fn key_facts(&self, digest: &str) -> Result<Option<Arc<KeyFacts>>> {
        let miss = match self.decisions.get(digest) {
            Ok(facts) => {
                crate::telemetry::cache_lookup("gateway", true);
                return Ok(facts);
            }
            Err(miss) => miss,
        };
        crate::telemetry::cache_lookup("gateway", false);
        let facts = self.load_key_facts(digest).await?.map(Arc::new);
        let ttl = if facts.is_some() {
            DECISION_CACHE_TTL
        } else {
            REFUSAL_CACHE_TTL
        };
        self.decisions.put(digest, facts.clone(), ttl, miss);
        Ok(facts)
    }

    async fn load_key_facts(&self, digest: &str) -> Result<Option<KeyFacts>> {
        // Every role the owner holds that counts in the key's project, as one text of JSON
        // arrays, a line each: the organization role and the project role (or the service
        // account's), the custom roles assigned to her in the organization or the project, and
        // those of her groups there.
        let granted = self.backend.lines_of(
            "SELECT r.permissions FROM roles r WHERE r.resource_id = k.org_id AND r.predefined = 1 AND r.name = u.role \
             UNION ALL SELECT r.permissions FROM roles r WHERE r.resource_id = k.project_id AND r.predefined = 1 \
               AND r.name = COALESCE(pu.role, s.role) \
             UNION ALL SELECT r.permissions FROM role_assignments ra JOIN roles r ON r.id = ra.role_id \
               WHERE ra.principal_id = k.user_id AND ra.resource_id IN (k.org_id, k.project_id) \
             UNION ALL SELECT r.permissions FROM group_users gu \
               JOIN role_assignments ra ON ra.principal_id = gu.group_id AND ra.resource_id IN (k.org_id, k.project_id) \
               JOIN roles r ON r.id = ra.role_id WHERE gu.user_id = k.user_id",
            "permissions",
        );
        // The project's own rate limits, a model and its values a line.
        let rate_limits = self.backend.lines_of(
            "SELECT r.model || ' ' || r.limits AS line FROM project_rate_limits r WHERE r.project_id = k.project_id",
            "line",
        );
        // The certificates active in the key's organization or project, a PEM a line (its own
        // line breaks made `|`, which PEM never holds).
        let client_cas = self.backend.lines_of(
            "SELECT REPLACE(c.content, CHAR_NL, '|') AS pem FROM certificates c WHERE c.org_id = k.org_id \
             AND (c.active = 1 OR EXISTS (SELECT 1 FROM project_certificates pc \
               WHERE pc.certificate_id = c.id AND pc.project_id = k.project_id))",
            "pem",
        ).replace("CHAR_NL", "'\n'");
        let row: Option<KeyRow> = db::query(format!(
            "SELECT k.id AS key_id, k.name AS key_name, k.org_id, k.project_id, p.name AS project_name, \
             k.expires_at, k.last_used_at, k.scopes, k.user_id, u.email AS user_email, u.name AS user_name, \
             k.service_account_id, s.name AS service_account_name, ({granted}) AS granted, \
             pp.model_mode, pp.model_ids, pp.disabled_tools, ({rate_limits}) AS rate_limits, ({client_cas}) AS client_cas \
             FROM project_api_keys k JOIN projects p ON p.id = k.project_id \
             LEFT JOIN project_policies pp ON pp.project_id = k.project_id \
             LEFT JOIN service_accounts s ON s.id = k.service_account_id \
             LEFT JOIN project_users pu ON pu.project_id = k.project_id AND pu.user_id = k.user_id \
             LEFT JOIN users u ON u.id = k.user_id \
             WHERE k.digest = $1 AND p.archived_at IS NULL AND {OWNER_HAS_ACCESS}"
        ))
        .bind(digest.to_owned())
        .fetch_optional(&self.db)
        .await?;
        Ok(row.map(KeyRow::into_facts))
    }

    /// Notes that a key was used, at most once a minute per key. Never on the check's path:
    /// `record_key_uses` writes what was noted, in batches.
    pub fn key_used(&self, digest: &str, facts: &KeyFacts, now: i64) {
        if facts
            .last_used_at
            .is_some_and(|at| now - at < LAST_USED_GRANULARITY_SECONDS)
        {
            return;
        }
        self.decisions.update(digest, |cached| {
            if let Some(facts) = cached {
                Arc::make_mut(facts).last_used_at = Some(now);
            }
        });
        let mut uses = self.key_uses.lock().unwrap_or_else(|p| p.into_inner());
        // Past this many unwritten uses, more are dropped: last use is a hint, never a backlog.
        if uses.len() < MAX_PENDING_USES {
            uses.insert(facts.key_id.clone(), now);
        }
    }

    /// Writes the key uses noted since the last call: one statement (always the same text) per
    /// hundreds of keys, all in one transaction (one sync to disk). Not through `transact!`: a
    /// key's last use changes no decision, so the gateway cache stays.
    pub async fn record_key_uses(&self) -> Result<()> {
        let uses = std::mem::take(&mut *self.key_uses.lock().unwrap_or_else(|p| p.into_inner()));
        if uses.is_empty() {
            return Ok(());
        }
        let mut turn = self.db.begin().await?;
        let mut by_time: BTreeMap<i64, Vec<String>> = BTreeMap::new();
        for (key_id, at) in uses {
            by_time.entry(at).or_default().push(key_id);
        }
        let update = format!(
            "UPDATE project_api_keys SET last_used_at = $1 WHERE id IN ({})",
            self.backend.json_strings("$2")
        );
        for (at, keys) in by_time {
            for chunk in keys.chunks(500) {
                let ids = serde_json::to_string(chunk).unwrap_or_else(|_| "[]".into());
                db::query(update.as_str())
                    .bind(at)
                    .bind(ids)
                    .execute(turn.conn())
                    .await?;
            }
        }
        turn.commit().await?;
        Ok(())
    }
}

/// Key uses noted and not yet written, at most.
const MAX_PENDING_USES: usize = 100_000;

struct KeyRow {
    key_id: String,
    key_name: String,
    org_id: String,
    project_id: String,
    project_name: String,
    expires_at: Option<i64>,
    last_used_at: Option<i64>,
    scopes: String,
    user_id: Option<String>,
    user_email: Option<String>,
    user_name: Option<String>,
    service_account_id: Option<String>,
    service_account_name: Option<String>,
    granted: Option<String>,
    model_mode: Option<String>,
    model_ids: Option<String>,
    disabled_tools: Option<String>,
    rate_limits: Option<String>,
    client_cas: Option<String>,
}

db::from_row!(KeyRow {
    key_id,
    key_name,
    org_id,
    project_id,
    project_name,
    expires_at,
    last_used_at,
    scopes,
    user_id,
    user_email,
    user_name,
    service_account_id,
    service_account_name,
    granted,
    model_mode,
    model_ids,
    disabled_tools,
    rate_limits,
    client_cas,
});

impl KeyRow {
    fn into_facts(self) -> KeyFacts {
        let scopes: Vec<String> = serde_json::from_str(&self.scopes).unwrap_or_default();
        let grants = self
            .granted
            .unwrap_or_default()
            .lines()
            .map(|permissions| Grant {
                // Each line holds in the key's project, whether granted there or organization-wide.
                project_id: Some(self.project_id.clone()),
                permissions: serde_json::from_str(permissions).unwrap_or_default(),
            })
            .collect::<Vec<_>>();
        let permissions: BTreeSet<String> =
            gateway::key_permissions(&scopes, grants, &self.project_id);
        let owner = match (self.user_id, self.service_account_id) {
            (Some(id), _) => Owner::User {
                id,
                email: self.user_email.unwrap_or_default(),
                name: self.user_name.unwrap_or_default(),
            },
            (None, id) => Owner::ServiceAccount {
                id: id.unwrap_or_default(),
                name: self.service_account_name.unwrap_or_default(),
            },
        };
        let policies = Policies::from_stored(
            self.model_mode.as_deref(),
            self.model_ids.as_deref(),
            self.disabled_tools.as_deref(),
        );
        let rate_limits = self
            .rate_limits
            .unwrap_or_default()
            .lines()
            .filter_map(|line| {
                let (model, values) = line.split_once(' ')?;
                Some((model.to_owned(), serde_json::from_str(values).ok()?))
            })
            .collect();
        let client_cas = self.client_cas.unwrap_or_default();
        let client_cas = certificate::ca_ders(
            client_cas
                .lines()
                .map(|line| line.replace('|', "\n"))
                .collect::<Vec<_>>()
                .iter()
                .map(String::as_str),
        );
        KeyFacts {
            client_cas,
            models: policies.models,
            tools: policies.tools,
            rate_limits,
            key_id: self.key_id,
            key_name: self.key_name,
            org_id: self.org_id,
            project_id: self.project_id,
            project_name: self.project_name,
            owner,
            expires_at: self.expires_at,
            last_used_at: self.last_used_at,
            permissions,
        }
    }
}
