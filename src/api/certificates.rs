//! Certificates for mutual TLS (the contract's Certificates operations): the CA certificates of an
//! organization's clients, uploaded once, then activated in the organization or in projects.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::ApiResult;
use super::extract::{Ids, Json, Query};
use super::pagination::{List, ListQuery, Listed};
use crate::domain::Error;
use crate::domain::certificate::{self, Certificate};
use crate::domain::ids::{CertificateId, ProjectId};
use crate::domain::page::Order;
use crate::domain::principal::Principal;
use crate::store::certificates::CertificateScope;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/organization/certificates", get(list).post(upload))
        .route("/organization/certificates/activate", post(activate))
        .route("/organization/certificates/deactivate", post(deactivate))
        .route(
            "/organization/certificates/{certificate_id}",
            get(retrieve).post(modify).delete(delete),
        )
        .route(
            "/organization/projects/{project_id}/certificates",
            get(list_project),
        )
        .route(
            "/organization/projects/{project_id}/certificates/activate",
            post(activate_project),
        )
        .route(
            "/organization/projects/{project_id}/certificates/deactivate",
            post(deactivate_project),
        )
}

#[derive(Debug, Serialize)]
struct Details {
    valid_at: i64,
    expires_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    content: Option<String>,
}

/// The contract's `Certificate`, `OrganizationCertificate` and `OrganizationProjectCertificate`:
/// one shape, its `object` naming where it was read, `active` only in lists and activations.
#[derive(Debug, Serialize)]
struct CertificateObject {
    object: &'static str,
    id: String,
    name: Option<String>,
    created_at: i64,
    certificate_details: Details,
    #[serde(skip_serializing_if = "Option::is_none")]
    active: Option<bool>,
}

impl CertificateObject {
    /// The certificate alone (upload, retrieve, modify), with its PEM if asked.
    fn alone(c: Certificate, with_content: bool) -> Self {
        Self::new("certificate", c, with_content, false)
    }

    /// In a list or an activation of `scope`, with whether it is active there.
    fn in_scope(scope: CertificateScope<'_>, c: Certificate) -> Self {
        let object = match scope {
            CertificateScope::Organization => "organization.certificate",
            CertificateScope::Project(_) => "organization.project.certificate",
        };
        Self::new(object, c, false, true)
    }

    fn new(object: &'static str, c: Certificate, with_content: bool, with_active: bool) -> Self {
        CertificateObject {
            object,
            id: c.id,
            name: c.name,
            created_at: c.created_at,
            certificate_details: Details {
                valid_at: c.valid_at,
                expires_at: c.expires_at,
                content: with_content.then_some(c.content),
            },
            active: with_active.then_some(c.active),
        }
    }
}

impl Listed for CertificateObject {
    fn id(&self) -> &str {
        &self.id
    }
}

/// An activation's or deactivation's answer.
#[derive(Debug, Serialize)]
struct Toggled {
    object: &'static str,
    data: Vec<CertificateObject>,
}

#[derive(Debug, Serialize)]
struct DeletedCertificate {
    object: &'static str,
    id: String,
}

/// Lists sort by creation, newest first unless asked otherwise.
fn newest_first(mut q: ListQuery) -> ListQuery {
    q.order = q.order.or(Some(Order::Desc));
    q
}

async fn list_in(
    state: &AppState,
    principal: &Principal,
    scope: CertificateScope<'_>,
    q: ListQuery,
) -> ApiResult<axum::Json<List<CertificateObject>>> {
    let page = newest_first(q).page()?;
    let certificates = state
        .store
        .list_certificates(&principal.org_id, scope, &page)
        .await?;
    Ok(axum::Json(List::new(certificates, |c| {
        CertificateObject::in_scope(scope, c)
    })))
}

async fn list(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<List<CertificateObject>>> {
    list_in(&state, &principal, CertificateScope::Organization, q).await
}

async fn list_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Query(q): Query<ListQuery>,
) -> ApiResult<axum::Json<List<CertificateObject>>> {
    list_in(
        &state,
        &principal,
        CertificateScope::Project(&project_id),
        q,
    )
    .await
}

/// The contract's `UploadCertificateRequest`.
#[derive(Debug, Deserialize)]
struct Upload {
    name: Option<String>,
    certificate: String,
}

