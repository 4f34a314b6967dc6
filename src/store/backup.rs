//! Backing up and restoring the embedded SQLite database: a consistent snapshot written while a
//! server runs (`VACUUM INTO`), and a restore that refuses a database a server holds. On
//! PostgreSQL, `pg_dump` and `pg_restore` are the tools.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags};

/// What `serve` holds on its SQLite database while it runs: a shared lock on a file beside it,
/// which a restore must take exclusively. Released when dropped, or when the process ends.
#[derive(Debug)]
pub struct ServingHold {
    _lock: File,
}

fn lock_path(database: &Path) -> PathBuf {
    let mut name = database.as_os_str().to_owned();
    name.push(".serving");
    PathBuf::from(name)
}

fn lock_file(database: &Path) -> Result<File, String> {
    let path = lock_path(database);
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))
}

/// Marks `database` as served by this process, for as long as the hold lives.
pub fn hold_for_serving(database: &Path) -> Result<ServingHold, String> {
    let lock = lock_file(database)?;
    lock.try_lock_shared().map_err(|e| {
        format!(
            "cannot mark {} as served (a restore is under way?): {e}",
            database.display()
        )
    })?;
    Ok(ServingHold { _lock: lock })
}

/// Writes a consistent snapshot of `database` to `file`, which must not exist yet. Safe while a
/// server runs: the snapshot is one read transaction.
pub fn backup_sqlite(database: &Path, file: &Path) -> Result<(), String> {
    if file.exists() {
        return Err(format!(
            "{} already exists; back up into a new file",
            file.display()
        ));
    }
    if !database.exists() {
        return Err(format!("there is no database at {}", database.display()));
    }
    let conn = Connection::open_with_flags(database, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open {}: {e}", database.display()))?;
    conn.execute("VACUUM INTO ?1", [file.display().to_string()])
        .map_err(|e| format!("cannot write the backup {}: {e}", file.display()))?;
    Ok(())
}

/// Replaces `database` with the backup `file`, unless a server is using it. The backup must be a
/// sound SQLite database of Roster's; it replaces the old file whole, write-ahead log and all.
pub fn restore_sqlite(file: &Path, database: &Path) -> Result<(), String> {
    let lock = lock_file(database)?;
    if lock.try_lock().is_err() {
        return Err(format!(
            "{} is in use by a running roster server; stop it before restoring",
            database.display()
        ));
    }
    check_backup(file)?;
    let staged = database.with_extension("restoring");
    std::fs::copy(file, &staged).map_err(|e| format!("cannot copy {}: {e}", file.display()))?;
    rebuild_trigram_indexes(&staged)?;
    File::open(&staged)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", staged.display()))?;
    // The old database's write-ahead log belongs to it, not to the restored file.
    for suffix in ["-wal", "-shm"] {
        let mut name = database.as_os_str().to_owned();
        name.push(suffix);
        match std::fs::remove_file(PathBuf::from(name)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove the old write-ahead log: {e}")),
        }
    }
    std::fs::rename(&staged, database)
        .map_err(|e| format!("cannot put the backup in place: {e}"))?;
    drop(lock);
    Ok(())
}

/// Rebuilds the trigram indexes of SCIM's filters (migration 0013) from their tables: they find
/// rows by rowid, which SQLite does not promise to keep across a copy.
fn rebuild_trigram_indexes(database: &Path) -> Result<(), String> {
    let failed = |e: rusqlite::Error| format!("cannot rebuild the search indexes: {e}");
    let conn = Connection::open(database).map_err(failed)?;
    for index in ["users_search", "org_groups_search"] {
        let present: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?1",
                [index],
                |row| row.get(0),
            )
            .map_err(failed)?;
        if present == 1 {
            conn.execute(
                &format!("INSERT INTO {index} ({index}) VALUES ('rebuild')"),
                [],
            )
            .map_err(failed)?;
        }
    }
    Ok(())
}

/// Whether `file` is a sound SQLite database that Roster wrote.
fn check_backup(file: &Path) -> Result<(), String> {
    let conn = Connection::open_with_flags(file, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open the backup {}: {e}", file.display()))?;
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .map_err(|e| format!("{} is not an SQLite database: {e}", file.display()))?;
    if integrity != "ok" {
        return Err(format!(
            "{} is damaged (integrity check: {integrity})",
            file.display()
        ));
    }
    let roster: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('_sqlx_migrations', 'organizations')",
            [],
            |row| row.get(0),
        )
        .map_err(|e| format!("cannot read the backup {}: {e}", file.display()))?;
    if roster != 2 {
        return Err(format!("{} is not a Roster database", file.display()));
    }
    Ok(())
}
