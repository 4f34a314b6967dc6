//! Outgoing email: queued in the transaction of the change it announces, claimed and marked by
//! the delivery worker (`mail::deliver`). On PostgreSQL several replicas share the queue: a
//! claim skips rows another replica holds, and leases what it takes, so each message goes to one
//! sender at a time.

use super::Store;
use super::db;
use crate::domain::Result;

/// A message waiting to be sent, as a worker claims it.
#[derive(Clone, Debug)]
pub struct QueuedMail {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    /// The HTML part, sent beside the text as `multipart/alternative`.
    pub html_body: Option<String>,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

db::from_row!(QueuedMail {
    id,
    recipient,
    subject,
    body,
    html_body,
    attempts
});

impl Store {
    /// Takes up to `limit` messages due at `now`, oldest due first, and moves their next attempt
    /// to `lease_until`: if this process dies while sending, another takes them up then. When
    /// nothing is due it costs one index probe on the read pool and takes no write lock.
    pub async fn claim_due_mail(
        &self,
        now: i64,
        lease_until: i64,
        limit: i64,
    ) -> Result<Vec<QueuedMail>> {
        let due: Option<(String,)> =
            db::query("SELECT id FROM outgoing_mail WHERE next_attempt_at <= $1 LIMIT 1")
                .bind(now)
                .fetch_optional(&self.db)
                .await?;
        if due.is_none() {
            return Ok(Vec::new());
        }
        let skip_locked = self.backend.for_update_skip_locked();
        transact!(self, keeping decisions, |tx| {
            db::query(format!(
                "UPDATE outgoing_mail SET attempts = attempts + 1, next_attempt_at = $1 \
                 WHERE id IN (SELECT id FROM outgoing_mail WHERE next_attempt_at <= $2 \
                 ORDER BY next_attempt_at LIMIT $3{skip_locked}) \
                 RETURNING id, recipient, subject, body, html_body, attempts"
            ))
            .bind(lease_until)
            .bind(now)
            .bind(limit)
            .fetch_all(&mut *tx.conn)
            .await
        })
    }

    /// Records that the mail server (or the outbox) has the message; its body, which may hold a
    /// live invite link, is dropped.
    pub async fn mail_sent(&self, id: &str, now: i64) -> Result<()> {
        let sent = db::query(
            "UPDATE outgoing_mail SET sent_at = $1, next_attempt_at = NULL, body = NULL, html_body = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(now)
        .bind(id.to_owned());
        self.write_once(sent).await?;
        Ok(())
    }

    /// Records a failed attempt: tried again at `retry_at`, or never (`None`: given up).
    pub async fn mail_failed(&self, id: &str, error: &str, retry_at: Option<i64>) -> Result<()> {
        let failed = db::query(
            "UPDATE outgoing_mail SET next_attempt_at = $1, last_error = $2 WHERE id = $3",
        )
        .bind(retry_at)
        .bind(error.to_owned())
        .bind(id.to_owned());
        self.write_once(failed).await?;
        Ok(())
    }

    /// Wakes this process's delivery worker, after a commit that queued mail.
    pub(super) fn mail_queued(&self) {
        metrics::counter!("roster_emails_total", "result" => "queued").increment(1);
        self.mail.notify_one();
    }

    /// Resolves when this process has queued mail since the last call (or a while has passed,
    /// at the caller's choice of timeout).
    pub async fn mail_waiting(&self) {
        self.mail.notified().await;
    }
}
