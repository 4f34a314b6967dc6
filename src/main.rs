//! The `roster` command line: a thin layer over the library.

use std::process::ExitCode;

use clap::Parser;
use std::io::Write;
use std::time::Duration;

use roster::config::{
    AuditCommand, BootstrapArgs, Cli, Command, ExportFormat, GlobalArgs, KeyCommand, LogFormat,
    MigrateCommand, OrgCommand, ScimCommand, ScimTokenCommand,
};
use roster::domain::organization::NewOrganization;
use roster::domain::{Clock, Error, secret};
use roster::store::Store;
use roster::store::organizations::FoundedOrganization;

#[tokio::main]
async fn main() -> ExitCode {
    // Everything Roster writes (the data directory, the database and its WAL, the outbox's
    // emails with their live invite links) is for its owner alone, whatever umask it was started
    // with, as PostgreSQL does for its data directory.
    // SAFETY: umask only swaps the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    if let Err(message) = init_logging(&cli.global) {
        eprintln!("roster: {message}");
        return ExitCode::FAILURE;
    }
    let done = run(cli).await;
    // Spans still waiting go out before the process does.
    roster::traces::flush();
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("roster: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Logs to stderr, filtered by `--log`; and, with `--otlp-endpoint`, traces to a collector.
fn init_logging(global: &GlobalArgs) -> Result<(), String> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let filter = tracing_subscriber::EnvFilter::try_new(&global.log)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let logs = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let logs = match global.log_format {
        LogFormat::Json => logs.json().with_filter(filter).boxed(),
        LogFormat::Text => logs.with_filter(filter).boxed(),
    };
    let traces = global
        .otlp_endpoint
        .as_deref()
        .filter(|endpoint| !endpoint.trim().is_empty())
        .map(roster::traces::layer)
        .transpose()?;
    tracing_subscriber::registry()
        .with(logs)
        .with(traces)
        .init();
    Ok(())
}

async fn run(cli: Cli) -> Result<(), String> {
    let global = cli.global;
    match cli.command {
        Command::Serve(args) => {
            // Read first: a malformed models, routes or fixtures file stops the start.
            let settings = args.settings(&global.data_dir)?;
            let store = open(&global).await?;
            // On SQLite, held while serving: a restore cannot replace the file under the server.
            let _serving = match sqlite_database(&global, "") {
                Ok(database) => Some(roster::store::backup::hold_for_serving(&database)?),
                Err(_) => None,
            };
            let founded = bootstrap(&store, &args.bootstrap).await?;
            if let Some(founded) = &founded {
                print_founded(founded, &args.bootstrap, &format!("http://{}", args.listen));
            }
            load_fixtures(&store, &settings, founded.is_some()).await?;
            let server = roster::start(args.listen, store, settings)
                .await
                .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
            if let Some(days) = args.audit_retention_days {
                let keep_seconds = i64::from(days) * 86_400;
                let every = Duration::from_secs(3_600);
                tokio::spawn(roster::enforce_audit_retention(
                    server.store.clone(),
                    keep_seconds,
                    every,
                ));
            }
            let durability = server.store.durability().await.map_err(describe)?;
            let gateway = server.gateway_addr.map(|a| a.to_string());
            let stop = shutdown_signal();
            tracing::info!(addr = %server.addr, gateway, backend = server.store.backend().name(), durability, "roster is serving");
            server.run_until(stop).await.map_err(|e| e.to_string())?;
            tracing::info!("roster stopped");
            Ok(())
        }
        Command::Init(args) => {
            let store = open(&global).await?;
            match bootstrap(&store, &args).await? {
                Some(founded) => print_founded(&founded, &args, "http://127.0.0.1:8080"),
                None => {
                    println!("Roster is already initialized in this database; nothing was changed.")
                }
            }
            store.close().await;
            Ok(())
        }
        Command::Org(OrgCommand::Create {
            name,
            owner_email,
            owner_name,
        }) => {
            let store = open(&global).await?;
            let new = NewOrganization::new(&name, &owner_email, &owner_name).map_err(describe)?;
            let founded = store
                .create_organization(&new, None)
                .await
                .map_err(describe)?;
            println!(
                "Created organization \"{}\" ({}) with owner {}.",
                founded.organization.name,
                founded.organization.id,
                founded.organization.owner_email
            );
            println!(
                "Its admin API key (shown once; store it now):\n\n    {}\n",
                founded.admin_key
            );
            store.close().await;
            Ok(())
        }
        Command::Org(OrgCommand::List) => {
            let store = open(&global).await?;
            println!("{:<32}  {:<30}  {:<30}  CREATED_AT", "ID", "NAME", "OWNER");
            for org in store.list_organizations().await.map_err(describe)? {
                println!(
                    "{:<32}  {:<30}  {:<30}  {}",
                    org.id, org.name, org.owner_email, org.created_at
                );
            }
            store.close().await;
            Ok(())
        }
        Command::Key(KeyCommand::Create { org, name }) => {
            let store = open(&global).await?;
            let key = store
                .create_owner_admin_key(&org, &name)
                .await
                .map_err(describe)?;
            println!("New admin API key for {org} (shown once; store it now):\n\n    {key}\n");
            store.close().await;
            Ok(())
        }
        Command::Scim(ScimCommand::Token(command)) => {
            let store = open(&global).await?;
            let done = scim_token(&store, command).await;
            store.close().await;
            done
        }
        Command::Audit(AuditCommand::Prune { before, org }) => {
            let store = open(&global).await?;
            let pruned = store
                .prune_audit_logs(org.as_deref(), before)
                .await
                .map_err(describe)?;
            for (org, count) in pruned {
                println!("{org}: deleted {count} audit events effective before {before}");
            }
            store.close().await;
            Ok(())
        }
        Command::Audit(AuditCommand::Export { org, since, format }) => {
            let store = open(&global).await?;
            let result = export_audit_log(&store, org, since, format).await;
            store.close().await;
            result
        }
        Command::Backup { file } => {
            let database = sqlite_database(&global, "back it up with pg_dump")?;
            roster::store::backup::backup_sqlite(&database, &file)?;
            println!(
                "Wrote a backup of {} to {}.",
                database.display(),
                file.display()
            );
            Ok(())
        }
        Command::Restore { file } => {
            let database = sqlite_database(&global, "restore it with pg_restore or psql")?;
            roster::store::backup::restore_sqlite(&file, &database)?;
            println!("Restored {} from {}.", database.display(), file.display());
            Ok(())
        }
        Command::Migrate { command } => {
            let store = Store::connect(
                &database_url(&global)?,
                &global.store_options(),
                Clock::default(),
            )
            .await
            .map_err(describe)?;
            if matches!(command, None | Some(MigrateCommand::Apply)) {
                store.migrate().await.map_err(describe)?;
            }
            for (version, description, applied) in
                store.migration_status().await.map_err(describe)?
            {
                println!(
                    "{version:>4}  {:<8}  {description}",
                    if applied { "applied" } else { "pending" }
                );
            }
            store.close().await;
            Ok(())
        }
    }
}

