//! Certificates for mutual TLS: real X.509 certificates made by the test (rcgen), uploaded,
//! listed, activated in the organization and in a project, deactivated and deleted; every bad
//! upload refused with nothing changed.

use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::common::{Caller, TestServer, walk};

const CERTIFICATES: &str = "/v1/organization/certificates";

/// A self-signed CA certificate valid from `from` to `until` (Unix seconds), as PEM.
fn ca(name: &str, from: i64, until: i64) -> String {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = OffsetDateTime::from_unix_timestamp(from).unwrap();
    params.not_after = OffsetDateTime::from_unix_timestamp(until).unwrap();
    let key = KeyPair::generate().unwrap();
    params.self_signed(&key).unwrap().pem()
}

fn year_long(s: &TestServer, name: &str) -> (String, i64, i64) {
    let from = s.clock.now() - 60;
    let until = s.clock.now() + 365 * 86_400;
    (ca(name, from, until), from, until)
}

async fn upload(admin: &Caller<'_>, name: &str, pem: &str) -> Value {
    admin
        .post(CERTIFICATES, json!({"name": name, "certificate": pem}))
        .await
        .ok()
        .clone()
}

async fn events(admin: &Caller<'_>) -> usize {
    walk(admin, "/v1/organization/audit_logs", 100).await.len()
}

/// `verb` (`activate` or `deactivate`) for `ids` under `base`: the organization's certificates
/// or a project's.
async fn toggle(admin: &Caller<'_>, base: &str, verb: &str, ids: Value) -> crate::common::Resp {
    admin
        .post(&format!("{base}/{verb}"), json!({"certificate_ids": ids}))
        .await
}

/// The ids of the certificates active in a list.
fn active_ids(list: &Value) -> Vec<Value> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["active"] == true)
        .map(|c| c["id"].clone())
        .collect()
}

#[tokio::test]
async fn upload_list_retrieve_rename_and_the_dates_of_the_certificate_itself() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let (pem, from, until) = year_long(&s, "Acme clients CA");
    let created = upload(&admin, "Clients", &pem).await;
    assert_eq!(created["object"], "certificate");
    assert_eq!(created["name"], "Clients");
    assert_eq!(created["certificate_details"]["valid_at"], from);
    assert_eq!(created["certificate_details"]["expires_at"], until);
    assert!(
        created.get("active").is_none(),
        "not shown for one certificate"
    );
    let id = created["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("cert_"), "{id}");

    let listed = admin.get(CERTIFICATES).await;
    assert_eq!(listed.ok()["data"][0]["object"], "organization.certificate");
    assert_eq!(listed.ok()["data"][0]["active"], false);
    assert_eq!(listed.ok()["first_id"], id.as_str());

    let plain = admin.get(&format!("{CERTIFICATES}/{id}")).await;
    assert!(plain.ok()["certificate_details"].get("content").is_none());
    let with_content = admin
        .get(&format!("{CERTIFICATES}/{id}?include[]=content"))
        .await;
    assert_eq!(
        with_content.ok()["certificate_details"]["content"],
        pem.trim()
    );
    admin
        .get(&format!("{CERTIFICATES}/{id}?include[]=key"))
        .await
        .error(400, Some("include[]"));

    let renamed = admin
        .post(&format!("{CERTIFICATES}/{id}"), json!({"name": "Partners"}))
        .await;
    assert_eq!(renamed.ok()["name"], "Partners");
    assert_eq!(
        admin.get(&format!("{CERTIFICATES}/{id}")).await.ok()["name"],
        "Partners"
    );

    // Newest first by default; `order=asc` the other way.
    let (second, _, _) = year_long(&s, "Second CA");
    let newer = upload(&admin, "Newer", &second).await["id"].clone();
    assert_eq!(admin.get(CERTIFICATES).await.ok()["data"][0]["id"], newer);
    assert_eq!(
        admin.get(&format!("{CERTIFICATES}?order=asc")).await.ok()["data"][0]["id"],
        id.as_str()
    );
    s.stop().await;
}

