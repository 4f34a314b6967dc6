//! Founding organizations (first start, `roster init`, `roster org create`) and listing them.

use super::db;
use super::tx::{FoundingIds, Tx};
use super::{Author, Store};
use crate::domain::organization::{NewOrganization, Organization};
use crate::domain::{Error, Result};

pub use super::tx::FoundedOrganization;

const SELECT_ORGANIZATION: &str = "SELECT o.id, o.name, o.created_at, o.default_project_id, \
     (SELECT MIN(u.email) FROM users u WHERE u.org_id = o.id AND u.role = 'owner') AS owner_email \
     FROM organizations o";

impl Store {
    /// Founds the first organization unless the database already has one; `None` if it had.
    pub async fn bootstrap(
        &self,
        new: &NewOrganization,
        admin_key: Option<&str>,
    ) -> Result<Option<FoundedOrganization>> {
        transact!(self, |tx| {
            if !claim_bootstrap(tx).await? {
                return Ok(None);
            }
            tx.found_organization(new, admin_key, FoundingIds::new())
                .await
                .map(Some)
        })
    }

    /// Founds another organization. An empty database founded this way counts as initialized.
    pub async fn create_organization(
        &self,
        new: &NewOrganization,
        admin_key: Option<&str>,
    ) -> Result<FoundedOrganization> {
        transact!(self, |tx| {
            claim_bootstrap(tx).await?;
            tx.found_organization(new, admin_key, FoundingIds::new())
                .await
        })
    }

    /// Empties the database and founds its first organization again as it was founded: the same
    /// ids, name and owner, and its first admin key still working. For the emulator's reset.
    pub async fn reset(&self) -> Result<Organization> {
        let founded = transact!(self, |tx| {
            let first: Option<FirstFounding> = db::query(
                "SELECT o.id AS org_id, o.name AS org_name, o.default_project_id AS project_id, \
                 u.id AS owner_id, u.email AS owner_email, u.name AS owner_name, k.digest, k.redacted_value \
                 FROM organizations o JOIN admin_api_keys k ON k.org_id = o.id JOIN users u ON u.id = k.owner_user_id \
                 ORDER BY o.id, k.id LIMIT 1",
            )
            .fetch_optional(&mut *tx.conn)
            .await?;
            let first = first.ok_or_else(|| {
                Error::rule("The database holds no organization with an admin key to found again.")
            })?;
            // Every other table belongs to an organization and goes with it (its foreign keys
            // cascade).
            db::query("DELETE FROM organizations")
                .execute(&mut *tx.conn)
                .await?;
            let new = NewOrganization {
                name: first.org_name,
                owner_email: first.owner_email,
                owner_name: first.owner_name,
            };
            let ids = FoundingIds {
                org_id: first.org_id,
                project_id: first.project_id,
                owner_id: first.owner_id,
            };
            let founded = tx.found_organization(&new, None, ids).await?;
            // The key's value was never stored, so the new key takes the first one's digest: the
            // value the caller holds keeps working.
            db::query(
                "UPDATE admin_api_keys SET digest = $1, redacted_value = $2 WHERE org_id = $3",
            )
            .bind(first.digest)
            .bind(first.redacted_value)
            .bind(founded.organization.id.clone())
            .execute(&mut *tx.conn)
            .await?;
            Ok(founded.organization)
        })?;
        self.keys.clear();
        Ok(founded)
    }

    pub async fn list_organizations(&self) -> Result<Vec<Organization>> {
        db::query(format!("{SELECT_ORGANIZATION} ORDER BY o.id"))
            .fetch_all(&self.db)
            .await
    }

    pub async fn get_organization(&self, org_id: &str) -> Result<Organization> {
        db::query(format!("{SELECT_ORGANIZATION} WHERE o.id = $1"))
            .bind(org_id.to_owned())
            .fetch_optional(&self.db)
            .await?
            .ok_or_else(|| Error::not_found("organization", org_id, "org"))
    }

    /// The author of changes made through Roster's CLI in `org_id`: no actor.
    pub async fn cli_author(&self, org_id: &str) -> Result<Author> {
        let organization = self.get_organization(org_id).await?;
        Ok(Author {
            org_id: organization.id,
            actor: None,
            default_project_id: Some(organization.default_project_id),
        })
    }

    /// A new admin key for the organization's first owner: the way back in when every key is lost.
    pub async fn create_owner_admin_key(&self, org_id: &str, name: &str) -> Result<String> {
        let author = self.cli_author(org_id).await?;
        transact!(self, &author, |tx| {
            let owner: Option<(String,)> = db::query(
                "SELECT id FROM users WHERE org_id = $1 AND role = 'owner' ORDER BY id LIMIT 1",
            )
            .bind(author.org_id.clone())
            .fetch_optional(&mut *tx.conn)
            .await?;
            let (owner_id,) = owner
                .ok_or_else(|| Error::rule(format!("Organization '{org_id}' has no owner.")))?;
            let (_, secret) = tx
                .insert_admin_key(&owner_id, Some(name), None, None)
                .await?;
            Ok(secret)
        })
    }
}

/// Marks the database as initialized; whether this call did so. Replicas starting together on
/// one database found the first organization once: the marker row decides.
async fn claim_bootstrap(tx: &mut Tx<'_>) -> Result<bool> {
    let claimed: Option<(String,)> = db::query(
        "INSERT INTO roster_meta (key, value) VALUES ('bootstrapped_at', $1) \
         ON CONFLICT (key) DO NOTHING RETURNING key",
    )
    .bind(tx.now.to_string())
    .fetch_optional(&mut *tx.conn)
    .await?;
    Ok(claimed.is_some())
}

/// The first organization as it was founded, and its first admin key, read before a reset.
struct FirstFounding {
    org_id: String,
    org_name: String,
    project_id: String,
    owner_id: String,
    owner_email: String,
    owner_name: String,
    digest: String,
    redacted_value: String,
}

db::from_row!(FirstFounding {
    org_id,
    org_name,
    project_id,
    owner_id,
    owner_email,
    owner_name,
    digest,
    redacted_value
});
