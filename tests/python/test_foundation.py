"""Projects and admin API keys through the official `openai` SDK, every body checked
against the contract."""

import subprocess
import sys

import openai
import pytest

from conftest import ROOT


def test_readme_example_lists_the_default_project(roster):
    # As the README shows it: only the base URL changes.
    client = openai.OpenAI(admin_api_key=roster.key, base_url=roster.base_url + "/v1")
    projects = client.admin.organization.projects.list()
    assert [p.name for p in projects.data] == ["Default project"]
    assert projects.data[0].status == "active"


def test_project_lifecycle(client):
    projects = client.admin.organization.projects
    created = projects.create(name="Gateway", external_key_id="ek_1")
    assert created.id.startswith("proj_") and created.object == "organization.project"
    assert (created.name, created.status, created.archived_at) == ("Gateway", "active", None)
    assert projects.retrieve(created.id) == created

    renamed = projects.update(created.id, name="Gateway v2")
    assert renamed.name == "Gateway v2"
    assert projects.retrieve(created.id).name == "Gateway v2"

    archived = projects.archive(created.id)
    assert archived.status == "archived" and archived.archived_at is not None
    assert created.id not in [p.id for p in projects.list()]
    assert created.id in [p.id for p in projects.list(include_archived=True)]


def test_sdk_auto_pagination_walks_every_project(client):
    projects = client.admin.organization.projects
    made = [projects.create(name=f"p{i}").id for i in range(45)]
    walked = [p.id for p in projects.list(limit=10)]
    assert walked[1:] == made and len(walked) == len(set(walked)) == 46


def test_project_errors(client):
    projects = client.admin.organization.projects
    with pytest.raises(openai.NotFoundError) as missing:
        projects.retrieve("proj_missing")
    assert missing.value.body["param"] == "project_id"
    with pytest.raises(openai.BadRequestError) as empty:
        projects.create(name="")
    assert empty.value.body["param"] == "name"
    with pytest.raises(openai.BadRequestError) as limit:
        projects.list(limit=101)
    assert limit.value.body["param"] == "limit"
    default = projects.list().data[0]
    with pytest.raises(openai.BadRequestError):
        projects.archive(default.id)
    once = projects.create(name="once")
    projects.archive(once.id)
    with pytest.raises(openai.BadRequestError):
        projects.archive(once.id)


def test_admin_key_lifecycle(roster, client):
    keys = client.admin.organization.admin_api_keys
    created = keys.create(name="Automation", expires_in_seconds=3600)
    assert created.value.startswith("sk-admin-")
    assert created.redacted_value == "sk-admin..." + created.value[-4:]
    assert created.expires_at == created.created_at + 3600
    assert created.owner.role == "owner"

    retrieved = keys.retrieve(created.id)
    assert retrieved.id == created.id
    assert "value" not in retrieved.to_dict(), "the value is shown only on create"
    assert [k.id for k in keys.list(order="desc", limit=1).data] == [created.id]

    with roster.client(key=created.value, max_retries=0) as as_new_key:
        assert as_new_key.admin.organization.projects.list().data
        deleted = keys.delete(created.id)
        assert deleted.deleted is True and deleted.id == created.id
        with pytest.raises(openai.AuthenticationError) as refused:
            as_new_key.admin.organization.projects.list()
        assert refused.value.body["code"] == "invalid_api_key"

    with pytest.raises(openai.BadRequestError) as bad:
        keys.create(name="x", expires_in_seconds=0)
    assert bad.value.body["param"] == "expires_in_seconds"
    with pytest.raises(openai.NotFoundError):
        keys.retrieve(created.id)


def test_unknown_key_is_refused(roster):
    with roster.client(key="sk-admin-unknown0000000000000000000000000", max_retries=0) as stranger:
        with pytest.raises(openai.AuthenticationError) as refused:
            stranger.admin.organization.projects.list()
    assert refused.value.status_code == 401
    assert refused.value.body["type"] == "invalid_request_error"


def test_served_document_is_up_to_date():
    subprocess.run([sys.executable, str(ROOT / "scripts" / "openapi.py"), "--check"], check=True)


def test_the_projects_copy_of_the_contract_is_the_shared_one():
    shared = ROOT.parent / "shared" / "openapi" / "openai-admin-iam.yaml"
    if not shared.exists():
        pytest.skip("no ../shared beside this checkout")
    assert (ROOT / "openapi" / "openai-admin-iam.yaml").read_bytes() == shared.read_bytes()