async fn upload(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<Upload>,
) -> ApiResult<axum::Json<CertificateObject>> {
    let now = state.store.clock().now();
    let name = body
        .name
        .as_deref()
        .map(certificate::validate_name)
        .transpose()?;
    let uploaded = certificate::read_upload(&body.certificate, now)?;
    let created = state
        .store
        .upload_certificate(&(&principal).into(), name.as_deref(), &uploaded)
        .await?;
    Ok(axum::Json(CertificateObject::alone(created, false)))
}

/// `include[]=content` adds the PEM.
#[derive(Debug, Default, Deserialize)]
struct Include {
    #[serde(default)]
    include: Vec<String>,
}

async fn retrieve(
    State(state): State<AppState>,
    principal: Principal,
    Ids(certificate_id): Ids<CertificateId>,
    Query(q): Query<Include>,
) -> ApiResult<axum::Json<CertificateObject>> {
    if let Some(unknown) = q.include.iter().find(|i| *i != "content") {
        return Err(Error::invalid(
            format!("Invalid value for 'include[]': '{unknown}'. Supported values are: 'content'."),
            "include[]",
        )
        .into());
    }
    let found = state
        .store
        .get_certificate(&principal.org_id, &certificate_id)
        .await?;
    Ok(axum::Json(CertificateObject::alone(
        found,
        !q.include.is_empty(),
    )))
}

/// The contract's `ModifyCertificateRequest`: only the name changes.
#[derive(Debug, Deserialize)]
struct Modify {
    name: Option<String>,
}

async fn modify(
    State(state): State<AppState>,
    principal: Principal,
    Ids(certificate_id): Ids<CertificateId>,
    Json(body): Json<Modify>,
) -> ApiResult<axum::Json<CertificateObject>> {
    let name = body
        .name
        .as_deref()
        .map(certificate::validate_name)
        .transpose()?;
    let renamed = state
        .store
        .rename_certificate(&(&principal).into(), &certificate_id, name)
        .await?;
    Ok(axum::Json(CertificateObject::alone(renamed, false)))
}

async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    Ids(certificate_id): Ids<CertificateId>,
) -> ApiResult<axum::Json<DeletedCertificate>> {
    state
        .store
        .delete_certificate(&(&principal).into(), &certificate_id)
        .await?;
    Ok(axum::Json(DeletedCertificate {
        object: "certificate.deleted",
        id: certificate_id.into_string(),
    }))
}

/// The contract's `ToggleCertificatesRequest`.
#[derive(Debug, Deserialize)]
struct Toggle {
    certificate_ids: Vec<String>,
}

async fn toggle(
    state: &AppState,
    principal: &Principal,
    scope: CertificateScope<'_>,
    ids: &[String],
    active: bool,
) -> ApiResult<axum::Json<Toggled>> {
    let certificates = state
        .store
        .set_certificates_active(&principal.into(), scope, ids, active)
        .await?;
    let object = match (scope, active) {
        (CertificateScope::Organization, true) => "organization.certificate.activation",
        (CertificateScope::Organization, false) => "organization.certificate.deactivation",
        (CertificateScope::Project(_), true) => "organization.project.certificate.activation",
        (CertificateScope::Project(_), false) => "organization.project.certificate.deactivation",
    };
    Ok(axum::Json(Toggled {
        object,
        data: certificates
            .into_iter()
            .map(|c| CertificateObject::in_scope(scope, c))
            .collect(),
    }))
}

async fn activate(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<Toggle>,
) -> ApiResult<axum::Json<Toggled>> {
    toggle(
        &state,
        &principal,
        CertificateScope::Organization,
        &body.certificate_ids,
        true,
    )
    .await
}

async fn deactivate(
    State(state): State<AppState>,
    principal: Principal,
    Json(body): Json<Toggle>,
) -> ApiResult<axum::Json<Toggled>> {
    toggle(
        &state,
        &principal,
        CertificateScope::Organization,
        &body.certificate_ids,
        false,
    )
    .await
}

async fn activate_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<Toggle>,
) -> ApiResult<axum::Json<Toggled>> {
    let scope = CertificateScope::Project(&project_id);
    toggle(&state, &principal, scope, &body.certificate_ids, true).await
}

async fn deactivate_project(
    State(state): State<AppState>,
    principal: Principal,
    Ids(project_id): Ids<ProjectId>,
    Json(body): Json<Toggle>,
) -> ApiResult<axum::Json<Toggled>> {
    let scope = CertificateScope::Project(&project_id);
    toggle(&state, &principal, scope, &body.certificate_ids, false).await
}
