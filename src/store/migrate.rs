//! The schema's migrations, embedded in the binary: `migrations/<backend>/NNNN_name.sql`, applied
//! in order, each once, recorded in `_sqlx_migrations` as Roster has always recorded them
//! (version, description, SHA-384 checksum), so that existing databases carry on.

use sha2::{Digest, Sha384};

use super::Backend;

/// One migration.
pub struct Migration {
    pub version: i64,
    pub description: String,
    pub sql: &'static str,
    /// SHA-384 of `sql`, in lowercase hex: a migration changed after it was applied is refused.
    pub checksum: String,
    /// Columns Roster folds after `sql`, in its transaction.
    pub folds: &'static [Fold],
}

/// A column that keeps another folded (`name::folded`), which SQL's `lower()` cannot compute as
/// Roster does: after the migration's SQL filled it with `lower()`, Roster refolds the rows
/// where Unicode folds otherwise.
pub struct Fold {
    pub table: &'static str,
    pub column: &'static str,
    pub folded: &'static str,
}

/// The folded columns of migration 0015.
const FOLDED_NAMES: &[Fold] = &[
    Fold {
        table: "users",
        column: "user_name",
        folded: "user_name_folded",
    },
    Fold {
        table: "users",
        column: "name",
        folded: "name_folded",
    },
    Fold {
        table: "org_groups",
        column: "name",
        folded: "name_folded",
    },
];

/// Both backends' migrations, which have the same numbers and names.
macro_rules! embed {
    ($($name:literal),* $(,)?) => {
        const SQLITE: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("../../migrations/sqlite/", $name, ".sql")))),*];
        const POSTGRES: &[(&str, &str)] =
            &[$(($name, include_str!(concat!("../../migrations/postgres/", $name, ".sql")))),*];
    };
}

embed!(
    "0001_foundation",
    "0002_membership",
    "0003_audit_log",
    "0004_access",
    "0005_machine_identities",
    "0006_audit_project_type",
    "0007_outgoing_mail",
    "0008_project_policies",
    "0009_resource_permissions",
    "0010_invitation",
    "0011_certificates",
    "0012_scim",
    "0013_scim_search",
    "0014_scim_counts",
    "0015_folded_names",
    "0016_folded_name_indexes",
    "0017_forget_scim_passwords",
    "0018_code_point_order",
    "0019_display_names_as_sent",
);

/// The migrations of `backend`, in order.
pub fn migrations(backend: Backend) -> Vec<Migration> {
    let files = match backend {
        Backend::Sqlite => SQLITE,
        Backend::Postgres => POSTGRES,
    };
    files
        .iter()
        .map(|(name, sql)| {
            let (version, description) = name.split_once('_').unwrap_or((name, ""));
            let version = version.parse().unwrap_or_default();
            Migration {
                version,
                description: description.replace('_', " "),
                sql,
                checksum: Sha384::digest(sql.as_bytes())
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
                folds: if version == 15 { FOLDED_NAMES } else { &[] },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file added to `migrations/` and not embedded would never run.
    #[test]
    fn every_migration_file_is_embedded_in_order() {
        for (backend, dir) in [(Backend::Sqlite, "sqlite"), (Backend::Postgres, "postgres")] {
            let mut files: Vec<String> =
                std::fs::read_dir(format!("{}/migrations/{dir}", env!("CARGO_MANIFEST_DIR")))
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect();
            files.sort();
            let embedded: Vec<String> = migrations(backend)
                .iter()
                .map(|m| format!("{:04}_{}.sql", m.version, m.description.replace(' ', "_")))
                .collect();
            assert_eq!(embedded, files, "{dir}");
        }
        let first = &migrations(Backend::Sqlite)[0];
        assert_eq!(
            (first.version, first.description.as_str()),
            (1, "foundation")
        );
        assert_eq!(first.checksum.len(), 96);
    }
}