#[tokio::test]
async fn bad_uploads_are_refused_naming_the_certificate_and_change_nothing() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let before = events(&admin).await;
    let (one, _, _) = year_long(&s, "One");
    let (two, _, _) = year_long(&s, "Two");
    let key = KeyPair::generate().unwrap().serialize_pem();
    let now = s.clock.now();
    let expired = ca("Old", now - 400 * 86_400, now - 86_400);
    for (pem, words) in [
        ("not a certificate at all", "not valid PEM"),
        (
            "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            "X.509",
        ),
        (key.as_str(), "private key"),
        (&format!("{one}\n{two}"), "one certificate at a time"),
        (expired.as_str(), "expired"),
    ] {
        admin
            .post(CERTIFICATES, json!({"certificate": pem}))
            .await
            .error_mentioning(400, Some("certificate"), words);
    }
    admin
        .post(CERTIFICATES, json!({"name": "x"}))
        .await
        .error(400, Some("certificate"));
    assert!(walk(&admin, CERTIFICATES, 100).await.is_empty());
    assert_eq!(events(&admin).await, before, "nothing was recorded");
    s.stop().await;
}

#[tokio::test]
async fn activation_in_the_organization_and_a_project_and_deletion() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let (pem, _, _) = year_long(&s, "Clients");
    let id = upload(&admin, "Clients", &pem).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (other_pem, _, _) = year_long(&s, "Other");
    let other = upload(&admin, "Other", &other_pem).await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // All or nothing: one unknown id, and none is activated.
    toggle(
        &admin,
        CERTIFICATES,
        "activate",
        json!([id, "cert_nothere"]),
    )
    .await
    .error_mentioning(400, Some("certificate_ids[1]"), "nothing was changed");
    toggle(&admin, CERTIFICATES, "activate", json!([]))
        .await
        .error(400, Some("certificate_ids"));
    assert!(active_ids(admin.get(CERTIFICATES).await.ok()).is_empty());

    let activated = toggle(&admin, CERTIFICATES, "activate", json!([id, id])).await;
    assert_eq!(
        activated.ok()["object"],
        "organization.certificate.activation"
    );
    assert_eq!(activated.ok()["data"].as_array().unwrap().len(), 1);
    assert_eq!(activated.ok()["data"][0]["active"], true);
    // Idempotent.
    toggle(&admin, CERTIFICATES, "activate", json!([id]))
        .await
        .ok();
    admin
        .delete(&format!("{CERTIFICATES}/{id}"))
        .await
        .error_mentioning(400, None, "deactivate it");

    // A project: its own activations; the list shows every certificate with its state there.
    let project = s.add_project("Gateway").await;
    let in_project = format!("/v1/organization/projects/{project}/certificates");
    let listed = admin.get(&in_project).await;
    assert_eq!(
        listed.ok()["data"][0]["object"],
        "organization.project.certificate"
    );
    assert!(
        active_ids(listed.ok()).is_empty(),
        "active in the organization is not active in the project"
    );
    let activated = toggle(&admin, &in_project, "activate", json!([other])).await;
    assert_eq!(
        activated.ok()["object"],
        "organization.project.certificate.activation"
    );
    assert_eq!(
        active_ids(admin.get(&in_project).await.ok()),
        [json!(other)]
    );
    admin
        .delete(&format!("{CERTIFICATES}/{other}"))
        .await
        .error(400, None);
    let deactivated = toggle(&admin, &in_project, "deactivate", json!([other])).await;
    assert_eq!(
        deactivated.ok()["object"],
        "organization.project.certificate.deactivation"
    );
    assert_eq!(deactivated.ok()["data"][0]["active"], false);

    let deactivated = toggle(&admin, CERTIFICATES, "deactivate", json!([id])).await;
    assert_eq!(
        deactivated.ok()["object"],
        "organization.certificate.deactivation"
    );
    let deleted = admin.delete(&format!("{CERTIFICATES}/{id}")).await;
    assert_eq!(
        deleted.ok(),
        &json!({"object": "certificate.deleted", "id": id})
    );
    admin
        .get(&format!("{CERTIFICATES}/{id}"))
        .await
        .error(404, Some("certificate_id"));

    let log = admin
        .get("/v1/organization/audit_logs?limit=100&event_types[]=certificates.activated&event_types[]=certificate.deleted")
        .await;
    assert_eq!(
        log.ok()["data"].as_array().unwrap().len(),
        4,
        "{}",
        log.body
    );
    s.stop().await;
}

