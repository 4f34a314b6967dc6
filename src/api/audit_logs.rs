//! `GET /organization/audit_logs`: the log, newest first, under the contract's filters.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::routing::get;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::AppState;
use super::error::ApiResult;
use super::extract::Query;
use super::pagination::{List, Listed};
use crate::domain::Error;
use crate::domain::audit::{Filter, FilterRequest, LogEntry, TimeRange};
use crate::domain::page::PageRequest;
use crate::domain::principal::Principal;
use crate::store::audit_logs::LogPage;

pub fn routes() -> Router<AppState> {
    Router::new().route("/organization/audit_logs", get(list))
}

/// The contract's `AuditLog`. The actor and the per-type payload were stored as the contract's
/// JSON when the event was written, and are sent as stored, unparsed; the payload sits under a
/// key named after the type.
#[derive(Debug, Serialize)]
pub struct AuditLogObject {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    pub effective_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<AuditLogProject>,
    pub actor: Option<Box<RawValue>>,
    #[serde(flatten)]
    pub details: BTreeMap<String, Box<RawValue>>,
}

#[derive(Debug, Serialize)]
pub struct AuditLogProject {
    pub id: String,
    pub name: Option<String>,
}

impl AuditLogObject {
    pub fn new(entry: LogEntry) -> Self {
        let details = stored_json(entry.details).unwrap_or_else(null);
        AuditLogObject {
            details: BTreeMap::from([(entry.event_type.clone(), details)]),
            id: entry.id,
            event_type: entry.event_type,
            effective_at: entry.effective_at,
            project: entry.project_id.map(|id| AuditLogProject {
                id,
                name: entry.project_name,
            }),
            actor: entry.actor.and_then(stored_json),
        }
    }
}

/// JSON that Roster stored; `None` only if the database was edited into something else.
fn stored_json(text: String) -> Option<Box<RawValue>> {
    RawValue::from_string(text).ok()
}

fn null() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

impl Listed for AuditLogObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// The contract's query. Arrays come as `name[]=a&name[]=b` (what the SDKs send) or as repeated
/// `name=a` (`extract::Query` reads both); `effective_at` as `effective_at[gt]=...`.
#[derive(Debug, Default, Deserialize)]
struct AuditLogQuery {
    #[serde(rename = "effective_at[gt]")]
    gt: Option<i64>,
    #[serde(rename = "effective_at[gte]")]
    gte: Option<i64>,
    #[serde(rename = "effective_at[lt]")]
    lt: Option<i64>,
    #[serde(rename = "effective_at[lte]")]
    lte: Option<i64>,
    #[serde(default)]
    project_ids: Vec<String>,
    #[serde(default)]
    event_types: Vec<String>,
    #[serde(default)]
    actor_ids: Vec<String>,
    #[serde(default)]
    actor_emails: Vec<String>,
    #[serde(default)]
    resource_ids: Vec<String>,
    #[serde(default)]
    tenant_only: bool,
    limit: Option<i64>,
    after: Option<String>,
    before: Option<String>,
}

/// The operators `effective_at` takes. Any other (`effective_at[xx]`) is refused, not ignored:
/// a filter silently dropped would widen the page.
const TIME_OPERATORS: [&str; 4] = [
    "effective_at[gt]",
    "effective_at[gte]",
    "effective_at[lt]",
    "effective_at[lte]",
];

fn check_time_operators(query: Option<&str>) -> Result<(), Error> {
    let query = query.unwrap_or_default();
    match form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name.starts_with("effective_at") && !TIME_OPERATORS.contains(&&**name))
    {
        Some((name, _)) => Err(Error::invalid(
            format!(
                "Unknown filter '{name}': 'effective_at' takes effective_at[gt], effective_at[gte], \
                 effective_at[lt] and effective_at[lte]."
            ),
            "effective_at",
        )),
        None => Ok(()),
    }
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(raw): RawQuery,
    Query(q): Query<AuditLogQuery>,
) -> ApiResult<axum::Json<List<AuditLogObject>>> {
    check_time_operators(raw.as_deref())?;
    let filter = Filter::new(FilterRequest {
        effective_at: TimeRange {
            gt: q.gt,
            gte: q.gte,
            lt: q.lt,
            lte: q.lte,
        },
        project_ids: q.project_ids,
        event_types: q.event_types,
        actor_ids: q.actor_ids,
        actor_emails: q.actor_emails,
        resource_ids: q.resource_ids,
        tenant_only: q.tenant_only,
    })?;
    let limit = PageRequest::new(None, q.limit, None)?.limit;
    let older_than = q.after.filter(|a| !a.is_empty());
    let newer_than = q.before.filter(|b| !b.is_empty());
    // Read backwards from `before` (oldest first), then turn the page newest first again.
    let backwards = newer_than.is_some() && older_than.is_none();
    let page = LogPage {
        older_than,
        newer_than,
        newest_first: !backwards,
        limit,
    };
    let mut entries = state
        .store
        .list_audit_logs(&principal.org_id, &filter, &page)
        .await?;
    if backwards {
        entries.items.reverse();
    }
    Ok(axum::Json(List::new(entries, AuditLogObject::new)))
}
