//! Outgoing email. The embedded default writes each message as an RFC 5322 `.eml` file into the
//! outbox folder; `smtp://` and `smtps://` URLs send through an SMTP server. Messages go out after
//! the change they announce has committed, and a failed send is logged and retried in the
//! background, so a mail server's trouble never fails or corrupts the change itself.

use std::path::PathBuf;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

const ATTEMPTS: u32 = 5;

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

/// An email ready to send.
#[derive(Clone, Debug)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub body: String,
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

    /// Sends `email` from `from` in the background, retrying with backoff; never fails the caller.
    pub fn send_later(&self, from: &str, email: Email) {
        let message = match build(from, &email) {
            Ok(message) => message,
            Err(e) => {
                tracing::error!(error = %e, "an email could not be built; it is not sent");
                return;
            }
        };
        let mailer = self.clone();
        tokio::spawn(async move {
            for attempt in 1..=ATTEMPTS {
                let result = match &mailer {
                    Mailer::Outbox(transport, _) => transport
                        .send(message.clone())
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string()),
                    Mailer::Smtp(transport) => transport
                        .send(message.clone())
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string()),
                };
                match result {
                    Ok(()) => {
                        tracing::info!(attempt, "email sent");
                        return;
                    }
                    Err(e) if attempt < ATTEMPTS => {
                        tracing::warn!(error = %e, attempt, "sending an email failed; retrying");
                        tokio::time::sleep(Duration::from_secs(2u64.pow(attempt))).await;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, attempt, "sending an email failed; giving up")
                    }
                }
            }
        });
    }
}

fn build(from: &str, email: &Email) -> Result<Message, String> {
    let from: Mailbox = from
        .parse()
        .map_err(|e| format!("invalid sender '{from}': {e}"))?;
    let to: Mailbox = email
        .to
        .parse()
        .map_err(|e| format!("invalid recipient: {e}"))?;
    // lettre picks the transfer encoding: quoted-printable where a line (a long link) is longer
    // than mail allows, which every mail reader decodes.
    Message::builder()
        .from(from)
        .to(to)
        .subject(email.subject.clone())
        .header(ContentType::TEXT_PLAIN)
        .body(email.body.clone())
        .map_err(|e| e.to_string())
}