#[tokio::test]
async fn an_organization_holds_at_most_fifty_certificates() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let (pem, _, _) = year_long(&s, "Many");
    for i in 0..50 {
        upload(&admin, &format!("c{i}"), &pem).await;
    }
    admin
        .post(CERTIFICATES, json!({"certificate": pem}))
        .await
        .error_mentioning(400, None, "up to 50 certificates");
    s.stop().await;
}

/// A CA that signs client certificates: its PEM, and a client certificate it signed valid from
/// `from` to `until`.
struct Authority {
    pem: String,
    issuer: rcgen::Issuer<'static, KeyPair>,
}

impl Authority {
    fn new(name: &str) -> Authority {
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let key = KeyPair::generate().unwrap();
        let pem = params.self_signed(&key).unwrap().pem();
        Authority {
            pem,
            issuer: rcgen::Issuer::new(params, key),
        }
    }

    fn client(&self, from: i64, until: i64) -> String {
        let mut params = CertificateParams::new(vec!["gateway-client".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "gateway client");
        params.not_before = OffsetDateTime::from_unix_timestamp(from).unwrap();
        params.not_after = OffsetDateTime::from_unix_timestamp(until).unwrap();
        let key = KeyPair::generate().unwrap();
        params.signed_by(&key, &self.issuer).unwrap().pem()
    }
}

#[tokio::test]
async fn with_active_certificates_a_call_needs_a_client_certificate_they_signed() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let bot = s.project_with_bot("mTLS").await;
    let ours = Authority::new("Our clients CA");
    let theirs = Authority::new("Someone else's CA");
    let now = s.clock.now();
    let good = ours.client(now - 60, now + 86_400);
    let expired = ours.client(now - 2 * 86_400, now - 86_400);
    let stranger = theirs.client(now - 60, now + 86_400);
    let check = |client: Option<&str>| {
        let mut body = json!({"api_key": bot.key});
        if let Some(pem) = client {
            body["client_certificate"] = json!(pem);
        }
        let anonymous = s.anonymous();
        async move { anonymous.post("/v1/gateway/check", body).await.ok().clone() }
    };
    // Without active certificates nothing changes.
    assert_eq!(check(None).await["allowed"], true);
    let id = upload(&admin, "Ours", &ours.pem).await["id"].clone();

    // Active in the key's project.
    let in_project = format!("/v1/organization/projects/{}/certificates", bot.project);
    toggle(&admin, &in_project, "activate", json!([id]))
        .await
        .ok();
    let refused = check(None).await;
    assert_eq!(
        (refused["allowed"].clone(), refused["status"].clone()),
        (json!(false), json!(401))
    );
    assert_eq!(refused["error"]["code"], "client_certificate_required");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("A valid client certificate is required"),
        "{refused}"
    );
    assert_eq!(check(Some(&good)).await["allowed"], true);
    for (bad, why) in [
        (&stranger, "not signed by an active certificate"),
        (&expired, "not valid at this time"),
        (&ours.pem.replace("CERTIFICATE", "CERT"), "not valid PEM"),
    ] {
        let answer = check(Some(bad)).await;
        assert_eq!(answer["status"], 401, "{answer}");
        assert!(
            answer["error"]["message"].as_str().unwrap().contains(why),
            "{why}: {answer}"
        );
    }

    // Forward auth: the header gateways send, URL-escaped PEM.
    let escaped: String = url_escape(&good);
    let forward = |cert: Option<String>| {
        let mut request = reqwest::Client::new()
            .get(format!("{}/v1/gateway/auth/v1/chat/completions", s.root))
            .header("authorization", format!("Bearer {}", bot.key))
            .header("x-original-method", "POST");
        if let Some(cert) = cert {
            request = request.header("x-client-cert", cert);
        }
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(forward(Some(escaped.clone())).await, 200);
    assert_eq!(forward(None).await, 401);
    assert_eq!(forward(Some(url_escape(&stranger))).await, 401);

    // Active in the organization instead: the same for every project.
    toggle(&admin, &in_project, "deactivate", json!([id]))
        .await
        .ok();
    assert_eq!(check(None).await["allowed"], true);
    toggle(&admin, CERTIFICATES, "activate", json!([id]))
        .await
        .ok();
    assert_eq!(check(None).await["allowed"], false);
    assert_eq!(check(Some(&good)).await["allowed"], true);
    s.stop().await;
}

