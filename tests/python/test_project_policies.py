"""A project's policies through the official `openai` SDK: model permissions, hosted tool
permissions and rate limits, every operation, and what the gateway check makes of them."""

import httpx2 as httpx
import openai
import pytest

from test_access import error_of


def check(roster, key, **call):
    """What Roster's gateway check answers about `key` (no admin key: the key is the credential)."""
    return httpx.post(f"{roster.base_url}/v1/gateway/check", json={"api_key": key, **call}).json()


def test_model_permissions_every_operation(roster, client):
    projects = client.admin.organization.projects
    project = projects.create(name="Models")
    key = projects.service_accounts.create(project.id, name="bot").api_key.value

    # The SDK names `model_ids` `api_model_ids` (pydantic keeps the `model_` prefix for itself).
    none = projects.model_permissions.retrieve(project.id)
    assert (none.object, none.mode, none.api_model_ids) == ("project.model_permissions", "deny_list", [])
    allowed = projects.model_permissions.update(project.id, mode="allow_list", model_ids=["gpt-4o", "o3"])
    assert (allowed.mode, allowed.api_model_ids) == ("allow_list", ["gpt-4o", "o3"])
    assert projects.model_permissions.retrieve(project.id).api_model_ids == ["gpt-4o", "o3"]
    denied = check(roster, key, model="gpt-5")
    assert (denied["allowed"], denied["status"], denied["error"]["code"]) == (False, 403, "model_not_found")
    assert check(roster, key, model="o3")["allowed"] is True

    deleted = projects.model_permissions.delete(project.id)
    assert (deleted.object, deleted.deleted) == ("project.model_permissions.deleted", True)
    assert check(roster, key, model="gpt-5")["allowed"] is True
    assert error_of(lambda: projects.model_permissions.retrieve("proj_nope")) == (404, "project_id")
    with pytest.raises(openai.BadRequestError):
        projects.model_permissions.update(project.id, mode="allow_list", model_ids=[""])


def test_hosted_tool_permissions_every_operation(roster, client):
    projects = client.admin.organization.projects
    project = projects.create(name="Tools")
    key = projects.service_accounts.create(project.id, name="bot").api_key.value

    tools = projects.hosted_tool_permissions.retrieve(project.id)
    assert all(getattr(tools, t).enabled for t in ("file_search", "web_search", "image_generation", "mcp", "code_interpreter"))
    off = projects.hosted_tool_permissions.update(project.id, web_search={"enabled": False})
    assert (off.web_search.enabled, off.mcp.enabled) == (False, True)
    denied = check(roster, key, tools=["web_search"])
    assert (denied["allowed"], denied["status"]) == (False, 403)
    on = projects.hosted_tool_permissions.update(project.id, web_search={"enabled": True})
    assert on.web_search.enabled
    assert check(roster, key, tools=["web_search"])["allowed"] is True


def test_rate_limits_every_operation(roster, client):
    projects = client.admin.organization.projects
    project = projects.create(name="Limits")
    key = projects.service_accounts.create(project.id, name="bot").api_key.value

    # The SDK pages through every model of the catalogue, by `after`.
    limits = list(projects.rate_limits.list_rate_limits(project.id, limit=4))
    ids = [limit.id for limit in limits]
    assert "rl-gpt-4o" in ids and ids == sorted(ids) and len(set(ids)) == len(ids)
    organization = next(limit for limit in limits if limit.id == "rl-gpt-4o")

    updated = projects.rate_limits.update_rate_limit("rl-gpt-4o", project_id=project.id, max_requests_per_1_minute=42)
    assert (updated.object, updated.model, updated.max_requests_per_1_minute) == ("project.rate_limit", "gpt-4o", 42)
    assert updated.max_tokens_per_1_minute == organization.max_tokens_per_1_minute
    assert check(roster, key, model="gpt-4o")["rate_limit"]["max_requests_per_1_minute"] == 42
    too_many = organization.max_requests_per_1_minute + 1
    assert error_of(
        lambda: projects.rate_limits.update_rate_limit("rl-gpt-4o", project_id=project.id, max_requests_per_1_minute=too_many)
    ) == (400, "max_requests_per_1_minute")
    assert error_of(
        lambda: projects.rate_limits.update_rate_limit("rl-nope", project_id=project.id, max_requests_per_1_minute=1)
    ) == (404, "rate_limit_id")
