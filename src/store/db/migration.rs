//! Applying migrations, on SQLite's writer or on a PostgreSQL connection holding the lock.

use std::time::Instant;

use super::*;
use crate::domain::name;
use crate::store::migrate::Fold;

/// PostgreSQL's advisory lock that migrating replicas take turns on.
pub(super) const MIGRATION_LOCK: i64 = 0x726f_7374_6572;

/// Where migrations are applied: the writer, or a PostgreSQL connection holding the lock.
pub(super) enum MigrationConn<'c> {
    Sqlite(&'c mut rusqlite::Connection),
    Postgres(&'c deadpool_postgres::Client),
}

impl MigrationConn<'_> {
    async fn script(&mut self, script: &str) -> DbResult<()> {
        let outcome = match self {
            MigrationConn::Sqlite(conn) => conn.execute_batch(script).map_err(DbError::from),
            MigrationConn::Postgres(client) => {
                client.batch_execute(script).await.map_err(DbError::from)
            }
        };
        if outcome.is_err() {
            let rollback = "ROLLBACK";
            let _ = match self {
                MigrationConn::Sqlite(conn) => conn.execute_batch(rollback).map_err(DbError::from),
                MigrationConn::Postgres(client) => {
                    client.batch_execute(rollback).await.map_err(DbError::from)
                }
            };
        }
        outcome
    }

    async fn run(&mut self, q: Query, want: Want) -> DbResult<Vec<Row>> {
        let (_, rows) = match self {
            MigrationConn::Sqlite(conn) => q.on_sqlite(conn, want)?,
            MigrationConn::Postgres(client) => q.on_postgres(client, want).await?,
        };
        Ok(rows)
    }

    async fn rows(&mut self, text: &str) -> DbResult<Vec<Row>> {
        self.run(query(text), Want::Rows).await
    }

    /// Sets `fold.folded` to `name::folded` of `fold.column` in the rows where it is not.
    async fn refold(&mut self, fold: &Fold) -> Result<()> {
        let Fold {
            table,
            column,
            folded,
        } = fold;
        let rows = self
            .rows(&format!("SELECT id, {column}, {folded} FROM {table}"))
            .await?;
        for mut row in rows {
            let id: String = row.get_at(0)?;
            let text: Option<String> = row.get_at(1)?;
            let stored: Option<String> = row.get_at(2)?;
            let wanted = text.as_deref().map(name::folded);
            if wanted != stored {
                let update = query(format!("UPDATE {table} SET {folded} = $1 WHERE id = $2"))
                    .bind(wanted)
                    .bind(id);
                self.run(update, Want::Count).await?;
            }
        }
        Ok(())
    }

    /// (version, checksum in lowercase hex, whether it finished) of each applied migration.
    pub(super) async fn applied(&mut self) -> DbResult<Vec<(i64, String, i64)>> {
        let (table, hex) = match self {
            MigrationConn::Sqlite(_) => ("BLOB", "lower(hex(checksum))"),
            MigrationConn::Postgres(_) => ("BYTEA", "encode(checksum, 'hex')"),
        };
        let installed_on = match self {
            MigrationConn::Sqlite(_) => "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
            MigrationConn::Postgres(_) => "TIMESTAMPTZ NOT NULL DEFAULT now()",
        };
        self.script(&format!(
            "CREATE TABLE IF NOT EXISTS _sqlx_migrations (version BIGINT PRIMARY KEY, \
             description TEXT NOT NULL, installed_on {installed_on}, success BOOLEAN NOT NULL, \
             checksum {table} NOT NULL, execution_time BIGINT NOT NULL)"
        ))
        .await?;
        let rows = self
            .rows(&format!(
                "SELECT version, {hex} AS checksum, CASE WHEN success THEN 1 ELSE 0 END AS success \
                 FROM _sqlx_migrations ORDER BY version"
            ))
            .await?;
        rows.into_iter()
            .map(|mut row| {
                Ok((
                    row.get_at(0).map_err(|e| DbError::Other(e.to_string()))?,
                    row.get_at(1).map_err(|e| DbError::Other(e.to_string()))?,
                    row.get_at(2).map_err(|e| DbError::Other(e.to_string()))?,
                ))
            })
            .collect()
    }

    pub(super) async fn apply(&mut self, migrations: &[Migration]) -> Result<()> {
        let applied = self.applied().await?;
        for migration in migrations {
            match applied.iter().find(|(v, _, _)| *v == migration.version) {
                Some((_, _, 0)) => {
                    return Err(Error::Internal(format!(
                        "migration {} was left partly applied; repair the database by hand",
                        migration.version
                    )));
                }
                Some((_, checksum, _)) if *checksum != migration.checksum => {
                    return Err(Error::Internal(format!(
                        "migration {} was applied but has since been modified",
                        migration.version
                    )));
                }
                Some(_) => continue,
                None => {}
            }
            let checksum = match self {
                MigrationConn::Sqlite(_) => format!("X'{}'", migration.checksum),
                MigrationConn::Postgres(_) => format!("'\\x{}'::bytea", migration.checksum),
            };
            let started = Instant::now();
            let failed = |e: &dyn std::fmt::Debug| {
                Error::Internal(format!("migration {} failed: {e:?}", migration.version))
            };
            self.script(&format!("BEGIN;\n{}\n;", migration.sql))
                .await
                .map_err(|e| failed(&e))?;
            for fold in migration.folds {
                if let Err(e) = self.refold(fold).await {
                    let _ = self.script("ROLLBACK").await;
                    return Err(failed(&e));
                }
            }
            self.script(&format!(
                "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
                 VALUES ({}, '{}', TRUE, {checksum}, 0);\nCOMMIT;",
                migration.version,
                migration.description.replace('\'', "''"),
            ))
            .await
            .map_err(|e| failed(&e))?;
            self.script(&format!(
                "UPDATE _sqlx_migrations SET execution_time = {} WHERE version = {}",
                i64::try_from(started.elapsed().as_nanos()).unwrap_or(i64::MAX),
                migration.version
            ))
            .await?;
        }
        Ok(())
    }
}
