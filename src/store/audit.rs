//! Writing audit events. Called only inside a mutation's transaction, so an event exists
//! exactly when its change does.

use sqlx::AnyConnection;

use super::Author;
use crate::domain::audit::Event;
use crate::domain::{Result, ids};

pub(super) async fn record(
    conn: &mut AnyConnection,
    author: &Author,
    event: Event,
    now: i64,
) -> Result<()> {
    let actor = author.actor.as_ref();
    sqlx::query(
        "INSERT INTO audit_logs (id, org_id, type, effective_at, project_id, actor_id, actor_email, actor, resource_id, details) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(ids::new_id(ids::AUDIT_LOG))
    .bind(author.org_id.clone())
    .bind(event.event_type)
    .bind(now)
    .bind(event.project_id.or_else(|| author.default_project_id.clone()))
    .bind(actor.map(|a| a.user_id.clone()))
    .bind(actor.map(|a| a.user_email.clone()))
    .bind(actor.map(|a| a.json.to_string()))
    .bind(event.resource_id)
    .bind(event.details.to_string())
    .execute(conn)
    .await?;
    Ok(())
}
