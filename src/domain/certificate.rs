//! Certificates for mutual TLS: the CA certificates of an organization's clients, uploaded as PEM
//! and read with x509-parser, active in the organization or in single projects.

use x509_parser::pem::Pem;
use x509_parser::prelude::{FromDer, X509Certificate};

use super::name::NameRule;
use super::{Error, Result};

/// "Organizations can upload up to 50 certificates." (the contract's upload-certificate).
pub const MAX_CERTIFICATES: i64 = 50;
/// Activation and deactivation take 1 to 10 ids at a time.
pub const MAX_TOGGLED: usize = 10;

/// A certificate as stored.
#[derive(Clone, Debug)]
pub struct Certificate {
    pub id: String,
    pub name: Option<String>,
    /// The PEM, as read from the upload (one `CERTIFICATE` block).
    pub content: String,
    pub valid_at: i64,
    pub expires_at: i64,
    pub created_at: i64,
    /// Active at the scope it was read for (the organization, or one project).
    pub active: bool,
}

/// What the upload holds, read from the certificate itself.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedCertificate {
    pub content: String,
    pub valid_at: i64,
    pub expires_at: i64,
}

fn refused(message: impl Into<String>) -> Error {
    Error::invalid(message.into(), "certificate")
}

/// Reads an upload: exactly one PEM `CERTIFICATE` block holding an X.509 certificate that has not
/// expired at `now`. Each refusal says what was wrong.
pub fn read_upload(pem: &str, now: i64) -> Result<UploadedCertificate> {
    let mut blocks = Vec::new();
    for block in Pem::iter_from_buffer(pem.as_bytes()) {
        match block {
            Ok(block) => blocks.push(block),
            Err(e) => {
                return Err(refused(format!(
                    "The certificate is not valid PEM ({e}); upload one -----BEGIN CERTIFICATE----- block."
                )));
            }
        }
    }
    let block = match blocks.as_slice() {
        [] => {
            return Err(refused(
                "The certificate is not valid PEM: no -----BEGIN CERTIFICATE----- block was found.",
            ));
        }
        [one] => one,
        many => {
            return Err(refused(format!(
                "The upload holds {} PEM blocks; upload one certificate at a time.",
                many.len()
            )));
        }
    };
    if block.label.contains("PRIVATE KEY") {
        return Err(refused(
            "This is a private key, not a certificate. Upload the CA certificate (-----BEGIN CERTIFICATE-----) and keep the key secret.",
        ));
    }
    if block.label != "CERTIFICATE" {
        return Err(refused(format!(
            "The PEM block is a {}, not a CERTIFICATE.",
            block.label
        )));
    }
    let certificate = block
        .parse_x509()
        .map_err(|e| refused(format!("The certificate could not be read as X.509: {e}.")))?;
    let validity = certificate.validity();
    let valid_at = validity.not_before.timestamp();
    let expires_at = validity.not_after.timestamp();
    if expires_at <= now {
        return Err(refused(format!(
            "The certificate expired on {}; upload one that is still valid.",
            super::clock::date_utc(expires_at)
        )));
    }
    Ok(UploadedCertificate {
        content: pem.trim().to_owned(),
        valid_at,
        expires_at,
    })
}

pub fn validate_name(name: &str) -> Result<String> {
    NameRule {
        called: "A certificate's name",
        param: "name",
        min_chars: 0,
        max_chars: 256,
    }
    .check(name)
}

/// The ids an activation or deactivation names: 1 to 10, each once.
pub fn check_toggled(ids: &[String]) -> Result<Vec<String>> {
    if ids.is_empty() || ids.len() > MAX_TOGGLED {
        return Err(Error::invalid(
            format!(
                "'certificate_ids' takes 1 to {MAX_TOGGLED} certificate ids; got {}.",
                ids.len()
            ),
            "certificate_ids",
        ));
    }
    let mut unique: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !unique.contains(id) {
            unique.push(id.clone());
        }
    }
    Ok(unique)
}

/// The DER of each CA certificate in `pems` (certificates as stored); what does not read is left
/// out (every stored one was read at upload).
pub fn ca_ders<'a>(pems: impl IntoIterator<Item = &'a str>) -> Vec<Vec<u8>> {
    pems.into_iter()
        .filter_map(|pem| Pem::iter_from_buffer(pem.as_bytes()).next()?.ok())
        .map(|block| block.contents)
        .collect()
}

/// Why a client certificate does not let a request through, when certificates are active.
pub fn client_refusal(client_pem: Option<&str>, cas: &[Vec<u8>], now: i64) -> Option<String> {
    let Some(pem) = client_pem.map(str::trim).filter(|p| !p.is_empty()) else {
        return Some("no client certificate was presented".into());
    };
    let block = match Pem::iter_from_buffer(pem.as_bytes()).next() {
        Some(Ok(block)) if block.label == "CERTIFICATE" => block,
        _ => return Some("the client certificate is not valid PEM".into()),
    };
    let Ok(client) = block.parse_x509() else {
        return Some("the client certificate is not a valid X.509 certificate".into());
    };
    let validity = client.validity();
    if now < validity.not_before.timestamp() || now >= validity.not_after.timestamp() {
        return Some("the client certificate is not valid at this time".into());
    }
    let signed_by_active = cas.iter().any(|der| {
        X509Certificate::from_der(der).is_ok_and(|(_, ca)| {
            client.issuer() == ca.subject()
                && client.verify_signature(Some(ca.public_key())).is_ok()
        })
    });
    (!signed_by_active)
        .then(|| "the client certificate is not signed by an active certificate".into())
}
