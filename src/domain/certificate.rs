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

#[cfg(test)]
mod tests {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
    use time::OffsetDateTime;

    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn params(name: &str, from: i64, until: i64) -> CertificateParams {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.not_before = OffsetDateTime::from_unix_timestamp(from).unwrap();
        params.not_after = OffsetDateTime::from_unix_timestamp(until).unwrap();
        params
    }

    /// A CA certificate (its PEM and DER) and what signs with it.
    struct Authority {
        pem: String,
        der: Vec<u8>,
        issuer: rcgen::Issuer<'static, KeyPair>,
    }

    fn authority(name: &str, from: i64, until: i64) -> Authority {
        let mut params = params(name, from, until);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        Authority {
            pem: certificate.pem(),
            der: certificate.der().to_vec(),
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    fn client(ca: &Authority, from: i64, until: i64) -> String {
        let key = KeyPair::generate().unwrap();
        params("gateway client", from, until)
            .signed_by(&key, &ca.issuer)
            .unwrap()
            .pem()
    }

    #[track_caller]
    fn refusal(result: Result<UploadedCertificate>) -> String {
        match result {
            Err(Error::Invalid { message, param, .. }) => {
                assert_eq!(param.as_deref(), Some("certificate"));
                message.to_string()
            }
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn an_upload_is_one_certificate_that_has_not_expired() {
        let ca = authority("Our CA", NOW - 60, NOW + 1);
        let read = read_upload(&format!("\n{}\n\n", ca.pem), NOW).unwrap();
        assert_eq!(
            read,
            UploadedCertificate {
                content: ca.pem.trim().to_owned(),
                valid_at: NOW - 60,
                expires_at: NOW + 1,
            }
        );
        let expiring = authority("Our CA", NOW - 60, NOW).pem;
        assert!(refusal(read_upload(&expiring, NOW)).contains("expired"));

        let two = format!("{}{}", ca.pem, ca.pem);
        assert!(refusal(read_upload(&two, NOW)).contains("holds 2 PEM blocks"));
        let key = KeyPair::generate().unwrap();
        assert!(refusal(read_upload(&key.serialize_pem(), NOW)).contains("private key"));
        assert!(refusal(read_upload(&key.public_key_pem(), NOW)).contains("not a CERTIFICATE"));
        assert!(refusal(read_upload("", NOW)).contains("no -----BEGIN CERTIFICATE-----"));
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert!(refusal(read_upload(garbled, NOW)).contains("X.509"));
    }

    #[test]
    fn a_name_may_be_empty_and_is_kept() {
        assert_eq!(validate_name("").unwrap(), "");
        assert_eq!(validate_name("Our CA").unwrap(), "Our CA");
        assert!(validate_name(&"x".repeat(257)).is_err());
    }

    #[test]
    fn toggled_ids_are_one_to_ten_each_once() {
        let ids = |n: usize| (0..n).map(|i| format!("cert_{i}")).collect::<Vec<_>>();
        assert!(check_toggled(&[]).is_err());
        assert_eq!(check_toggled(&ids(1)).unwrap(), ids(1));
        assert_eq!(check_toggled(&ids(10)).unwrap(), ids(10));
        assert!(check_toggled(&ids(11)).is_err());
        let repeated = ["b", "a", "b"].map(String::from);
        assert_eq!(check_toggled(&repeated).unwrap(), ["b", "a"]);
    }

    #[test]
    fn ca_ders_are_each_stored_certificates_der() {
        let (ours, theirs) = (
            authority("Our CA", NOW - 60, NOW + 60),
            authority("Their CA", NOW - 60, NOW + 60),
        );
        assert_eq!(
            ca_ders([ours.pem.as_str(), "not PEM", theirs.pem.as_str()]),
            [ours.der.clone(), theirs.der.clone()]
        );
    }

    #[test]
    fn a_client_passes_when_valid_now_and_signed_by_an_active_certificate() {
        let ours = authority("Our CA", NOW - 600, NOW + 600);
        let active = [ours.der.clone()];
        let refused = |pem: Option<&str>, cas: &[Vec<u8>]| client_refusal(pem, cas, NOW);
        let good = client(&ours, NOW - 60, NOW + 60);
        assert_eq!(refused(Some(&good), &active), None);

        for missing in [None, Some(""), Some("  \n")] {
            assert_eq!(
                refused(missing, &active).as_deref(),
                Some("no client certificate was presented")
            );
        }
        let key = KeyPair::generate().unwrap().public_key_pem();
        for not_pem in ["junk", key.as_str()] {
            assert_eq!(
                refused(Some(not_pem), &active).as_deref(),
                Some("the client certificate is not valid PEM")
            );
        }
        let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        assert_eq!(
            refused(Some(garbled), &active).as_deref(),
            Some("the client certificate is not a valid X.509 certificate")
        );

        // Valid from its not-before second up to, not including, its not-after second.
        let out_of_time = Some("the client certificate is not valid at this time");
        for (from, until, outcome) in [
            (NOW, NOW + 60, None),
            (NOW + 1, NOW + 60, out_of_time),
            (NOW - 60, NOW + 1, None),
            (NOW - 60, NOW, out_of_time),
        ] {
            let pem = client(&ours, from, until);
            assert_eq!(
                refused(Some(&pem), &active).as_deref(),
                outcome,
                "{from}..{until}"
            );
        }

        // Signed by the certificate itself, not by one of the same name.
        let unsigned = Some("the client certificate is not signed by an active certificate");
        let namesake = authority("Our CA", NOW - 600, NOW + 600);
        let theirs = authority("Their CA", NOW - 600, NOW + 600);
        assert_eq!(refused(Some(&good), &[]).as_deref(), unsigned);
        assert_eq!(
            refused(Some(&good), std::slice::from_ref(&namesake.der)).as_deref(),
            unsigned
        );
        assert_eq!(
            refused(Some(&good), std::slice::from_ref(&theirs.der)).as_deref(),
            unsigned
        );
        let both = [theirs.der.clone(), ours.der.clone()];
        assert_eq!(refused(Some(&good), &both), None);
    }
}
