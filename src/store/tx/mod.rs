//! The write transaction every mutation runs in (`transact!`), and what the aggregates share
//! inside one: the row locks (`locks.rs`), the rows more than one of them writes
//! (`inserts.rs`), the role changes of users and members (`people.rs`), and the audit event that
//! commits with its change. Beneath the aggregate files: they use it, and it uses none of them.

mod inserts;
mod locks;
mod people;

pub use inserts::FoundedOrganization;
pub(super) use inserts::{FoundingIds, NewMail, SELECT_KEY, already_holds, assignment_event};
pub(super) use locks::{SELECT_ACCOUNT, SELECT_GROUP, SELECT_PROJECT, SELECT_ROLE, no_such_role};
pub(super) use people::{SELECT_MEMBER, SELECT_USER, find_member, find_user, not_a_member};

use super::{Author, Backend};
use crate::domain::audit::Event;
use crate::domain::{Error, Result, ids};
use crate::store::db;

/// One write transaction: its connection, the backend's dialect, who the change is by and the
/// clock's reading when it began (every row and event it writes carries that time).
pub(super) struct Tx<'t> {
    pub conn: &'t mut db::Conn,
    pub backend: Backend,
    /// Whom the events are recorded against; `None` for Roster's own housekeeping, which
    /// records none (or, founding an organization, names the author once it exists).
    pub author: Option<Author>,
    pub now: i64,
    /// Audit events recorded, counted once the transaction commits.
    pub recorded: u64,
}

impl Tx<'_> {
    /// The author of this transaction's change.
    pub fn author(&self) -> Result<&Author> {
        self.author
            .as_ref()
            .ok_or_else(|| Error::Internal("an audit event without an author".into()))
    }

    /// The organization the change is made in.
    pub fn org_id(&self) -> Result<String> {
        Ok(self.author()?.org_id.clone())
    }

    /// Records `event` in the audit log, in this transaction: it exists exactly when its
    /// change does.
    pub async fn record(&mut self, event: Event) -> Result<()> {
        let author = self.author()?;
        let actor = author.actor.as_ref();
        let query = db::query(
            "INSERT INTO audit_logs (id, org_id, type, effective_at, project_id, actor_id, actor_email, actor_key_id, actor, resource_id, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(ids::new_audit_id(self.now))
        .bind(author.org_id.clone())
        .bind(event.event_type)
        .bind(self.now)
        .bind(event.project_id.or_else(|| author.default_project_id.clone()))
        .bind(actor.map(|a| a.user_id.clone()))
        .bind(actor.map(|a| a.user_email.clone()))
        .bind(actor.and_then(|a| a.key_id.clone()))
        .bind(actor.map(|a| a.json.to_string()))
        .bind(event.resource_id)
        .bind(event.details.to_string());
        query.execute(&mut *self.conn).await?;
        self.recorded += 1;
        Ok(())
    }
}