/// Streams the log in pages, oldest first; a reader that stops early (`| head`) ends it quietly.
async fn export_audit_log(
    store: &Store,
    org: Option<String>,
    since: Option<i64>,
    format: ExportFormat,
) -> Result<(), String> {
    use roster::api::audit_logs::AuditLogObject;
    use roster::domain::audit::Filter;
    use roster::store::audit_logs::LogPage;

    let ExportFormat::Jsonl = format;
    let org_id = match org {
        Some(id) => store.get_organization(&id).await.map_err(describe)?.id,
        None => {
            let orgs = store.list_organizations().await.map_err(describe)?;
            match <[_; 1]>::try_from(orgs) {
                Ok([only]) => only.id,
                Err(orgs) => {
                    return Err(format!(
                        "this database holds {} organizations; choose one with --org",
                        orgs.len()
                    ));
                }
            }
        }
    };
    let filter = Filter {
        from: since,
        ..Filter::default()
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut page = LogPage {
        older_than: None,
        newer_than: None,
        newest_first: false,
        limit: 500,
    };
    loop {
        let entries = store
            .list_audit_logs(&org_id, &filter, &page)
            .await
            .map_err(describe)?;
        page.newer_than = entries.items.last().map(|e| e.id.clone());
        for entry in entries.items {
            let line =
                serde_json::to_string(&AuditLogObject::new(entry)).map_err(|e| e.to_string())?;
            if let Err(e) = writeln!(out, "{line}") {
                return quiet_broken_pipe(e);
            }
        }
        if !entries.has_more {
            break;
        }
    }
    out.flush().or_else(quiet_broken_pipe)
}

fn quiet_broken_pipe(e: std::io::Error) -> Result<(), String> {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(format!("cannot write the export: {e}"))
    }
}

fn database_url(global: &GlobalArgs) -> Result<String, String> {
    std::fs::create_dir_all(&global.data_dir).map_err(|e| {
        format!(
            "cannot create the data dir {}: {e}",
            global.data_dir.display()
        )
    })?;
    Ok(global.database_url())
}

/// The SQLite file of the database, or why there is none: on PostgreSQL, `instead` says what to
/// use.
fn sqlite_database(global: &GlobalArgs, instead: &str) -> Result<std::path::PathBuf, String> {
    let url = database_url(global)?;
    if url.starts_with("postgres") {
        return Err(format!(
            "the database is PostgreSQL: {instead} (roster backs up only its embedded SQLite database)"
        ));
    }
    Ok(std::path::PathBuf::from(roster::store::sqlite_path(&url)))
}

