//! A project's policies: model permissions, hosted tool permissions and rate limits. Each
//! change locks the project (an archived one takes none) and is audited.

use std::collections::BTreeMap;

use serde_json::json;

use super::db;
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::ids::ProjectId;
use crate::domain::policy::{
    ModelPermissions, Policies, RateLimit, RateLimitValues, ToolPermissions,
};
use crate::domain::{Error, Result};

impl Store {
    /// A project's policies, in one query; 404 for a project not in the organization.
    pub async fn project_policies(&self, org_id: &str, project_id: &ProjectId) -> Result<Policies> {
        let row: Option<(Option<String>, Option<String>, Option<String>)> = db::query(
            "SELECT pp.model_mode, pp.model_ids, pp.disabled_tools FROM projects p \
             LEFT JOIN project_policies pp ON pp.project_id = p.id WHERE p.org_id = $1 AND p.id = $2",
        )
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .fetch_optional(&self.db)
        .await?;
        let (mode, ids, tools) =
            row.ok_or_else(|| Error::not_found("project", project_id, "project_id"))?;
        Ok(Policies::from_stored(
            mode.as_deref(),
            ids.as_deref(),
            tools.as_deref(),
        ))
    }

    /// Sets a project's model permissions, or removes them (`None`: every model again).
    pub async fn set_model_permissions(
        &self,
        author: &Author,
        project_id: &ProjectId,
        permissions: Option<&ModelPermissions>,
    ) -> Result<()> {
        let mode = permissions.map(|p| p.mode.as_str());
        let ids = permissions
            .map(|p| serde_json::to_string(&p.model_ids))
            .transpose()
            .map_err(|e| Error::Internal(e.to_string()))?;
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            db::query(
                "INSERT INTO project_policies (project_id, org_id, model_mode, model_ids, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id) DO UPDATE SET \
                 model_mode = excluded.model_mode, model_ids = excluded.model_ids, updated_at = excluded.updated_at",
            )
            .bind(project_id.to_owned())
            .bind(author.org_id.clone())
            .bind(mode)
            .bind(ids.clone())
            .bind(tx.now)
            .execute(&mut *tx.conn)
            .await?;
            let requested =
                permissions.map(|p| json!({"mode": p.mode.as_str(), "model_ids": p.model_ids}));
            let details =
                json!({"id": project_id, "changes_requested": {"model_permissions": requested}});
            tx.record(Event::new("project.updated", project_id, details).in_project(project_id))
                .await
        })
    }

    /// Turns hosted tools on or off for a project; returns its tool permissions.
    pub async fn set_tool_permissions(
        &self,
        author: &Author,
        project_id: &ProjectId,
        changes: &[(&str, bool)],
    ) -> Result<ToolPermissions> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let current: Option<(String,)> =
                db::query("SELECT disabled_tools FROM project_policies WHERE project_id = $1")
                    .bind(project_id.to_owned())
                    .fetch_optional(&mut *tx.conn)
                    .await?;
            let current =
                Policies::from_stored(None, None, current.as_ref().map(|(t,)| t.as_str()));
            let tools = current.tools.with(changes)?;
            let disabled = serde_json::to_string(&tools.disabled)
                .map_err(|e| Error::Internal(e.to_string()))?;
            db::query(
                "INSERT INTO project_policies (project_id, org_id, disabled_tools, updated_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (project_id) DO UPDATE SET \
                 disabled_tools = excluded.disabled_tools, updated_at = excluded.updated_at",
            )
            .bind(project_id.to_owned())
            .bind(author.org_id.clone())
            .bind(disabled)
            .bind(tx.now)
            .execute(&mut *tx.conn)
            .await?;
            let requested: serde_json::Map<String, serde_json::Value> = changes
                .iter()
                .map(|(tool, enabled)| ((*tool).to_owned(), json!({"enabled": enabled})))
                .collect();
            let details = json!({"id": project_id, "changes_requested": {"hosted_tool_permissions": requested}});
            tx.record(Event::new("project.updated", project_id, details).in_project(project_id))
                .await?;
            Ok(tools)
        })
    }

    /// The values a project set for its models' rate limits, by model; 404 for a project not in
    /// the organization. One query.
    pub async fn rate_limit_values(
        &self,
        org_id: &str,
        project_id: &ProjectId,
    ) -> Result<BTreeMap<String, RateLimitValues>> {
        let rows: Vec<(Option<String>, Option<String>)> = db::query(
            "SELECT r.model, r.limits FROM projects p LEFT JOIN project_rate_limits r ON r.project_id = p.id \
             WHERE p.org_id = $1 AND p.id = $2",
        )
        .bind(org_id.to_owned())
        .bind(project_id.to_owned())
        .fetch_all(&self.db)
        .await?;
        if rows.is_empty() {
            return Err(Error::not_found("project", project_id, "project_id"));
        }
        Ok(rows
            .into_iter()
            .filter_map(|(model, limits)| {
                Some((model?, serde_json::from_str(&limits?).unwrap_or_default()))
            })
            .collect())
    }

    /// Changes a project's rate limits for the model of `organization` (the catalogue's limit),
    /// within it; returns the project's limit.
    pub async fn set_rate_limit(
        &self,
        author: &Author,
        project_id: &ProjectId,
        organization: &RateLimit,
        update: &RateLimitValues,
    ) -> Result<RateLimit> {
        transact!(self, author, |tx| {
            tx.lock_project(&author.org_id, project_id)
                .await?
                .check_active()?;
            let current: Option<(String,)> = db::query(
                "SELECT limits FROM project_rate_limits WHERE project_id = $1 AND model = $2",
            )
            .bind(project_id.to_owned())
            .bind(organization.model.clone())
            .fetch_optional(&mut *tx.conn)
            .await?;
            let current: RateLimitValues = current
                .and_then(|(json,)| serde_json::from_str(&json).ok())
                .unwrap_or_default();
            let values = organization.check(&current, update)?;
            let limits =
                serde_json::to_string(&values).map_err(|e| Error::Internal(e.to_string()))?;
            db::query(
                "INSERT INTO project_rate_limits (project_id, model, org_id, limits, updated_at) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (project_id, model) DO UPDATE SET \
                 limits = excluded.limits, updated_at = excluded.updated_at",
            )
            .bind(project_id.to_owned())
            .bind(organization.model.clone())
            .bind(author.org_id.clone())
            .bind(limits)
            .bind(tx.now)
            .execute(&mut *tx.conn)
            .await?;
            let id = organization.id();
            let details = json!({"id": id, "changes_requested": update});
            tx.record(Event::new("rate_limit.updated", &id, details).in_project(project_id))
                .await?;
            Ok(organization.with(&values))
        })
    }
}
