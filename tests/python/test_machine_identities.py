"""Service accounts and project API keys through the official `openai` SDK: every operation, the
rules' errors, a key shown once and then only redacted, pagination over 150 keys."""

import httpx2 as httpx
import openai
import pytest

import contract
from test_access import add_users, error_of


def test_service_accounts_every_operation(roster, client):
    org = client.admin.organization
    project = org.projects.create(name="Gateway")
    accounts = org.projects.service_accounts

    bot = accounts.create(project.id, name="ci-bot")
    assert (bot.object, bot.role) == ("organization.project.service_account", "member")
    assert bot.id.startswith("svc_acct_") and bot.api_key.value.startswith("sk-svcacct-")
    listed = org.projects.api_keys.retrieve(bot.api_key.id, project_id=project.id)
    assert "value" not in listed.model_dump() and listed.redacted_value.endswith(bot.api_key.value[-4:])
    assert listed.redacted_value != bot.api_key.value
    assert (listed.owner.type, listed.owner.service_account.id, listed.owner_project_access) == (
        "service_account",
        bot.id,
        "active",
    )

    bare = accounts.create(project.id, name="terraform", create_service_account_only=True)
    assert (bare.role, bare.api_key) == ("none", None)
    expiring = accounts.create(project.id, name="nightly", expires_in_seconds=3600)
    assert expiring.api_key is not None

    assert [a.id for a in accounts.list(project.id)] == [bot.id, bare.id, expiring.id]
    assert accounts.retrieve(bare.id, project_id=project.id).name == "terraform"
    assert accounts.update(bare.id, project_id=project.id, role="owner").role == "owner"
    assert accounts.update(bare.id, project_id=project.id, name="tf").name == "tf"

    extra = accounts.api_keys.create(bare.id, project_id=project.id, name="deploy", scopes=["api.responses.write"])
    assert (extra.object, extra.name) == ("organization.project.service_account.api_key", "deploy")
    assert extra.value.startswith("sk-svcacct-")
    assert error_of(lambda: accounts.api_keys.create(bare.id, project_id=project.id, expires_in_seconds=0)) == (
        400,
        "expires_in_seconds",
    )
    assert error_of(lambda: accounts.api_keys.create(bare.id, project_id=project.id, scopes=["api.nope"])) == (
        400,
        "scopes[0]",
    )
    assert error_of(lambda: accounts.create(project.id, name="")) == (400, "name")
    default = next(p for p in org.projects.list() if p.name == "Default project")
    assert error_of(lambda: accounts.create(default.id, name="x")) == (400, "project_id")
    assert error_of(lambda: accounts.retrieve("svc_acct_nope", project_id=project.id)) == (404, "service_account_id")

    assert error_of(lambda: org.projects.api_keys.delete(extra.id, project_id=project.id)) == (400, "api_key_id")
    assert error_of(lambda: org.projects.api_keys.retrieve("key_nope", project_id=project.id)) == (404, "api_key_id")
    updated = org.projects.api_keys.update(extra.id, project_id=project.id, scopes=["api.model.read"])
    assert updated.id == extra.id
    # The key object shows no scopes; the gateway check shows the new ones.
    checked = httpx.post(roster.base_url + "/v1/gateway/check", json={"api_key": extra.value}).json()
    assert checked["permissions"] == ["api.model.read"], checked
    deleted = accounts.delete(bare.id, project_id=project.id)
    assert (deleted.object, deleted.id, deleted.deleted) == ("organization.project.service_account.deleted", bare.id, True)
    assert error_of(lambda: org.projects.api_keys.retrieve(extra.id, project_id=project.id)) == (404, "api_key_id")

    org.projects.archive(project.id)
    assert error_of(lambda: accounts.create(project.id, name="late"))[0] == 400
    with pytest.raises(openai.BadRequestError) as archived:
        accounts.list(project.id)
    assert "archived" in archived.value.body["message"]

    types = [e.type for e in org.audit_logs.list(project_ids=[project.id], limit=100)]
    assert types.count("service_account.created") == 3 and "service_account.deleted" in types
    assert "api_key.updated" in types and types.count("api_key.created") == 3


def test_user_keys_and_pagination_over_150_keys(roster, client):
    org = client.admin.organization
    project = org.projects.create(name="Gateway")
    [ada] = add_users(roster, org, 1, "ada")
    org.projects.users.create(project.id, user_id=ada, role="member")
    bot = org.projects.service_accounts.create(project.id, name="bot", create_service_account_only=True)
    org.projects.service_accounts.update(bot.id, project_id=project.id, role="member")

    # Roster's addition: a key for a member (the real service makes these in its dashboard).
    path = f"/v1/organization/projects/{project.id}/users/{ada}/api_keys"
    response = httpx.post(roster.base_url + path, json={"name": "laptop"}, headers={"Authorization": f"Bearer {roster.key}"})
    contract.validate("POST", path, response.status_code, response.json())
    assert response.status_code == 200
    laptop = response.json()
    owned = org.projects.api_keys.retrieve(laptop["id"], project_id=project.id)
    assert (owned.owner.type, owned.owner.user.email, owned.owner.user.role) == ("user", "ada000@example.com", "member")

    created = [laptop["id"]]
    for i in range(149):
        created.append(org.projects.service_accounts.api_keys.create(bot.id, project_id=project.id, name=f"k{i}").id)
    walked = [k.id for k in org.projects.api_keys.list(project.id, limit=37)]
    assert walked == sorted(created) and len(walked) == 150
    page = org.projects.api_keys.list(project.id, limit=100)
    assert page.has_more and page.last_id == walked[99]

    org.projects.users.delete(ada, project_id=project.id)
    inactive = [k.id for k in org.projects.api_keys.list(project.id, owner_project_access="inactive")]
    assert inactive == [laptop["id"]]
    assert len(list(org.projects.api_keys.list(project.id, owner_project_access="active", limit=100))) == 149
    deleted = org.projects.api_keys.delete(laptop["id"], project_id=project.id)
    assert (deleted.object, deleted.deleted) == ("organization.project.api_key.deleted", True)
