//! The command line: flags, each with its `ROSTER_*` environment variable (flags win).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::domain::organization::{
    DEFAULT_ORGANIZATION_NAME, DEFAULT_OWNER_EMAIL, DEFAULT_OWNER_NAME,
};
use crate::store::{StoreOptions, Synchronous};

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "Identity and access server speaking the OpenAI Organization Admin API"
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Where Roster keeps its files (the SQLite database by default).
    #[arg(
        long,
        env = "ROSTER_DATA_DIR",
        default_value = "./roster-data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// sqlite://<file> or postgres://user@host/db. Default: roster.db in the data dir.
    #[arg(
        long,
        env = "ROSTER_DATABASE_URL",
        global = true,
        hide_env_values = true
    )]
    pub database_url: Option<String>,
    /// Log format.
    #[arg(long, env = "ROSTER_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Log filter, in tracing's EnvFilter syntax.
    #[arg(long, env = "ROSTER_LOG", default_value = "info", global = true)]
    pub log: String,
    /// Export traces over OTLP/HTTP to this collector (its base URL, such as
    /// `http://127.0.0.1:4318`): a span for each request and each database transaction.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    /// Database connections in the pool (the read pool on SQLite).
    #[arg(
        long,
        env = "ROSTER_DB_MAX_CONNECTIONS",
        default_value_t = 8,
        global = true
    )]
    pub db_max_connections: u32,
    /// Seconds to wait for a database connection.
    #[arg(
        long,
        env = "ROSTER_DB_CONNECT_TIMEOUT",
        default_value_t = 5,
        global = true
    )]
    pub db_connect_timeout: u64,
    /// Seconds a statement may run (on SQLite: may wait for the write lock).
    #[arg(
        long,
        env = "ROSTER_DB_STATEMENT_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub db_statement_timeout: u64,
    /// SQLite only: `full` (every commit reaches the disk before it is acknowledged) or `normal`
    /// (faster; an operating-system crash or power cut can lose the last commits).
    #[arg(long, env = "ROSTER_SQLITE_SYNCHRONOUS", value_enum, default_value_t = Synchronous::Full, global = true)]
    pub sqlite_synchronous: Synchronous,
}