/// `text` as nginx's `$ssl_client_escaped_cert` escapes it.
fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// What nginx answers `curl` (with `client`'s certificate and key, if any) for a chat call; on a
/// thread of its own, for the server answers on this one.
async fn curl_through(
    base: &str,
    key: &str,
    client: Option<(&std::path::Path, &std::path::Path)>,
) -> (u16, Value) {
    let (base, key) = (base.to_owned(), key.to_owned());
    let client = client.map(|(cert, key)| (cert.to_owned(), key.to_owned()));
    tokio::task::spawn_blocking(move || {
        curl_blocking(
            &base,
            &key,
            client.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
        )
    })
    .await
    .unwrap()
}

fn curl_blocking(
    base: &str,
    key: &str,
    client: Option<(&std::path::Path, &std::path::Path)>,
) -> (u16, Value) {
    let mut command = std::process::Command::new("curl");
    command.args(["-sk", "-o", "-", "-w", "\n%{http_code}", "-X", "POST"]);
    command.args(["-H", &format!("Authorization: Bearer {key}")]);
    command.args(["-H", "Content-Type: application/json", "-d", "{}"]);
    if let Some((cert, key)) = client {
        command.arg("--cert").arg(cert).arg("--key").arg(key);
    }
    let output = command
        .arg(format!("{base}/v1/chat/completions"))
        .output()
        .expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or_default();
    (
        status.trim().parse().unwrap_or(0),
        serde_json::from_str(body).unwrap_or(Value::Null),
    )
}

#[tokio::test]
async fn nginx_passes_the_client_certificate_and_roster_decides() {
    let s = TestServer::start().await;
    let admin = s.admin();
    let bot = s.project_with_bot("mTLS through nginx").await;
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    // nginx's own certificate, and a client of our CA's and one of a stranger's.
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&server_key)
        .unwrap();
    file("server.pem", &server.pem());
    file("server.key", &server_key.serialize_pem());
    let ours = Authority::new("Our clients CA");
    let theirs = Authority::new("A stranger's CA");
    let now = s.clock.now();
    let client = |authority: &Authority, name: &str| {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::new()).unwrap();
        params.not_before = OffsetDateTime::from_unix_timestamp(now - 60).unwrap();
        params.not_after = OffsetDateTime::from_unix_timestamp(now + 86_400).unwrap();
        let cert = params.signed_by(&key, &authority.issuer).unwrap();
        (
            file(&format!("{name}.pem"), &cert.pem()),
            file(&format!("{name}.key"), &key.serialize_pem()),
        )
    };
    let (good_cert, good_key) = client(&ours, "good");
    let (bad_cert, bad_key) = client(&theirs, "stranger");

    let (upstream, _task) = crate::forward_auth::echo_upstream().await;
    let roster = s.root.trim_start_matches("http://").to_owned();
    let port = crate::forward_auth::free_port();
    let conf = crate::forward_auth::recipe("nginx-mtls.conf", &roster, &upstream, port)
        .replace("8443", &port.to_string())
        .replace("/etc/roster/tls", &dir.path().display().to_string());
    let Some(nginx) = crate::forward_auth::nginx_with(dir.path(), conf, port) else {
        return;
    };
    let base = nginx.base.replace("http://", "https://");

    // No certificate active yet: nothing changes.
    let (status, body) = curl_through(&base, &bot.key, None).await;
    assert_eq!(
        status,
        200,
        "{body} {}",
        std::fs::read_to_string(dir.path().join("error.log")).unwrap_or_default()
    );
    let id = upload(&admin, "Ours", &ours.pem).await["id"].clone();
    admin
        .post(
            &format!(
                "/v1/organization/projects/{}/certificates/activate",
                bot.project
            ),
            json!({"certificate_ids": [id]}),
        )
        .await
        .ok();
    let (status, body) = curl_through(&base, &bot.key, Some((&good_cert, &good_key))).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["headers"]["x-roster-project-id"], bot.project.as_str());
    let (status, body) = curl_through(&base, &bot.key, None).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "client_certificate_required");
    let (status, body) = curl_through(&base, &bot.key, Some((&bad_cert, &bad_key))).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not signed by an active certificate"),
        "{body}"
    );
    drop(nginx);
    s.stop().await;
}
