//! Certificates for mutual TLS: uploaded to the organization, active in it (`certificates.active`)
//! or in single projects (`project_certificates`).

use serde_json::json;

use super::db;
use super::sql::Sql;
use super::{Author, Store};
use crate::domain::audit::Event;
use crate::domain::certificate::{self, Certificate, MAX_CERTIFICATES, UploadedCertificate};
use crate::domain::ids::{CertificateId, ProjectId};
use crate::domain::page::{Page, PageRequest};
use crate::domain::{Error, Result, ids};

/// A certificate and whether it is active in the organization.
const SELECT_IN_ORGANIZATION: &str = "SELECT c.id, c.name, c.content, c.valid_at, c.expires_at, c.created_at, c.active \
     FROM certificates c";

/// Where a certificate's activation applies.
#[derive(Clone, Copy, Debug)]
pub enum CertificateScope<'a> {
    Organization,
    Project(&'a ProjectId),
}

impl Store {
    /// The organization's certificates; `active` tells whether each is active in `scope`.
    pub async fn list_certificates(
        &self,
        org_id: &str,
        scope: CertificateScope<'_>,
        page: &PageRequest,
    ) -> Result<Page<Certificate>> {
        let mut sql = match scope {
            CertificateScope::Organization => Sql::new(SELECT_IN_ORGANIZATION),
            CertificateScope::Project(project_id) => {
                let project = self.get_project(org_id, project_id).await?;
                let mut sql = Sql::new(
                    "SELECT c.id, c.name, c.content, c.valid_at, c.expires_at, c.created_at, \
                     CASE WHEN pc.certificate_id IS NULL THEN 0 ELSE 1 END AS active \
                     FROM certificates c LEFT JOIN project_certificates pc ON pc.certificate_id = c.id AND pc.project_id = ",
                );
                sql.bind(project.id);
                sql
            }
        };
        sql.push(" WHERE c.org_id = ").bind(org_id.to_owned());
        sql.keyset("c.id", page);
        self.fetch_page(sql, page.limit).await
    }

    pub async fn get_certificate(&self, org_id: &str, id: &CertificateId) -> Result<Certificate> {
        db::query(format!(
            "{SELECT_IN_ORGANIZATION} WHERE c.org_id = $1 AND c.id = $2"
        ))
        .bind(org_id.to_owned())
        .bind(id)
        .fetch_optional(&self.db)
        .await?
        .ok_or_else(|| Error::not_found("certificate", id, "certificate_id"))
    }

    /// Uploads a certificate, inactive everywhere; an organization holds at most 50.
    pub async fn upload_certificate(
        &self,
        author: &Author,
        name: Option<&str>,
        uploaded: &UploadedCertificate,
    ) -> Result<Certificate> {
        transact!(self, author, |tx| {
            tx.lock_organization(&author.org_id).await?;
            let (held,): (i64,) = db::query("SELECT COUNT(*) FROM certificates WHERE org_id = $1")
                .bind(author.org_id.clone())
                .fetch_one(&mut *tx.conn)
                .await?;
            if held >= MAX_CERTIFICATES {
                return Err(Error::rule(format!(
                    "Organizations can upload up to {MAX_CERTIFICATES} certificates; delete one to upload another."
                )));
            }
            let created = Certificate {
                id: ids::new_id(ids::CERTIFICATE),
                name: name.map(str::to_owned),
                content: uploaded.content.clone(),
                valid_at: uploaded.valid_at,
                expires_at: uploaded.expires_at,
                created_at: tx.now,
                active: false,
            };
            db::query(
                "INSERT INTO certificates (id, org_id, name, content, valid_at, expires_at, created_at, active) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 0)",
            )
            .bind(created.id.clone())
            .bind(author.org_id.clone())
            .bind(created.name.clone())
            .bind(created.content.clone())
            .bind(created.valid_at)
            .bind(created.expires_at)
            .bind(tx.now)
            .execute(&mut *tx.conn)
            .await?;
            let details = json!({"id": created.id, "name": created.name});
            tx.record(Event::new("certificate.created", &created.id, details))
                .await?;
            Ok(created)
        })
    }

    pub async fn rename_certificate(
        &self,
        author: &Author,
        id: &CertificateId,
        name: Option<String>,
    ) -> Result<Certificate> {
        transact!(self, author, |tx| {
            let changed =
                db::query("UPDATE certificates SET name = $1 WHERE org_id = $2 AND id = $3")
                    .bind(name.clone())
                    .bind(author.org_id.clone())
                    .bind(id)
                    .execute(&mut *tx.conn)
                    .await?;
            if changed == 0 {
                return Err(Error::not_found("certificate", id, "certificate_id"));
            }
            let details = json!({"id": id.as_str(), "name": name});
            tx.record(Event::new("certificate.updated", id, details))
                .await?;
            db::query(format!(
                "{SELECT_IN_ORGANIZATION} WHERE c.org_id = $1 AND c.id = $2"
            ))
            .bind(author.org_id.clone())
            .bind(id)
            .fetch_one(&mut *tx.conn)
            .await
        })
    }

