//! Founding organizations (first start, `roster init`, `roster org create`) and listing them.

use serde_json::json;

use super::db;
use super::tx::Tx;
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::organization::{DEFAULT_PROJECT_NAME, NewOrganization, Organization};
use crate::domain::{Error, Result, ids};

/// A new organization and the value of its first admin key, which is shown once.
#[derive(Debug)]
pub struct FoundedOrganization {
    pub organization: Organization,
    pub admin_key: String,
}

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
            found(tx, new, admin_key).await.map(Some)
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
            found(tx, new, admin_key).await
        })
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

    /// A new admin key for the organization's first owner: the way back in when every key is lost.
    pub async fn create_owner_admin_key(&self, org_id: &str, name: &str) -> Result<String> {
        let organization = self.get_organization(org_id).await?;
        let author = Author {
            org_id: organization.id.clone(),
            actor: None,
            default_project_id: Some(organization.default_project_id.clone()),
        };
        transact!(self, &author, |tx| {
            let owner: Option<(String,)> = db::query(
                "SELECT id FROM users WHERE org_id = $1 AND role = 'owner' ORDER BY id LIMIT 1",
            )
            .bind(organization.id.clone())
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

/// Inserts the organization, its owner, its default project and its first admin key.
async fn found(
    tx: &mut Tx<'_>,
    new: &NewOrganization,
    admin_key: Option<&str>,
) -> Result<FoundedOrganization> {
    let org_id = ids::new_id(ids::ORGANIZATION);
    let project_id = ids::new_id(ids::PROJECT);
    let owner_id = ids::new_id(ids::USER);
    db::query("INSERT INTO organizations (id, name, created_at, default_project_id) VALUES ($1, $2, $3, $4)")
        .bind(org_id.clone())
        .bind(new.name.clone())
        .bind(tx.now)
        .bind(project_id.clone())
        .execute(&mut *tx.conn)
        .await?;
    db::query("INSERT INTO users (id, org_id, email, name, role, added_at) VALUES ($1, $2, $3, $4, 'owner', $5)")
        .bind(owner_id.clone())
        .bind(org_id.clone())
        .bind(new.owner_email.clone())
        .bind(new.owner_name.clone())
        .bind(tx.now)
        .execute(&mut *tx.conn)
        .await?;
    db::query("INSERT INTO projects (id, org_id, name, created_at) VALUES ($1, $2, $3, $4)")
        .bind(project_id.clone())
        .bind(org_id.clone())
        .bind(DEFAULT_PROJECT_NAME)
        .bind(tx.now)
        .execute(&mut *tx.conn)
        .await?;
    tx.insert_predefined_roles(&org_id, None).await?;
    tx.insert_predefined_roles(&org_id, Some(&project_id))
        .await?;
    tx.author = Some(Author {
        org_id: org_id.clone(),
        actor: None,
        default_project_id: Some(project_id.clone()),
    });
    tx.record(Event::new(
        "user.added",
        &owner_id,
        json!({"id": owner_id, "data": {"role": "owner"}}),
    ))
    .await?;
    tx.record(Event::new("project.created", &project_id, json!({"id": project_id, "data": {"name": DEFAULT_PROJECT_NAME, "title": DEFAULT_PROJECT_NAME}}))
            .in_project(&project_id))
    .await?;
    let (_, secret) = tx
        .insert_admin_key(&owner_id, Some("Bootstrap key"), None, admin_key)
        .await?;
    Ok(FoundedOrganization {
        organization: Organization {
            id: org_id,
            name: new.name.clone(),
            created_at: tx.now,
            default_project_id: project_id,
            owner_email: new.owner_email.clone(),
        },
        admin_key: secret,
    })
}