impl GlobalArgs {
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("roster.db").display()
            )
        })
    }

    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            max_connections: self.db_max_connections,
            connect_timeout: Duration::from_secs(self.db_connect_timeout),
            statement_timeout: Duration::from_secs(self.db_statement_timeout),
            sqlite_synchronous: self.sqlite_synchronous,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API; on an empty database, first found an organization and print its admin key.
    Serve(Box<ServeArgs>),
    /// Found the first organization and print its admin key, without serving.
    Init(BootstrapArgs),
    /// Manage organizations.
    #[command(subcommand)]
    Org(OrgCommand),
    /// Manage admin API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Prune or export the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// SCIM 2.0 for an organization's identity provider.
    #[command(subcommand)]
    Scim(ScimCommand),
    /// Apply or inspect database migrations (the server also applies them at start).
    Migrate {
        #[command(subcommand)]
        command: Option<MigrateCommand>,
    },
    /// Write a consistent snapshot of the SQLite database to FILE, also while a server runs
    /// (on PostgreSQL, use pg_dump).
    Backup {
        /// A new file.
        file: PathBuf,
    },
    /// Replace the SQLite database with the backup FILE; refused while a server uses it (on
    /// PostgreSQL, use pg_restore).
    Restore { file: PathBuf },
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ROSTER_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Base URL of links in emails (invites). Default: http://<listen address>.
    #[arg(long, env = "ROSTER_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// smtp://[user:password@]host[:port] (plain; ?tls=opportunistic for STARTTLS when offered,
    /// ?tls=required to insist) or smtps://... (TLS from the start); default: write each email as
    /// an .eml file into <data dir>/outbox.
    #[arg(long, env = "ROSTER_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Sender of Roster's emails.
    #[arg(
        long,
        env = "ROSTER_MAIL_FROM",
        default_value = "Roster <roster@localhost>"
    )]
    pub mail_from: String,
    /// Seconds an invite stays valid.
    #[arg(long, env = "ROSTER_INVITE_LIFETIME", default_value_t = crate::domain::invite::DEFAULT_LIFETIME_SECONDS)]
    pub invite_lifetime: i64,
    /// Days audit events are kept; older ones are pruned hourly. Default: kept forever.
    #[arg(long, env = "ROSTER_AUDIT_RETENTION_DAYS", value_parser = clap::value_parser!(u32).range(1..))]
    pub audit_retention_days: Option<u32>,
    /// Seconds a request may take in all (its body, its queries); past them it gets 503.
    #[arg(long, env = "ROSTER_REQUEST_TIMEOUT", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..))]
    pub request_timeout: u64,
    /// Seconds a connection may take to send a request's headers, or stay idle between requests.
    #[arg(long, env = "ROSTER_HEADER_TIMEOUT", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub header_timeout: u64,
    /// Serve the gateway's endpoints (`/v1/gateway/...`) on this address instead of beside the
    /// Admin API, so that they stay on the network the gateways sit in.
    #[arg(long, env = "ROSTER_GATEWAY_LISTEN")]
    pub gateway_listen: Option<SocketAddr>,
    /// Serve `/metrics` on this address instead of beside the Admin API.
    #[arg(long, env = "ROSTER_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A JSON file of routes forward auth should let through, with the permission each needs,
    /// before the built-in table of the OpenAI API's routes.
    #[arg(long, env = "ROSTER_GATEWAY_ROUTES")]
    pub gateway_routes: Option<PathBuf>,
    /// A JSON file of the models Roster knows, with the organization's rate limits for each
    /// (default: the built-in list of current OpenAI models).
    #[arg(long, env = "ROSTER_MODELS")]
    pub models: Option<PathBuf>,
    /// Connections served at once; further ones wait to be accepted.
    #[arg(long, env = "ROSTER_MAX_CONNECTIONS", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(1..))]
    pub max_connections: u64,
    /// Serve the emulator's controls (`POST /v1/emulator/clock`, `POST /v1/emulator/reset`), for
    /// testing admin automation against Roster; never for a production deployment.
    #[arg(long, env = "ROSTER_EMULATOR")]
    pub emulator: bool,
    /// With --emulator: a YAML or JSON file of organizations, users, projects, groups, roles,
    /// service accounts and keys, loaded into a new database at start and by every reset.
    #[arg(long, env = "ROSTER_FIXTURES", requires = "emulator")]
    pub fixtures: Option<PathBuf>,
    /// With --emulator: the real service's rate limits, as requests a minute an admin key may
    /// make to one endpoint; past them, 429 with `retry-after`.
    #[arg(long, env = "ROSTER_EMULATE_RATE_LIMITS", requires = "emulator", value_parser = clap::value_parser!(u32).range(1..))]
    pub emulate_rate_limits: Option<u32>,
    #[command(flatten)]
    pub bootstrap: BootstrapArgs,
}

impl ServeArgs {
    fn emulator(&self) -> Result<Option<crate::api::Emulator>, String> {
        if !self.emulator {
            return Ok(None);
        }
        let fixtures = self
            .fixtures
            .as_deref()
            .map(|path| {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    format!("cannot read the fixtures file {}: {e}", path.display())
                })?;
                crate::domain::fixtures::Fixtures::parse(&text)
                    .map(std::sync::Arc::new)
                    .map_err(|e| format!("the fixtures file {} is invalid: {e}", path.display()))
            })
            .transpose()?;
        Ok(Some(crate::api::Emulator {
            fixtures,
            rate_limits: self
                .emulate_rate_limits
                .map(|rpm| std::sync::Arc::new(crate::api::RateLimits::new(rpm))),
        }))
    }

    pub fn settings(&self, data_dir: &std::path::Path) -> Result<crate::api::Settings, String> {
        if self.invite_lifetime < 1 {
            return Err("--invite-lifetime must be at least 1 second".into());
        }
        let mailer = crate::mail::Mailer::new(&crate::mail::MailConfig {
            smtp_url: self.smtp_url.clone(),
            outbox: data_dir.join("outbox"),
        })?;
        Ok(crate::api::Settings {
            mailer,
            mail_from: self.mail_from.clone(),
            public_url: self.public_url.clone().unwrap_or_default(),
            invite_lifetime_seconds: self.invite_lifetime,
            models: std::sync::Arc::new(read_json_file(
                self.models.as_deref(),
                "models",
                crate::domain::policy::ModelCatalogue::built_in,
                crate::domain::policy::ModelCatalogue::parse,
            )?),
            gateway_listen: self.gateway_listen,
            metrics_listen: self.metrics_listen,
            routes: std::sync::Arc::new(read_json_file(
                self.gateway_routes.as_deref(),
                "gateway routes",
                crate::domain::gateway::RouteTable::default,
                crate::domain::gateway::RouteTable::with_routes_from,
            )?),
            emulator: self.emulator()?,
            limits: crate::api::Limits {
                request_timeout: Duration::from_secs(self.request_timeout),
                header_timeout: Duration::from_secs(self.header_timeout),
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
            },
        })
    }
}