    /// Deletes a certificate that is active nowhere.
    pub async fn delete_certificate(&self, author: &Author, id: &CertificateId) -> Result<()> {
        transact!(self, author, |tx| {
            let found: Option<(Option<String>, String, i64)> = db::query(format!(
                "SELECT c.name, c.content, c.active + (SELECT COUNT(*) FROM project_certificates pc WHERE pc.certificate_id = c.id) \
                 FROM certificates c WHERE c.org_id = $1 AND c.id = $2{}",
                tx.backend.for_update_of("c")
            ))
            .bind(author.org_id.clone())
            .bind(id)
            .fetch_optional(&mut *tx.conn)
            .await?;
            let (name, content, active_in) =
                found.ok_or_else(|| Error::not_found("certificate", id, "certificate_id"))?;
            if active_in > 0 {
                return Err(Error::rule(format!(
                    "Certificate '{id}' is active; deactivate it in the organization and in every project before deleting it."
                )));
            }
            db::query("DELETE FROM certificates WHERE id = $1")
                .bind(id)
                .execute(&mut *tx.conn)
                .await?;
            let details = json!({"id": id.as_str(), "name": name, "certificate": content});
            tx.record(Event::new("certificate.deleted", id, details))
                .await
        })
    }

    /// Activates (or deactivates) certificates in `scope`, all or none: every id must name a
    /// certificate of the organization. Returns them, in the order asked, with their new state.
    pub async fn set_certificates_active(
        &self,
        author: &Author,
        scope: CertificateScope<'_>,
        ids: &[String],
        active: bool,
    ) -> Result<Vec<Certificate>> {
        let ids = certificate::check_toggled(ids)?;
        transact!(self, author, |tx| {
            if let CertificateScope::Project(project_id) = scope {
                tx.lock_project(&author.org_id, project_id)
                    .await?
                    .check_active()?;
            }
            // Read, locked, in one query; then changed in one statement: all or nothing.
            let named = serde_json::to_string(&ids).unwrap_or_else(|_| "[]".into());
            let among = tx.backend.json_strings("$2");
            let mut held: Vec<Certificate> = db::query(format!(
                "{SELECT_IN_ORGANIZATION} WHERE c.org_id = $1 AND c.id IN ({among}){}",
                tx.backend.for_update_of("c")
            ))
            .bind(author.org_id.clone())
            .bind(named.clone())
            .fetch_all(&mut *tx.conn)
            .await?;
            let mut found = Vec::with_capacity(ids.len());
            for (i, id) in ids.iter().enumerate() {
                let at = held.iter().position(|c| c.id == *id).ok_or_else(|| {
                    Error::invalid(
                        format!("No such certificate: '{id}'; nothing was changed."),
                        format!("certificate_ids[{i}]"),
                    )
                })?;
                let mut certificate = held.swap_remove(at);
                certificate.active = active;
                found.push(certificate);
            }
            let change = match scope {
                CertificateScope::Organization => db::query(format!(
                    "UPDATE certificates SET active = $1 WHERE id IN ({among})"
                ))
                .bind(i64::from(active))
                .bind(named),
                CertificateScope::Project(project_id) if active => db::query(format!(
                    "INSERT INTO project_certificates (project_id, certificate_id, org_id, activated_at) \
                     SELECT $1, c.id, c.org_id, $3 FROM certificates c WHERE c.id IN ({among}) \
                     ON CONFLICT (project_id, certificate_id) DO NOTHING"
                ))
                .bind(project_id)
                .bind(named)
                .bind(tx.now),
                CertificateScope::Project(project_id) => db::query(format!(
                    "DELETE FROM project_certificates WHERE project_id = $1 AND certificate_id IN ({among})"
                ))
                .bind(project_id)
                .bind(named),
            };
            change.execute(&mut *tx.conn).await?;
            let event_type = if active {
                "certificates.activated"
            } else {
                "certificates.deactivated"
            };
            let listed: Vec<_> = found
                .iter()
                .map(|c| json!({"id": c.id, "name": c.name}))
                .collect();
            let first = found.first().map_or("", |c| c.id.as_str());
            let event = Event::new(event_type, first, json!({"certificates": listed}));
            let event = match scope {
                CertificateScope::Project(project_id) => event.in_project(project_id),
                CertificateScope::Organization => event,
            };
            tx.record(event).await?;
            Ok(found)
        })
    }
}
