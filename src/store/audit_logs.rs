//! The audit log: reading events through filters, and pruning old ones. Events are written by
//! `Tx::record`, only inside a mutation's transaction, so an event exists exactly when its
//! change does.

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::{Author, Store};
use crate::domain::audit::{Event, Filter, LogEntry};
use crate::domain::page::Page;
use crate::domain::{Result, ids};

/// Where a page of the log starts and which way it runs.
#[derive(Clone, Debug)]
pub struct LogPage {
    /// Only events older than this id (the contract's `after`).
    pub older_than: Option<String>,
    /// Only events newer than this id (the contract's `before`).
    pub newer_than: Option<String>,
    /// The order the rows are fetched in; a page read backwards from `before` runs oldest first.
    pub newest_first: bool,
    pub limit: i64,
}

/// The most (project, type) index ranges one page reads; beyond, types narrow project ranges.
const MAX_PAIRED_RANGES: usize = 100;

/// The event recorded when events are pruned. The contract has no type for it; the nearest is
/// `resource.deleted`, about the organization's log.
const PRUNED: &str = "resource.deleted";

impl Store {
    /// One page of an organization's log. Each filter value is one range of an index ending in
    /// the id, read up to the page size; the ranges are merged, and the other filters narrow
    /// each range as it is read. A page is therefore a constant number of index ranges, whatever
    /// the size of the log.
    pub async fn list_audit_logs(
        &self,
        org_id: &str,
        filter: &Filter,
        page: &LogPage,
    ) -> Result<Page<LogEntry>> {
        let mut sql = Sql::new("");
        let org = sql.arg(org_id.to_owned());
        let limit = sql.arg(page.limit + 1);

        let mut common = String::new();
        let mut bound = |sql: &mut Sql, comparison: &str, id: String| {
            let p = sql.arg(id);
            common.push_str(&format!(" AND id {comparison} {p}"));
        };
        if let Some(id) = &page.older_than {
            bound(&mut sql, "<", id.clone());
        }
        if let Some(id) = &page.newer_than {
            bound(&mut sql, ">", id.clone());
        }
        // An event's id encodes its effective_at: a time range is an id range.
        if let Some(from) = filter.from {
            bound(&mut sql, ">=", ids::audit_id_floor(from));
        }
        if let Some(until) = filter.until {
            bound(&mut sql, "<", ids::audit_id_floor(until));
        }

        // The filters, most selective first: the first present one drives the index ranges.
        // Projects and event types together, the pair most lists ask for, drive one range per
        // (project, type) of their own index, so that they too cost one page per range.
        let filters: [(&[&str], &[String]); 5] = [
            (&["resource_id"], &filter.resource_ids),
            (&["actor_id", "actor_key_id"], &filter.actor_ids),
            (&["actor_email"], &filter.actor_emails),
            (&["project_id"], &filter.project_ids),
            (&["type"], &filter.event_types),
        ];
        let mut arms: Vec<String> = Vec::new();
        let mut driver: &[&str] = &[];
        for (columns, values) in filters {
            if values.is_empty() {
                continue;
            }
            let placeholders: Vec<String> = values.iter().map(|v| sql.arg(v.clone())).collect();
            let pairs_project_and_type = driver == ["project_id"]
                && columns == ["type"]
                && arms.len() * placeholders.len() <= MAX_PAIRED_RANGES;
            if arms.is_empty() {
                driver = columns;
                for p in &placeholders {
                    for column in columns {
                        arms.push(format!(" AND {column} = {p}"));
                    }
                }
            } else if pairs_project_and_type {
                arms = arms
                    .iter()
                    .flat_map(|arm| {
                        placeholders
                            .iter()
                            .map(move |p| format!("{arm} AND type = {p}"))
                    })
                    .collect();
            } else {
                let any_column: Vec<String> = columns
                    .iter()
                    .map(|column| format!("{column} IN ({})", placeholders.join(", ")))
                    .collect();
                common.push_str(&format!(" AND ({})", any_column.join(" OR ")));
            }
        }
        if arms.is_empty() {
            arms.push(String::new());
        }
        if filter.tenant_only {
            common.push_str(" AND (type LIKE 'tenant.%' OR type IN ('role.bound_to_resource', 'role.unbound_from_resource'))");
        }

        let direction = if page.newest_first { "DESC" } else { "ASC" };
        let arms: Vec<String> = arms
            .iter()
            .enumerate()
            .map(|(i, arm)| {
                format!(
                    "SELECT * FROM (SELECT id, type, effective_at, project_id, actor, details FROM audit_logs \
                     WHERE org_id = {org}{arm}{common} ORDER BY id {direction} LIMIT {limit}) AS arm{i}"
                )
            })
            .collect();
        // The ranges of distinct values of one column are disjoint, and need no de-duplication
        // (which sorts whole rows); an actor is matched on two columns, whose ranges may meet.
        let union = if driver.len() > 1 {
            " UNION "
        } else {
            " UNION ALL "
        };
        sql.push(&format!(
            "SELECT a.id, a.type, a.effective_at, a.project_id, p.name AS project_name, a.actor, a.details \
             FROM ({}) AS a LEFT JOIN projects p ON p.id = a.project_id ORDER BY a.id {direction} LIMIT {limit}",
            arms.join(union)
        ));
        self.fetch_page(sql, page.limit).await
    }

    /// Removes the events of `org_id` (or of every organization) effective before `before`.
    /// Where events were removed, an event says so, in the same transaction. Returns the
    /// organizations touched and how many events each lost.
    pub async fn prune_audit_logs(
        &self,
        org_id: Option<&str>,
        before: i64,
    ) -> Result<Vec<(String, u64)>> {
        let orgs: Vec<String> = match org_id {
            Some(id) => vec![self.get_organization(id).await?.id],
            None => self
                .list_organizations()
                .await?
                .into_iter()
                .map(|o| o.id)
                .collect(),
        };
        let floor = ids::audit_id_floor(before);
        let mut pruned = Vec::new();
        for org in orgs {
            let removed = transact!(self, keeping decisions, |tx| {
                let removed = db::query("DELETE FROM audit_logs WHERE org_id = $1 AND id < $2")
                    .bind(org.clone())
                    .bind(floor.clone())
                    .execute(&mut *tx.conn)
                    .await?;
                if removed > 0 {
                    tx.author = Some(Author {
                        org_id: org.clone(),
                        actor: None,
                        default_project_id: None,
                    });
                    let details = json!({
                        "id": org,
                        "resource_type": "audit_log",
                        "effective_before": before,
                        "deleted_count": removed,
                    });
                    tx.record(Event::new(PRUNED, &org, details)).await?;
                }
                Ok(removed)
            })?;
            pruned.push((org, removed));
        }
        Ok(pruned)
    }
}
