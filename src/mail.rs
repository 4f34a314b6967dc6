//! Outgoing email. The embedded default writes each message as an RFC 5322 `.eml` file into the
//! outbox folder; `smtp://` and `smtps://` URLs send through an SMTP server. A message is queued
//! in the database in the transaction of the change it announces (`store::outgoing_mail`), and
//! `deliver` sends it after the commit, retrying with backoff: a mail server's trouble never fails
//! the change, and a crash or restart loses no message.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

use crate::store::Store;
use crate::store::outgoing_mail::QueuedMail;

/// Attempts before a message is given up (about three hours of retries).
const MAX_ATTEMPTS: i64 = 20;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 15 * 60;
/// How long a claimed message is another sender's to leave alone: longer than one SMTP attempt.
const LEASE_SECONDS: i64 = 120;
/// Messages claimed at once.
const BATCH: i64 = 16;
/// How often an idle worker looks for messages due for a retry, or queued by another replica.
const POLL: Duration = Duration::from_secs(1);

#[derive(Clone)]
pub enum Mailer {
    Outbox(AsyncFileTransport<Tokio1Executor>, PathBuf),
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mailer::Outbox(_, dir) => write!(f, "Mailer::Outbox({})", dir.display()),
            Mailer::Smtp(_) => f.write_str("Mailer::Smtp"),
        }
    }
}

/// Where mail goes.
#[derive(Clone, Debug)]
pub struct MailConfig {
    /// `None`: the outbox folder. Otherwise `smtp://[user:password@]host[:port]` (plain;
    /// `?tls=opportunistic` or `?tls=required` for STARTTLS) or `smtps://...` (TLS from the start).
    pub smtp_url: Option<String>,
    pub outbox: PathBuf,
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer, String> {
        match &config.smtp_url {
            None => {
                std::fs::create_dir_all(&config.outbox).map_err(|e| {
                    format!("cannot create the outbox {}: {e}", config.outbox.display())
                })?;
                Ok(Mailer::Outbox(
                    AsyncFileTransport::new(&config.outbox),
                    config.outbox.clone(),
                ))
            }
            // lettre reads the host, port, TLS mode and percent-encoded credentials from the URL.
            Some(url) => Ok(Mailer::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| format!("invalid SMTP URL: {e}"))?
                    .timeout(Some(Duration::from_secs(20)))
                    .build(),
            )),
        }
    }

    /// One attempt to hand `mail` to the SMTP server or the outbox.
    async fn send(&self, from: &str, mail: &QueuedMail) -> Result<(), String> {
        let message = build(from, mail)?;
        match self {
            Mailer::Outbox(transport, _) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
            Mailer::Smtp(transport) => transport
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }
}

/// Sends what `store` has queued, from `from`, until the task is dropped: at once when this
/// process queues a message, otherwise as retries fall due or other replicas queue them. A failed
/// attempt is logged and tried again later, 2, 4, 8 ... seconds on (at most 15 minutes apart),
/// until `MAX_ATTEMPTS`. A message is marked sent only once the server or the outbox has it; if
/// this process dies in between, it is sent again when its lease runs out (at least once).
pub async fn deliver(store: Store, mailer: Mailer, from: String) {
    loop {
        let now = store.clock().now();
        let claimed = match store.claim_due_mail(now, now + LEASE_SECONDS, BATCH).await {
            Ok(claimed) => claimed,
            Err(error) => {
                tracing::warn!(%error, "could not read the mail queue; will retry");
                Vec::new()
            }
        };
        let full = claimed.len() as i64 == BATCH;
        for mail in claimed {
            attempt(&store, &mailer, &from, &mail).await;
        }
        if !full {
            let _ = tokio::time::timeout(POLL, store.mail_waiting()).await;
        }
    }
}

async fn attempt(store: &Store, mailer: &Mailer, from: &str, mail: &QueuedMail) {
    let outcome = match mailer.send(from, mail).await {
        Ok(()) => {
            tracing::info!(mail_id = %mail.id, attempt = mail.attempts, "email sent");
            metrics::counter!("roster_emails_total", "result" => "sent").increment(1);
            store.mail_sent(&mail.id, store.clock().now()).await
        }
        Err(error) => {
            metrics::counter!("roster_emails_total", "result" => "failed").increment(1);
            let retry_at = (mail.attempts < MAX_ATTEMPTS).then(|| {
                let backoff = 2_i64
                    .saturating_pow(u32::try_from(mail.attempts).unwrap_or(u32::MAX))
                    .min(MAX_BACKOFF_SECONDS);
                store.clock().now() + backoff
            });
            // Logged once recorded: a process killed in between retries when the lease runs out.
            let recorded = store.mail_failed(&mail.id, &error, retry_at).await;
            if recorded.is_ok() {
                match retry_at {
                    Some(at) => {
                        tracing::warn!(mail_id = %mail.id, attempt = mail.attempts, %error, retry_at = at, "sending an email failed; will retry")
                    }
                    None => {
                        tracing::error!(mail_id = %mail.id, attempt = mail.attempts, %error, "sending an email failed; giving up")
                    }
                }
            }
            recorded
        }
    };
    if let Err(error) = outcome {
        // The lease runs out and the message is tried again.
        tracing::warn!(mail_id = %mail.id, %error, "could not record an email's outcome");
    }
}

fn build(from: &str, mail: &QueuedMail) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("invalid sender '{from}': {e}"))?;
    let to: Mailbox = mail
        .recipient
        .parse()
        .map_err(|e| format!("invalid recipient: {e}"))?;
    // lettre picks the transfer encoding: quoted-printable where a line (a long link) is longer
    // than mail allows, which every mail reader decodes.
    let message = Message::builder()
        .from(from)
        .to(to)
        .subject(mail.subject.clone());
    match &mail.html_body {
        // Plain text first: a mail reader shows the last part it can, HTML where it can.
        Some(html) => message.multipart(MultiPart::alternative_plain_html(
            mail.body.clone(),
            html.clone(),
        )),
        None => message
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone()),
    }
    .map_err(|e| e.to_string())
}
