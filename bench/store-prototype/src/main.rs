//! Roster's page query (100 members of a project with 1,000) and its create transaction (share
//! the project, read the user, insert the membership and its audit event, commit; then delete it
//! the same way) through three ways of reaching the database, at 16 concurrent tasks:
//!
//! - `sqlx-any`: today's store, sqlx's `Any` driver;
//! - `rusqlite`: SQLite through rusqlite, reads run whole on the task's own thread from a small
//!   pool of connections, each write transaction sent whole to the one writer thread;
//! - `rusqlite-group`: the same, the writer committing the transactions queued together at once
//!   (one savepoint each, one fsync for the group);
//! - `tokio-postgres`: PostgreSQL's native async driver, statements prepared once a connection.
//!
//! `cargo run --release -- sqlite|postgres [seconds]`

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyPool, Row};

const TASKS: usize = 16;
const MEMBERS: usize = 1000;
const ORG: &str = "org-proto";
const PROJECT: &str = "proj_proto";
const CREATE_PROJECT: &str = "proj_creates";

const PAGE: &str = "SELECT u.id, u.name, u.email, pu.role, pu.added_at \
     FROM project_users pu JOIN users u ON u.id = pu.user_id \
     JOIN projects p ON p.id = pu.project_id AND p.archived_at IS NULL \
     WHERE pu.org_id = $1 AND pu.project_id = $2 ORDER BY pu.id LIMIT $3";
const SHARE_PROJECT: &str =
    "SELECT p.id, p.archived_at FROM projects p WHERE p.org_id = $1 AND p.id = $2";
const FIND_USER: &str = "SELECT id, name, email FROM users WHERE org_id = $1 AND id = $2";
const INSERT_MEMBER: &str = "INSERT INTO project_users (id, org_id, project_id, user_id, role, added_at) \
     VALUES ($1, $2, $3, $4, 'member', $5)";
const DELETE_MEMBER: &str = "DELETE FROM project_users WHERE project_id = $1 AND user_id = $2";
const INSERT_EVENT: &str = "INSERT INTO audit_logs (id, org_id, type, effective_at, project_id, actor_id, actor_email, actor_key_id, actor, resource_id, details) \
     VALUES ($1, $2, $3, $4, $5, NULL, NULL, NULL, NULL, $6, '{}')";

#[derive(Debug)]
#[allow(dead_code)] // read to be decoded, as a server would
struct Member {
    id: String,
    name: String,
    email: String,
    role: String,
    added_at: i64,
}

static UNIQUE: AtomicU64 = AtomicU64::new(0);
fn unique(prefix: &str) -> String {
    format!("{prefix}{:020}", UNIQUE.fetch_add(1, Ordering::Relaxed))
}

