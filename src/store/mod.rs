//! Storage: one set of queries for SQLite and PostgreSQL, written in the SQL both speak. The
//! drivers (rusqlite, tokio-postgres) are behind one seam, `db/`; what differs in the SQL
//! (row locks, an aggregate's name) is in `backend.rs`. Nothing else knows the backend.

/// `transact!(store, author, |tx| { ... })` runs the block in one transaction and commits it:
/// `tx` is the transaction (`tx::Tx`: its connection, the backend, the author and the clock's
/// reading), and a mutation and its audit event commit together or not at all.
/// `transact!(store, |tx| { ... })` is the same for Roster's own housekeeping, with no author.
/// Every commit clears the gateway's cached decisions, as any change may change what a key may
/// do; `transact!(store, keeping decisions, |tx| { ... })` is housekeeping that provably cannot
/// (the mail queue, audit pruning), so the cache stays.
/// When PostgreSQL aborts the transaction for a serialization failure or a deadlock (concurrent
/// writers on one row), the block runs again from the start. (A macro rather than a method
/// taking an async closure: such closures can't yet be proven `Send`, which axum's handlers must
/// be.)
macro_rules! transact {
    ($store:expr, keeping decisions, |$tx:ident| $body:block) => {
        transact!(@run $store, None, false, |$tx| $body)
    };
    ($store:expr, |$tx:ident| $body:block) => {
        transact!(@run $store, None, true, |$tx| $body)
    };
    ($store:expr, $author:expr, |$tx:ident| $body:block) => {
        transact!(@run $store, Some($crate::store::Author::clone($author)), true, |$tx| $body)
    };
    (@run $store:expr, $author:expr, $clears_decisions:expr, |$tx:ident| $body:block) => {{
        let store: &$crate::store::Store = $store;
        let mut attempt = 1;
        loop {
            // A span per attempt, at debug level: disabled, and free, unless traces are exported.
            let span = tracing::debug_span!("transaction", attempt);
            let outcome: $crate::domain::Result<_> = tracing::Instrument::instrument(async {
                let mut turn = store.db.begin().await?;
                let (value, recorded) = {
                    let mut tx = $crate::store::tx::Tx {
                        conn: turn.conn(),
                        backend: store.backend,
                        author: $author,
                        now: store.clock.now(),
                        recorded: 0,
                    };
                    let $tx = &mut tx;
                    let result: $crate::domain::Result<_> = async { $body }.await;
                    (result, tx.recorded)
                };
                match value {
                    Ok(value) => {
                        turn.commit().await?;
                        metrics::counter!("roster_audit_events_total").increment(recorded);
                        if $clears_decisions {
                            // Gateway checks load afresh what the change may have changed.
                            store.decisions.clear();
                        }
                        Ok(value)
                    }
                    Err(e) => {
                        turn.rollback().await;
                        Err(e)
                    }
                }
            }, span)
            .await;
            if !store.should_retry(&outcome, &mut attempt).await {
                break outcome;
            }
        }
    }};
}

mod admin_api_keys;
pub mod audit_logs;
mod backend;
pub mod backup;
mod cache;
pub mod certificates;
mod db;
mod fixtures;
pub mod gateway;
mod groups;
pub mod invites;
pub mod migrate;
pub mod organizations;
pub mod outgoing_mail;
mod project_api_keys;
pub mod project_policies;
mod project_users;
mod projects;
pub mod role_assignments;
pub mod roles;
mod rows;
pub mod scim;
mod service_accounts;
mod sql;
mod tx;
mod users;

use std::sync::Arc;
use std::time::Duration;

pub use backend::Backend;
pub use db::sqlite_path;

use crate::domain::audit::Actor;
use crate::domain::gateway::KeyFacts;
use crate::domain::page::Page;
use crate::domain::principal::Principal;
use crate::domain::{Clock, Error, Result};

/// Pool and timeout settings, from the configuration.
#[derive(Clone, Debug)]
pub struct StoreOptions {
    /// Reader connections kept open (SQLite, whose one writer has its own), or the pool's size
    /// (PostgreSQL).
    pub max_connections: u32,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
    /// SQLite's `synchronous`: whether a commit waits for the disk (`Full`) or may be lost to
    /// an operating-system crash or power cut (`Normal`).
    pub sqlite_synchronous: Synchronous,
}

impl Default for StoreOptions {
    fn default() -> Self {
        StoreOptions {
            max_connections: 8,
            connect_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(30),
            sqlite_synchronous: Synchronous::Full,
        }
    }
}