/// What `parse` makes of the JSON file at `path`, or `default()` without one; errors name the
/// file as `what`.
fn read_json_file<T>(
    path: Option<&std::path::Path>,
    what: &str,
    default: impl FnOnce() -> T,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<T, String> {
    let Some(path) = path else {
        return Ok(default());
    };
    let json = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the {what} file {}: {e}", path.display()))?;
    parse(&json).map_err(|e| format!("the {what} file {} is invalid: {e}", path.display()))
}

#[derive(Debug, Clone, Args)]
pub struct BootstrapArgs {
    /// Name of the first organization.
    #[arg(long, env = "ROSTER_ORG_NAME", default_value = DEFAULT_ORGANIZATION_NAME)]
    pub org_name: String,
    /// Email of its owner.
    #[arg(long, env = "ROSTER_OWNER_EMAIL", default_value = DEFAULT_OWNER_EMAIL)]
    pub owner_email: String,
    /// Name of its owner.
    #[arg(long, env = "ROSTER_OWNER_NAME", default_value = DEFAULT_OWNER_NAME)]
    pub owner_name: String,
    /// Use this value (sk-admin-...) as the first admin key instead of a random one.
    #[arg(long, env = "ROSTER_BOOTSTRAP_ADMIN_KEY", hide_env_values = true)]
    pub bootstrap_admin_key: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum OrgCommand {
    /// Add an organization with its owner and default project; prints its first admin key once.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        owner_email: String,
        #[arg(long, default_value = DEFAULT_OWNER_NAME)]
        owner_name: String,
    },
    /// List the organizations.
    List,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Mint a new admin key for an organization's owner (the way back in when keys are lost).
    Create {
        #[arg(long)]
        org: String,
        #[arg(long, default_value = "CLI key")]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum ScimCommand {
    /// The bearer tokens identity providers call `/scim/v2` with.
    #[command(subcommand)]
    Token(ScimTokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum ScimTokenCommand {
    /// Make a token for an organization; prints it once.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke a token: the identity provider's next request with it is refused.
    Revoke {
        #[arg(long)]
        org: String,
        /// The token's id (`scim_token_...`), as `create` and `list` print it.
        id: String,
    },
    /// List an organization's tokens (their ids and names; never their values).
    List {
        #[arg(long)]
        org: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Delete the events effective before a time, in every organization or in one; an event
    /// records each pruning.
    Prune {
        /// Unix seconds: events effective before this are deleted.
        #[arg(long)]
        before: i64,
        #[arg(long)]
        org: Option<String>,
    },
    /// Write an organization's events to stdout, oldest first, one JSON object per line in the
    /// API's `AuditLog` shape (for shipping to a SIEM).
    Export {
        /// The organization; needed only when the database holds more than one.
        #[arg(long)]
        org: Option<String>,
        /// Unix seconds: only events effective at or after this.
        #[arg(long)]
        since: Option<i64>,
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// One JSON object per line.
    Jsonl,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Apply pending migrations (the default).
    Apply,
    /// Show which migrations are applied.
    Status,
}