fn migrations(backend: &str) -> Vec<String> {
    let dir = format!("{}/../../migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

/// The seed: one organization, its projects, `MEMBERS` users who are members of `PROJECT`.
fn seed_statements() -> Vec<String> {
    let mut s = vec![
        format!(
            "INSERT INTO organizations (id, name, created_at, default_project_id) VALUES ('{ORG}', 'Proto', 0, '{PROJECT}')"
        ),
        format!(
            "INSERT INTO projects (id, org_id, name, created_at) VALUES ('{PROJECT}', '{ORG}', 'Read', 0)"
        ),
        format!(
            "INSERT INTO projects (id, org_id, name, created_at) VALUES ('{CREATE_PROJECT}', '{ORG}', 'Write', 0)"
        ),
    ];
    for i in 0..MEMBERS {
        s.push(format!("INSERT INTO users (id, org_id, email, name, role, added_at) VALUES ('user-{i:06}', '{ORG}', 'u{i}@example.com', 'User {i}', 'reader', 0)"));
        s.push(format!("INSERT INTO project_users (id, org_id, project_id, user_id, role, added_at) VALUES ('pu_{i:06}', '{ORG}', '{PROJECT}', 'user-{i:06}', 'member', 0)"));
    }
    s
}

/// Runs `op` from `TASKS` tasks for `seconds`; returns operations a second.
async fn drive<F, Fut>(seconds: u64, op: F) -> f64
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let op = Arc::new(op);
    let done = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(seconds);
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let (op, done) = (op.clone(), done.clone());
            tokio::spawn(async move {
                let mut i = t;
                while Instant::now() < until {
                    op(i).await;
                    done.fetch_add(1, Ordering::Relaxed);
                    i += TASKS;
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    done.load(Ordering::Relaxed) as f64 / seconds as f64
}

// ---- sqlx Any (today's store) ----

async fn sqlx_pools(url: &str, sqlite: bool) -> (AnyPool, AnyPool) {
    sqlx::any::install_default_drivers();
    if sqlite {
        let setup = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;";
        let write = AnyPoolOptions::new()
            .max_connections(1)
            .after_connect(move |c, _| {
                Box::pin(async move { sqlx::Executor::execute(c, setup).await.map(drop) })
            })
            .connect(url)
            .await
            .unwrap();
        let read = AnyPoolOptions::new()
            .max_connections(8)
            .after_connect(move |c, _| {
                Box::pin(async move { sqlx::Executor::execute(c, setup).await.map(drop) })
            })
            .connect(url)
            .await
            .unwrap();
        (write, read)
    } else {
        let pool = AnyPoolOptions::new()
            .max_connections(8)
            .connect(url)
            .await
            .unwrap();
        (pool.clone(), pool)
    }
}

async fn sqlx_page(read: &AnyPool) -> Vec<Member> {
    sqlx::query(PAGE)
        .bind(ORG)
        .bind(PROJECT)
        .bind(101_i64)
        .fetch_all(read)
        .await
        .unwrap()
        .iter()
        .map(|r| Member {
            id: r.get(0),
            name: r.get(1),
            email: r.get(2),
            role: r.get(3),
            added_at: r.get(4),
        })
        .collect()
}

async fn sqlx_member_change(write: &AnyPool, begin: &'static str, user: &str, add: bool) {
    let mut tx = write.begin_with(begin).await.unwrap();
    sqlx::query(SHARE_PROJECT)
        .bind(ORG)
        .bind(CREATE_PROJECT)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    sqlx::query(FIND_USER)
        .bind(ORG)
        .bind(user)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    if add {
        sqlx::query(INSERT_MEMBER)
            .bind(unique("pu_"))
            .bind(ORG)
            .bind(CREATE_PROJECT)
            .bind(user)
            .bind(1_i64)
            .execute(&mut *tx)
            .await
            .unwrap();
    } else {
        sqlx::query(DELETE_MEMBER)
            .bind(CREATE_PROJECT)
            .bind(user)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    sqlx::query(INSERT_EVENT)
        .bind(unique("audit_"))
        .bind(ORG)
        .bind(if add { "user.added" } else { "user.deleted" })
        .bind(1_i64)
        .bind(CREATE_PROJECT)
        .bind(user)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

async fn run_sqlx(url: &str, sqlite: bool, seconds: u64) -> (f64, f64) {
    let (write, read) = sqlx_pools(url, sqlite).await;
    let begin = if sqlite { "BEGIN IMMEDIATE" } else { "BEGIN" };
    assert_eq!(sqlx_page(&read).await.len(), 101);
    let r = read.clone();
    let pages = drive(seconds, move |_| {
        let r = r.clone();
        async move {
            sqlx_page(&r).await;
        }
    })
    .await;
    let creates = drive(seconds, move |i| {
        let w = write.clone();
        async move {
            let user = format!("user-{:06}", i % MEMBERS);
            sqlx_member_change(&w, begin, &user, true).await;
            sqlx_member_change(&w, begin, &user, false).await;
        }
    })
    .await;
    (pages, creates)
}

// ---- rusqlite ----

type Job = Box<dyn FnOnce(&rusqlite::Connection) + Send>;

fn open_sqlite(path: &str, read_only: bool) -> rusqlite::Connection {
    let c = rusqlite::Connection::open(path).unwrap();
    c.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 30000;")
        .unwrap();
    if read_only {
        c.execute_batch("PRAGMA query_only = ON;").unwrap();
    }
    c
}

/// Readers: a few connections; a task takes one, runs its query whole on its own thread, and
/// gives it back. No hand-off: the query takes microseconds.
struct Readers(Mutex<Vec<rusqlite::Connection>>, String);

impl Readers {
    fn with<T>(&self, f: impl FnOnce(&rusqlite::Connection) -> T) -> T {
        let conn = self.0.lock().unwrap().pop();
        let conn = conn.unwrap_or_else(|| open_sqlite(&self.1, true));
        let value = f(&conn);
        self.0.lock().unwrap().push(conn);
        value
    }
}

fn rusqlite_page(c: &rusqlite::Connection) -> Vec<Member> {
    let mut s = c.prepare_cached(PAGE).unwrap();
    s.query_map((ORG, PROJECT, 101_i64), |r| {
        Ok(Member {
            id: r.get(0)?,
            name: r.get(1)?,
            email: r.get(2)?,
            role: r.get(3)?,
            added_at: r.get(4)?,
        })
    })
    .unwrap()
    .collect::<Result<_, _>>()
    .unwrap()
}

fn rusqlite_member_change(c: &rusqlite::Connection, user: &str, add: bool) {
    c.prepare_cached(SHARE_PROJECT)
        .unwrap()
        .query_row((ORG, CREATE_PROJECT), |r| r.get::<_, String>(0))
        .unwrap();
    c.prepare_cached(FIND_USER)
        .unwrap()
        .query_row((ORG, user), |r| r.get::<_, String>(0))
        .unwrap();
    if add {
        c.prepare_cached(INSERT_MEMBER)
            .unwrap()
            .execute((unique("pu_"), ORG, CREATE_PROJECT, user, 1_i64))
            .unwrap();
    } else {
        c.prepare_cached(DELETE_MEMBER)
            .unwrap()
            .execute((CREATE_PROJECT, user))
            .unwrap();
    }
    c.prepare_cached(INSERT_EVENT)
        .unwrap()
        .execute((
            unique("audit_"),
            ORG,
            if add { "user.added" } else { "user.deleted" },
            1_i64,
            CREATE_PROJECT,
            user,
        ))
        .unwrap();
}

/// The writer thread: runs each job in its own transaction, or (`group`) every job queued at
/// once in one transaction with a savepoint each.
fn writer(path: &str, group: bool) -> std::sync::mpsc::Sender<Job> {
    let (tx, rx) = std::sync::mpsc::channel::<Job>();
    let conn = open_sqlite(path, false);
    std::thread::spawn(move || {
        while let Ok(first) = rx.recv() {
            let mut jobs = vec![first];
            if group {
                jobs.extend(rx.try_iter());
            }
            conn.execute_batch("BEGIN IMMEDIATE").unwrap();
            for job in jobs {
                if group {
                    conn.execute_batch("SAVEPOINT op").unwrap();
                    job(&conn);
                    conn.execute_batch("RELEASE op").unwrap();
                } else {
                    job(&conn);
                }
            }
            conn.execute_batch("COMMIT").unwrap();
            // (A real writer answers each caller after the commit; here the job answers as it
            // ends, which the commit follows at once.)
        }
    });
    tx
}

async fn run_rusqlite(path: &str, seconds: u64, group: bool) -> (f64, f64) {
    let readers = Arc::new(Readers(Mutex::new(Vec::new()), path.to_owned()));
    assert_eq!(readers.with(rusqlite_page).len(), 101);
    let r = readers.clone();
    let pages = drive(seconds, move |_| {
        let r = r.clone();
        async move {
            r.with(rusqlite_page);
        }
    })
    .await;
    let jobs = Arc::new(Mutex::new(writer(path, group)));
    let creates = drive(seconds, move |i| {
        let jobs = jobs.clone();
        async move {
            let user = format!("user-{:06}", i % MEMBERS);
            for add in [true, false] {
                let (done, answer) = tokio::sync::oneshot::channel();
                let user = user.clone();
                let job: Job = Box::new(move |c| {
                    rusqlite_member_change(c, &user, add);
                    let _ = done.send(());
                });
                jobs.lock().unwrap().send(job).unwrap();
                answer.await.unwrap();
            }
        }
    })
    .await;
    (pages, creates)
}

// ---- tokio-postgres ----

struct PgConn {
    client: tokio_postgres::Client,
    page: tokio_postgres::Statement,
    share: tokio_postgres::Statement,
    find: tokio_postgres::Statement,
    insert: tokio_postgres::Statement,
    delete: tokio_postgres::Statement,
    event: tokio_postgres::Statement,
}

async fn pg_connect(url: &str) -> PgConn {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    PgConn {
        page: client.prepare(PAGE).await.unwrap(),
        share: client.prepare(SHARE_PROJECT).await.unwrap(),
        find: client.prepare(FIND_USER).await.unwrap(),
        insert: client.prepare(INSERT_MEMBER).await.unwrap(),
        delete: client.prepare(DELETE_MEMBER).await.unwrap(),
        event: client.prepare(INSERT_EVENT).await.unwrap(),
        client,
    }
}

async fn pg_page(c: &PgConn) -> Vec<Member> {
    c.client
        .query(&c.page, &[&ORG, &PROJECT, &101_i64])
        .await
        .unwrap()
        .iter()
        .map(|r| Member {
            id: r.get(0),
            name: r.get(1),
            email: r.get(2),
            role: r.get(3),
            added_at: r.get(4),
        })
        .collect()
}

async fn pg_member_change(c: &mut PgConn, user: &str, add: bool) {
    let tx = c.client.transaction().await.unwrap();
    tx.query_one(&c.share, &[&ORG, &CREATE_PROJECT])
        .await
        .unwrap();
    tx.query_one(&c.find, &[&ORG, &user]).await.unwrap();
    if add {
        tx.execute(
            &c.insert,
            &[&unique("pu_"), &ORG, &CREATE_PROJECT, &user, &1_i64],
        )
        .await
        .unwrap();
    } else {
        tx.execute(&c.delete, &[&CREATE_PROJECT, &user])
            .await
            .unwrap();
    }
    let kind = if add { "user.added" } else { "user.deleted" };
    tx.execute(
        &c.event,
        &[
            &unique("audit_"),
            &ORG,
            &kind,
            &1_i64,
            &CREATE_PROJECT,
            &user,
        ],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
}

async fn run_tokio_postgres(url: &str, seconds: u64) -> (f64, f64) {
    let mut pool = Vec::new();
    for _ in 0..8 {
        pool.push(tokio::sync::Mutex::new(pg_connect(url).await));
    }
    let pool = Arc::new(pool);
    assert_eq!(pg_page(&*pool[0].lock().await).await.len(), 101);
    let p = pool.clone();
    let pages = drive(seconds, move |i| {
        let p = p.clone();
        async move {
            pg_page(&*p[i % 8].lock().await).await;
        }
    })
    .await;
    let creates = drive(seconds, move |i| {
        let p = pool.clone();
        async move {
            let user = format!("user-{:06}", i % MEMBERS);
            let mut c = p[i % 8].lock().await;
            pg_member_change(&mut c, &user, true).await;
            pg_member_change(&mut c, &user, false).await;
        }
    })
    .await;
    (pages, creates)
}

fn report(name: &str, (pages, creates): (f64, f64)) {
    println!("| {name} | {pages:>9.0} | {creates:>9.0} |");
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let backend = args.next().unwrap_or_else(|| "sqlite".into());
    let seconds: u64 = args.next().map(|s| s.parse().unwrap()).unwrap_or(5);
    println!("| {backend}, {TASKS} tasks, {MEMBERS} members | pages /s | creates /s |");
    println!("|---|---:|---:|");
    if backend == "sqlite" {
        let dir = std::env::temp_dir().join(format!("store-prototype-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("proto.db").display().to_string();
        {
            let c = open_sqlite(&path, false);
            for m in migrations("sqlite") {
                c.execute_batch(&m).unwrap();
            }
            c.execute_batch("BEGIN").unwrap();
            for s in seed_statements() {
                c.execute_batch(&s).unwrap();
            }
            c.execute_batch("COMMIT; ANALYZE;").unwrap();
        }
        report(
            "sqlx-any",
            run_sqlx(&format!("sqlite://{path}"), true, seconds).await,
        );
        report("rusqlite", run_rusqlite(&path, seconds, false).await);
        report("rusqlite-group", run_rusqlite(&path, seconds, true).await);
        std::fs::remove_dir_all(dir).unwrap();
    } else {
        let admin = "postgres://postgres@127.0.0.1:5432/postgres";
        let (c, conn) = tokio_postgres::connect(admin, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        for statement in [
            "DROP DATABASE IF EXISTS store_prototype",
            "CREATE DATABASE store_prototype",
        ] {
            c.batch_execute(statement).await.unwrap();
        }
        let url = "postgres://postgres@127.0.0.1:5432/store_prototype";
        let (db, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(conn);
        for m in migrations("postgres") {
            db.batch_execute(&m).await.unwrap();
        }
        db.batch_execute(&format!(
            "BEGIN; {}; COMMIT; ANALYZE",
            seed_statements().join(";\n")
        ))
        .await
        .unwrap();
        report("sqlx-any", run_sqlx(url, false, seconds).await);
        report("tokio-postgres", run_tokio_postgres(url, seconds).await);
    }
}