/// SQLite's `PRAGMA synchronous` in WAL mode: `Full` syncs the WAL at every commit, so an
/// acknowledged change survives a power cut; `Normal` syncs only at checkpoints, faster but able
/// to lose the last commits (a revoked key could come back).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Synchronous {
    Full,
    Normal,
}

impl Synchronous {
    pub fn as_str(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// The database, shared by every request. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Backend,
    /// The database: reads run on a pooled connection; writes in `transact!`.
    db: db::Database,
    clock: Clock,
    /// Recently authenticated admin keys (`admin_api_keys.rs`), shared by the clones.
    keys: Arc<cache::Cache<Principal>>,
    /// Rung after a commit that queued mail, so that this process sends it at once.
    mail: Arc<tokio::sync::Notify>,
    /// What gateway checks loaded recently (`gateway.rs`), cleared by every commit that may
    /// change a decision (`transact!`).
    decisions: Arc<cache::Cache<Option<Arc<KeyFacts>>>>,
    /// Where SCIM list walks left off (`scim/list.rs`), shared by the clones.
    scim_pages: Arc<scim::PageStarts>,
    /// Project keys used since their `last_used_at` was last written, by id: the time of use.
    key_uses: Arc<std::sync::Mutex<std::collections::HashMap<String, i64>>>,
}

/// The caller a mutation is recorded against: its organization, and the audit actor.
#[derive(Clone, Debug)]
pub struct Author {
    pub org_id: String,
    /// `None` for changes made by Roster's own CLI, which the contract has no actor type for.
    pub actor: Option<Actor>,
    /// Admin actions are associated with the organization's default project (as the contract's
    /// `AuditLog.project` says) unless they concern a project of their own.
    pub default_project_id: Option<String>,
}

/// What `Store::refresh_statistics` knows of each table between runs: its rows when it last
/// counted them, and its highest rowid then. Empty, the next run counts every table.
#[derive(Debug, Default)]
pub struct TableWatch {
    counted: std::collections::HashMap<String, (i64, i64)>,
}

/// The tables a statistics run counted the rows of, those it analyzed, and those whose
/// statistics it dropped (under `ANALYZED_FROM` rows).
#[derive(Debug, Default, PartialEq)]
pub struct StatisticsRun {
    pub counted: Vec<String>,
    pub analyzed: Vec<String>,
    pub dropped: Vec<String>,
}

/// A table with fewer rows keeps no statistics. Statistics of a handful of rows tell SQLite
/// that reading the whole table costs less than one lookup by its primary key, a plan that
/// stays until the next run however many rows arrive (an import of 100,000 users made a page
/// of a project's members take 53-170 ms); with none, the planner assumes a large table and
/// reads by index, and a table this small costs little whichever way it is read.
const ANALYZED_FROM: i64 = 1_000;

impl Store {
    /// Connects to `url` (`sqlite://...` or `postgres://...`) and applies pending migrations.
    pub async fn open(url: &str, options: &StoreOptions, clock: Clock) -> Result<Store> {
        let store = Store::connect(url, options, clock).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Refreshes SQLite's query planner statistics: `ANALYZE` of each of Roster's tables of
    /// `ANALYZED_FROM` rows or more never analyzed, or whose rows have doubled or halved since it
    /// was, each table one write in its turn; a smaller table's statistics are dropped. Without
    /// statistics at 100,000 users, or with statistics from when an organization had a handful
    /// of rows, SQLite may read every row rather than a filter's own index (a project's members
    /// took 180 ms a page, not 2 ms). Whole tables, not a sample
    /// (`analysis_limit`): a sample of one organization's first rows says an organization has as
    /// many rows as the sample. Not `PRAGMA optimize`: it also analyzes the FTS5 indexes' shadow
    /// tables, whose statistics, taken small, made every insert four times slower as they grew.
    /// PostgreSQL's autovacuum keeps its statistics itself.
    ///
    /// A table is counted only if `watch` has not seen it, or if it may have doubled since it
    /// last counted it (or, never analyzed, reached `ANALYZED_FROM`): its highest rowid, one
    /// step down its B-tree, says how many rows were inserted since then at most. So a run
    /// every minute costs a lookup a table, and a count only after as many inserts as the table
    /// had rows.
    pub async fn refresh_statistics(&self, watch: &mut TableWatch) -> Result<StatisticsRun> {
        let mut run = StatisticsRun::default();
        if self.backend == Backend::Postgres {
            return Ok(run);
        }
        // The statistics tables ANALYZE has made: sqlite_stat1, and sqlite_stat4's samples.
        let kept: Vec<(String,)> = db::query(
            "SELECT name FROM sqlite_schema WHERE name IN ('sqlite_stat1', 'sqlite_stat4')",
        )
        .fetch_all(&self.db)
        .await?;
        // The rows each table had when last analyzed: the first number of its statistics.
        let analyzed = match kept.iter().any(|(name,)| name == "sqlite_stat1") {
            false => "NULL",
            true => {
                "(SELECT CAST(substr(s.stat, 1, instr(s.stat || ' ', ' ') - 1) AS BIGINT) \
                 FROM sqlite_stat1 s WHERE s.tbl = t.name LIMIT 1)"
            }
        };
        let tables: Vec<(String, Option<i64>, bool)> = db::query(format!(
            "SELECT t.name, {analyzed}, t.wr <> 0 FROM pragma_table_list t \
             WHERE t.schema = 'main' AND t.type = 'table' AND t.name NOT LIKE 'sqlite%'"
        ))
        .fetch_all(&self.db)
        .await?;
        for (table, analyzed, without_rowid) in tables {
            let highest = match without_rowid {
                true => None,
                false => {
                    let (highest,): (i64,) =
                        db::query(format!("SELECT COALESCE(MAX(rowid), 0) FROM \"{table}\""))
                            .fetch_one(&self.db)
                            .await?;
                    Some(highest)
                }
            };
            let may_have_doubled = match (watch.counted.get(&table), highest) {
                // Below what it was, the rowids were renumbered (`VACUUM`): count.
                (Some(&(rows, at)), Some(highest)) if highest >= at => {
                    rows + (highest - at) > analyzed.map_or(ANALYZED_FROM - 1, |then| 2 * then)
                }
                _ => true,
            };
            if !may_have_doubled {
                continue;
            }
            let (rows,): (i64,) = db::query(format!("SELECT COUNT(*) FROM \"{table}\""))
                .fetch_one(&self.db)
                .await?;
            run.counted.push(table.clone());
            // Not `transact!`: statistics change no key's rights, so the gateway's decisions
            // stay cached.
            if rows < ANALYZED_FROM {
                if analyzed.is_some() {
                    for (statistics,) in &kept {
                        let forget = db::query(format!("DELETE FROM {statistics} WHERE tbl = $1"))
                            .bind(table.clone());
                        self.write_once(forget).await?;
                    }
                    run.dropped.push(table.clone());
                }
            } else if analyzed.is_none_or(|then| rows > 2 * then || 2 * rows < then) {
                self.write_once(db::query(format!("ANALYZE \"{table}\"")))
                    .await?;
                run.analyzed.push(table.clone());
            }
            if let Some(highest) = highest {
                watch.counted.insert(table, (rows, highest));
            }
        }
        if !run.dropped.is_empty() {
            // Has the writer reread the statistics tables, which a DELETE does not (the readers
            // are renewed below).
            self.write_once(db::query("ANALYZE sqlite_schema")).await?;
        }
        if !run.analyzed.is_empty() || !run.dropped.is_empty() {
            self.db.renew_readers();
        }
        Ok(run)
    }

    /// Connects without migrating, for `roster migrate status`.
    pub async fn connect(url: &str, options: &StoreOptions, clock: Clock) -> Result<Store> {
        let backend = Backend::from_url(url)?;
        let db = db::Database::open(backend, url, options).await?;
        Ok(Store {
            backend,
            db,
            clock,
            keys: Arc::new(cache::Cache::new(admin_api_keys::KEY_CACHE_CAPACITY)),
            mail: Arc::default(),
            decisions: Arc::new(cache::Cache::new(gateway::DECISION_CACHE_CAPACITY)),
            scim_pages: Arc::default(),
            key_uses: Arc::default(),
        })
    }

    /// Runs a list query built with `limit + 1` rows (see `Sql::keyset`) on the read pool and
    /// turns its rows into one page.
    async fn fetch_page<T: db::FromRow>(&self, sql: sql::Sql, limit: i64) -> Result<Page<T>> {
        let rows = sql.build().fetch_all(&self.db).await?;
        Ok(Page::from_overfetch(rows, limit))
    }

    /// What a one-query retrieve found, or the right 404 when it found nothing: the parent's
    /// (an unknown project or group) if `parent` fails, else `missing`. The parent is looked up
    /// only after a miss, so a retrieve that finds its row stays one query.
    async fn found_or<T, P>(
        found: Option<T>,
        parent: impl Future<Output = Result<P>>,
        missing: impl FnOnce() -> Error,
    ) -> Result<T> {
        match found {
            Some(row) => Ok(row),
            None => {
                parent.await?;
                Err(missing())
            }
        }
    }

    /// The database connections this process holds (no query), for the metrics.
    pub fn pool_status(&self) -> db::PoolStatus {
        self.db.status()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub async fn migrate(&self) -> Result<()> {
        self.db
            .migrate(&migrate::migrations(self.backend))
            .await
            .map_err(|e| Error::Internal(format!("migration failed: {e}")))
    }

    /// Applied and pending migrations, as (version, description, applied).
    pub async fn migration_status(&self) -> Result<Vec<(i64, String, bool)>> {
        let applied = self.db.applied_migrations().await?;
        Ok(migrate::migrations(self.backend)
            .into_iter()
            .map(|m| (m.version, m.description, applied.contains(&m.version)))
            .collect())
    }

    /// How durable a commit is, as the database itself reports it, for the start-up log:
    /// SQLite's `synchronous` on the connection that writes; PostgreSQL's `synchronous_commit`.
    pub async fn durability(&self) -> Result<String> {
        Ok(match self.backend {
            Backend::Sqlite => {
                let (level,): (i64,) = db::query("PRAGMA synchronous").fetch_one(&self.db).await?;
                let name = match level {
                    0 => "OFF",
                    1 => "NORMAL",
                    2 => "FULL",
                    _ => "EXTRA",
                };
                format!("synchronous={name}")
            }
            Backend::Postgres => {
                let (setting,): (String,) = db::query(
                    "SELECT 'synchronous_commit=' || current_setting('synchronous_commit')",
                )
                .fetch_one(&self.db)
                .await?;
                setting
            }
        })
    }

    /// Whether the database answers, for `/readyz`.
    pub async fn ping(&self) -> Result<()> {
        db::query("SELECT 1").execute(&self.db).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.db.close().await;
    }

    /// Runs one statement that writes, in a transaction of its own. It changes no gateway
    /// decision, so the decisions cache stays.
    async fn write_once(&self, query: db::Query) -> Result<u64> {
        let mut turn = self.db.begin().await?;
        let changed = query.execute(turn.conn()).await?;
        turn.commit().await?;
        Ok(changed)
    }

    /// Whether a failed transaction should run again: PostgreSQL aborted it for contention and
    /// attempts remain. Waits a little before saying yes.
    async fn should_retry<T>(&self, outcome: &Result<T>, attempt: &mut u64) -> bool {
        match outcome {
            Err(Error::Contention(cause)) if *attempt < MAX_ATTEMPTS => {
                tracing::debug!(%cause, attempt, "retrying a transaction");
                metrics::counter!("roster_db_transaction_retries_total").increment(1);
                tokio::time::sleep(Duration::from_millis(5 * *attempt)).await;
                *attempt += 1;
                true
            }
            _ => false,
        }
    }
}

/// How often a transaction runs before contention is reported to the caller.
const MAX_ATTEMPTS: u64 = 5;

impl From<&crate::domain::principal::Principal> for Author {
    fn from(principal: &crate::domain::principal::Principal) -> Self {
        Author {
            org_id: principal.org_id.clone(),
            actor: Some(Actor::api_key(principal)),
            default_project_id: Some(principal.default_project_id.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store on a new SQLite database, migrated (the directory holding it goes with the first
    /// of the pair).
    pub(super) async fn new_sqlite_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/roster.db?mode=rwc", dir.path().display());
        let store = Store::open(&url, &StoreOptions::default(), Clock::default())
            .await
            .unwrap();
        (dir, store)
    }

    /// Inserts the organizations `org-{from}` to `org-{to}`.
    fn organizations(from: i64, to: i64) -> db::Query {
        db::query(format!(
            "INSERT INTO organizations (id, name, created_at, default_project_id) \
             WITH RECURSIVE n(i) AS (SELECT {from} UNION ALL SELECT i + 1 FROM n \
             WHERE i < {to}) SELECT 'org-' || i, 'Org', 0, 'proj_' || i FROM n"
        ))
    }

    /// Caches a gateway decision under the digest `digest`, as a check would.
    fn cache_a_decision(store: &Store) {
        let miss = store.decisions.get("digest").unwrap_err();
        store
            .decisions
            .put("digest", None, Duration::from_secs(60), miss);
    }

    /// A statistics run changes no key's rights: the gateway's cached decisions stay, whether
    /// it drops statistics or takes them, and a check on a cached key still touches no database.
    #[tokio::test]
    async fn a_statistics_run_keeps_the_gateways_cached_decisions() {
        let (_dir, store) = new_sqlite_store().await;
        cache_a_decision(&store);
        store.write_once(organizations(1, 5)).await.unwrap();
        store
            .write_once(db::query("ANALYZE organizations"))
            .await
            .unwrap();
        let run = store
            .refresh_statistics(&mut TableWatch::default())
            .await
            .unwrap();
        assert_eq!(run.dropped, ["organizations"], "{run:?}");
        assert!(store.decisions.get("digest").is_ok());

        store
            .write_once(organizations(6, ANALYZED_FROM))
            .await
            .unwrap();
        let run = store
            .refresh_statistics(&mut TableWatch::default())
            .await
            .unwrap();
        assert_eq!(run.analyzed, ["organizations"], "{run:?}");
        assert!(store.decisions.get("digest").is_ok());
    }

    /// Housekeeping changes no key's rights: claiming due mail and pruning the audit log keep the
    /// gateway's cached decisions, where any other commit clears them.
    #[tokio::test]
    async fn housekeeping_keeps_the_gateways_cached_decisions() {
        let (_dir, store) = new_sqlite_store().await;
        let new =
            crate::domain::organization::NewOrganization::new("Org", "ada@example.com", "Ada")
                .unwrap();
        let org = store.create_organization(&new, None).await.unwrap();
        let mail = db::query(
            "INSERT INTO outgoing_mail (id, org_id, recipient, subject, body, created_at, next_attempt_at) \
             VALUES ('mail-1', $1, 'bo@example.com', 'Invited', 'Join us', 0, 0)",
        )
        .bind(org.organization.id.clone());
        store.write_once(mail).await.unwrap();
        cache_a_decision(&store);

        let now = store.clock.now();
        let claimed = store.claim_due_mail(now, now + 60, 5).await.unwrap();
        assert_eq!(claimed.len(), 1, "the due mail was not claimed");
        let pruned = store
            .prune_audit_logs(Some(&org.organization.id), now + 1)
            .await
            .unwrap();
        assert!(pruned[0].1 > 0, "the founding's events were not pruned");
        assert!(
            store.decisions.get("digest").is_ok(),
            "housekeeping cleared the cached decisions"
        );

        transact!(&store, |_tx| { Ok(()) }).unwrap();
        assert!(
            store.decisions.get("digest").is_err(),
            "a commit kept the cached decisions"
        );
    }

    /// Statistics follow a table as it grows: with one watch from run to run, a table is
    /// counted only once its highest rowid says it may have reached `ANALYZED_FROM` rows, or
    /// doubled since it was analyzed, and analyzed when it has; a new watch, as every hour,
    /// counts every table and finds one that lost half its rows. A table under `ANALYZED_FROM`
    /// keeps no statistics, even ones an earlier version or a larger table left.
    #[tokio::test]
    async fn statistics_follow_a_table_that_doubles() {
        let (_dir, store) = new_sqlite_store().await;
        let statistics = || async {
            let kept: Vec<(String,)> =
                db::query("SELECT stat FROM sqlite_stat1 WHERE tbl = 'organizations' ORDER BY idx")
                    .fetch_all(&store.db)
                    .await
                    .unwrap();
            kept.into_iter().map(|(stat,)| stat).collect::<Vec<_>>()
        };
        // Statistics of ten rows, as an earlier version kept them, are dropped.
        store.write_once(organizations(1, 10)).await.unwrap();
        store
            .write_once(db::query("ANALYZE organizations"))
            .await
            .unwrap();
        assert!(!statistics().await.is_empty());
        let mut watch = TableWatch::default();
        let first = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(first.dropped, ["organizations"], "{first:?}");
        assert!(first.analyzed.is_empty(), "{first:?}");
        assert_eq!(statistics().await, Vec::<String>::new());

        store.write_once(organizations(11, 999)).await.unwrap();
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(
            run,
            StatisticsRun::default(),
            "under ANALYZED_FROM rows, not counted"
        );
        store.write_once(organizations(1000, 1000)).await.unwrap();
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(
            run,
            StatisticsRun {
                counted: vec!["organizations".into()],
                analyzed: vec!["organizations".into()],
                dropped: vec![],
            },
            "counted and analyzed at ANALYZED_FROM rows"
        );
        assert!(
            statistics().await[0].starts_with("1000 "),
            "{:?}",
            statistics().await
        );
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(
            run,
            StatisticsRun::default(),
            "nothing new, nothing counted"
        );

        store.write_once(organizations(1001, 2000)).await.unwrap();
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(
            run,
            StatisticsRun::default(),
            "twice as many is not more than double"
        );
        store.write_once(organizations(2001, 2001)).await.unwrap();
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(run.analyzed, ["organizations"], "{run:?}");
        assert!(
            statistics().await[0].starts_with("2001 "),
            "{:?}",
            statistics().await
        );

        store.write_once(organizations(2002, 4003)).await.unwrap();
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(run.analyzed, ["organizations"], "{run:?}");

        // Deleting the oldest leaves the highest rowid as it was: only a new watch sees it.
        let keep_above = |id: i64| {
            db::query(format!(
                "DELETE FROM organizations WHERE CAST(substr(id, 5) AS INTEGER) <= {id}"
            ))
        };
        store.write_once(keep_above(2003)).await.unwrap();
        let run = store.refresh_statistics(&mut watch).await.unwrap();
        assert_eq!(run, StatisticsRun::default(), "{run:?}");
        let run = store
            .refresh_statistics(&mut TableWatch::default())
            .await
            .unwrap();
        assert_eq!(run.analyzed, ["organizations"], "halved: {run:?}");
        assert!(
            statistics().await[0].starts_with("2000 "),
            "{:?}",
            statistics().await
        );

        // Shrunk under ANALYZED_FROM, it keeps no statistics.
        store.write_once(keep_above(3500)).await.unwrap();
        let run = store
            .refresh_statistics(&mut TableWatch::default())
            .await
            .unwrap();
        assert!(run.counted.contains(&"organizations".to_owned()), "{run:?}");
        assert_eq!(run.dropped, ["organizations"], "{run:?}");
        assert_eq!(statistics().await, Vec::<String>::new());
    }

    /// A store on a new SQLite database migrated up to, not including, migration `version`,
    /// holding an organization `org-1` and the rows `inserts` write (the directory holding it
    /// goes with the first of the pair).
    async fn sqlite_migrated_before(version: i64, inserts: &[&str]) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/roster.db?mode=rwc", dir.path().display());
        let store = Store::connect(&url, &StoreOptions::default(), Clock::default())
            .await
            .unwrap();
        let all = migrate::migrations(Backend::Sqlite);
        let before = all.iter().position(|m| m.version == version).unwrap();
        store.db.migrate(&all[..before]).await.unwrap();
        let organization = "INSERT INTO organizations (id, name, created_at, default_project_id) \
                            VALUES ('org-1', 'Org', 0, 'proj_1')";
        for insert in std::iter::once(&organization).chain(inserts) {
            store.write_once(db::query(*insert)).await.unwrap();
        }
        (dir, store)
    }

    /// A `password` an identity provider sent before Roster forgot them (migration 0017) is
    /// taken out of the stored resource; the rest of it stays.
    #[tokio::test]
    async fn passwords_kept_before_migration_17_are_forgotten() {
        let (_dir, store) = sqlite_migrated_before(
            17,
            &[
                r#"INSERT INTO users (id, org_id, email, name, role, added_at, user_name, user_name_folded, name_folded, scim_resource) VALUES
                 ('user-1', 'org-1', 'a@x.test', 'A', 'reader', 0, 'a@x.test', 'a@x.test', 'a', '{"userName":"a@x.test","password":"Sup3r","title":"Dev"}'),
                 ('user-2', 'org-1', 'b@x.test', 'B', 'reader', 0, 'b@x.test', 'b@x.test', 'b', '{"userName":"b@x.test"}'),
                 ('user-3', 'org-1', 'c@x.test', 'C', 'reader', 0, 'c@x.test', 'c@x.test', 'c', NULL)"#,
            ],
        )
        .await;
        store.migrate().await.unwrap();
        let kept: Vec<(Option<String>,)> = db::query("SELECT scim_resource FROM users ORDER BY id")
            .fetch_all(&store.db)
            .await
            .unwrap();
        let kept: Vec<Option<serde_json::Value>> = kept
            .into_iter()
            .map(|(r,)| r.map(|r| serde_json::from_str(&r).unwrap()))
            .collect();
        assert_eq!(
            kept,
            [
                Some(serde_json::json!({"userName": "a@x.test", "title": "Dev"})),
                Some(serde_json::json!({"userName": "b@x.test"})),
                None
            ]
        );
    }

    /// A user an identity provider sent without a `displayName` (before migration 0019) has
    /// none for filters to compare, as her resource shows none; one sent with one, or never
    /// sent through SCIM, keeps hers.
    #[tokio::test]
    async fn display_names_never_sent_are_not_filtered_on_after_migration_19() {
        let (_dir, store) = sqlite_migrated_before(
            19,
            &[
                r#"INSERT INTO users (id, org_id, email, name, role, added_at, user_name, user_name_folded, name_folded, scim_resource) VALUES
                 ('user-1', 'org-1', 'a@x.test', 'Ada L', 'reader', 0, 'a@x.test', 'a@x.test', 'ada l', '{"userName":"a@x.test","name":{"givenName":"Ada","familyName":"L"}}'),
                 ('user-2', 'org-1', 'b@x.test', 'b@x.test', 'reader', 0, 'b@x.test', 'b@x.test', 'b@x.test', '{"userName":"b@x.test","displayName":" "}'),
                 ('user-3', 'org-1', 'c@x.test', 'Cy', 'reader', 0, 'c@x.test', 'c@x.test', 'cy', '{"userName":"c@x.test","DisplayName":"Cy"}'),
                 ('user-4', 'org-1', 'd@x.test', 'Di', 'reader', 0, 'd@x.test', 'd@x.test', 'di', NULL)"#,
            ],
        )
        .await;
        store.migrate().await.unwrap();
        let kept: Vec<(Option<String>,)> = db::query("SELECT name_folded FROM users ORDER BY id")
            .fetch_all(&store.db)
            .await
            .unwrap();
        let kept: Vec<Option<String>> = kept.into_iter().map(|(name,)| name).collect();
        assert_eq!(kept, [None, None, Some("cy".into()), Some("di".into())]);
    }

    /// Names stored before the folded columns (migration 0015) that SQLite's `lower()` cannot
    /// fold are folded as Roster folds them, so SCIM finds them by any case of their letters.
    #[tokio::test]
    async fn names_from_before_the_folded_columns_are_folded_as_roster_folds() {
        use crate::domain::scim::{Resource, parse_filter};
        let (_dir, store) = sqlite_migrated_before(
            15,
            &[
                "INSERT INTO users (id, org_id, email, name, role, added_at, user_name) VALUES \
                 ('user-1', 'org-1', 'ünal@example.com', 'ÜNAL Şahin', 'reader', 0, 'Ünal@Example.com'), \
                 ('user-2', 'org-1', 'ada@example.com', 'Ada', 'reader', 0, 'Ada@Example.com')",
                "INSERT INTO org_groups (id, org_id, name, created_at) VALUES ('group_1', 'org-1', 'Équipe Ärzte', 0)",
            ],
        )
        .await;
        store.migrate().await.unwrap();
        let folded: Vec<(String, String)> =
            db::query("SELECT user_name_folded, name_folded FROM users ORDER BY id")
                .fetch_all(&store.db)
                .await
                .unwrap();
        assert_eq!(
            folded,
            [
                ("ünal@example.com".to_owned(), "ünal şahin".to_owned()),
                ("ada@example.com".into(), "ada".into())
            ]
        );
        for filter in [
            r#"userName eq "ÜNAL@EXAMPLE.COM""#,
            r#"userName sw "ünal@""#,
            r#"displayName co "AL ŞAH""#,
        ] {
            let condition = parse_filter(filter, Resource::User).unwrap();
            let (total, found) = store
                .list_scim_users("org-1", Some(&condition), 1, 10)
                .await
                .unwrap();
            assert_eq!((total, found[0].id.as_str()), (1, "user-1"), "{filter}");
        }
        let condition = parse_filter(r#"displayName eq "ÉQUIPE ÄRZTE""#, Resource::Group).unwrap();
        let (total, _) = store
            .list_scim_groups("org-1", Some(&condition), 1, 10, true)
            .await
            .unwrap();
        assert_eq!(total, 1);
    }
}