async fn open(global: &GlobalArgs) -> Result<Store, String> {
    Store::open(
        &database_url(global)?,
        &global.store_options(),
        Clock::default(),
    )
    .await
    .map_err(describe)
}

async fn bootstrap(
    store: &Store,
    args: &BootstrapArgs,
) -> Result<Option<FoundedOrganization>, String> {
    if let Some(key) = &args.bootstrap_admin_key
        && !secret::looks_like_admin_key(key)
    {
        return Err("ROSTER_BOOTSTRAP_ADMIN_KEY must look like sk-admin-<at least 16 letters, digits, - or _>".into());
    }
    let new = NewOrganization::new(&args.org_name, &args.owner_email, &args.owner_name)
        .map_err(describe)?;
    store
        .bootstrap(&new, args.bootstrap_admin_key.as_deref())
        .await
        .map_err(describe)
}

/// The emulator's fixtures go into a database founded by this start; a database that already
/// held data is left as it is (a reset loads them).
async fn load_fixtures(
    store: &Store,
    settings: &roster::api::Settings,
    founded_now: bool,
) -> Result<(), String> {
    let Some(fixtures) = settings.emulator.as_ref().and_then(|e| e.fixtures.as_ref()) else {
        return Ok(());
    };
    if !founded_now {
        tracing::info!(
            "the database already holds data: fixtures not loaded; POST /v1/emulator/reset loads them"
        );
        return Ok(());
    }
    store
        .load_fixtures(fixtures)
        .await
        .map_err(|e| format!("the fixtures could not be loaded: {e}"))
}

/// The one place a new organization's key is shown: stdout, never the log.
fn print_founded(founded: &FoundedOrganization, args: &BootstrapArgs, base_url: &str) {
    let org = &founded.organization;
    println!(
        "Roster founded the organization \"{}\" ({}), owned by {}.",
        org.name, org.id, org.owner_email
    );
    // A key the operator chose is not echoed (stdout is often logged): the example names it as
    // it was given, by the variable only when it came from the environment.
    let key = match &args.bootstrap_admin_key {
        Some(chosen) if std::env::var("ROSTER_BOOTSTRAP_ADMIN_KEY").is_ok_and(|v| v == *chosen) => {
            println!("Its admin API key is the value of ROSTER_BOOTSTRAP_ADMIN_KEY.");
            "$ROSTER_BOOTSTRAP_ADMIN_KEY"
        }
        Some(_) => {
            println!("Its admin API key is the value of --bootstrap-admin-key.");
            "<the --bootstrap-admin-key value>"
        }
        None => {
            println!(
                "Its admin API key (shown once; store it now):\n\n    {}\n",
                founded.admin_key
            );
            founded.admin_key.as_str()
        }
    };
    println!(
        "Try it:\n\n    curl -H \"Authorization: Bearer {key}\" {base_url}/v1/organization/projects\n"
    );
}

fn describe(e: Error) -> String {
    e.to_string()
}

/// SIGTERM or SIGINT (Ctrl-C), listened for from the moment this is called, before the server
/// says it is serving: a stop sent right after start shuts down cleanly instead of killing the
/// process.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let streams = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        );
        async move {
            match streams {
                (Ok(mut terminate), Ok(mut interrupt)) => {
                    tokio::select! {
                        _ = terminate.recv() => {}
                        _ = interrupt.recv() => {}
                    }
                }
                _ => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// `roster scim token ...`: changes made through the CLI have no actor.
async fn scim_token(store: &Store, command: ScimTokenCommand) -> Result<(), String> {
    let author = |org: &str| {
        let (store, org) = (store.clone(), org.to_owned());
        async move { store.cli_author(&org).await.map_err(describe) }
    };
    match command {
        ScimTokenCommand::Create { org, name } => {
            let (token, value) = store
                .create_scim_token(&author(&org).await?, name.as_deref())
                .await
                .map_err(describe)?;
            println!(
                "New SCIM token {} for {org} (shown once; give it to the identity provider now):\n\n    {value}\n",
                token.id
            );
        }
        ScimTokenCommand::Revoke { org, id } => {
            store
                .revoke_scim_token(&author(&org).await?, &id)
                .await
                .map_err(describe)?;
            println!("Revoked SCIM token {id} of {org}.");
        }
        ScimTokenCommand::List { org } => {
            for token in store.list_scim_tokens(&org).await.map_err(describe)? {
                println!(
                    "{}\t{}\t{}",
                    token.id,
                    token.name.as_deref().unwrap_or("-"),
                    token.created_at
                );
            }
        }
    }
    Ok(())
}
