"""Certificates for mutual TLS through the official `openai` SDK: every operation, on a real CA
certificate made by openssl."""

import subprocess

import openai
import pytest

from test_access import error_of


def ca_certificate(tmp_path, name):
    """A self-signed CA certificate, valid for 30 days, as PEM."""
    key, cert = tmp_path / f"{name}.key", tmp_path / f"{name}.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", f"/CN={name}"],
        check=True, capture_output=True,
    )
    return cert.read_text(), key.read_text()


def test_certificates_every_operation(client, tmp_path):
    certificates = client.admin.organization.certificates
    pem, key = ca_certificate(tmp_path, "Clients CA")

    created = certificates.create(certificate=pem, name="Clients")
    assert (created.object, created.name) == ("certificate", "Clients")
    assert created.certificate_details.expires_at - created.certificate_details.valid_at >= 29 * 86_400
    assert certificates.retrieve(created.id, include=["content"]).certificate_details.content == pem.strip()
    assert certificates.update(created.id, name="Partners").name == "Partners"
    listed = list(certificates.list())
    assert [(c.id, c.object, c.active) for c in listed] == [(created.id, "organization.certificate", False)]

    activated = list(certificates.activate(certificate_ids=[created.id]))
    assert [(c.id, c.active) for c in activated] == [(created.id, True)]
    with pytest.raises(openai.BadRequestError):
        certificates.delete(created.id)

    project = client.admin.organization.projects.create(name="Gateway")
    in_project = client.admin.organization.projects.certificates
    assert [c.active for c in in_project.list(project.id)] == [False]
    assert [c.active for c in in_project.activate(project.id, certificate_ids=[created.id])] == [True]
    assert [c.active for c in in_project.list(project.id)] == [True]
    assert [c.active for c in in_project.deactivate(project.id, certificate_ids=[created.id])] == [False]

    assert [c.active for c in certificates.deactivate(certificate_ids=[created.id])] == [False]
    deleted = certificates.delete(created.id)
    assert (deleted.object, deleted.id) == ("certificate.deleted", created.id)
    assert error_of(lambda: certificates.retrieve(created.id)) == (404, "certificate_id")

    # A private key is not a certificate.
    assert error_of(lambda: certificates.create(certificate=key)) == (400, "certificate")
