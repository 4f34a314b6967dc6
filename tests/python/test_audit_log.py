"""The audit log through the official `openai` SDK: a scripted sequence over every resource,
then every filter, alone and combined, and pagination both ways. Every body is validated
against the contract by the client's response hook."""

import time

import httpx2 as httpx
import openai
import pytest

from outbox import outbox_token

USER_AGENT = "roster-tests/1.0 (audit)"


def all_events(org, **filters):
    """Every event matching `filters`, newest first, through the SDK's auto-pagination."""
    return list(org.audit_logs.list(limit=100, **filters))


def summary(event):
    """What a person reads in a log line: type, project, actor and payload."""
    actor = event.actor
    if actor is None:
        who = None
    elif actor.type == "api_key":
        who = ("api_key", actor.api_key.id, actor.api_key.type, actor.api_key.user.email)
    else:
        who = ("session", actor.session.user.email, actor.session.ip_address)
    payload = getattr(event, event.type.replace(".", "_"), None)
    if payload is None:
        payload = (event.model_extra or {}).get(event.type)
    payload = payload.model_dump(exclude_none=True) if hasattr(payload, "model_dump") else payload
    return (event.type, event.project.id if event.project else None, who, payload)


def test_every_change_is_logged_in_order_with_actor_project_and_payload(roster, client):
    org = client.admin.organization
    default_project = org.projects.list().data[0].id
    before = [e.id for e in all_events(org)]
    [bootstrap_key] = org.admin_api_keys.list().data
    me = ("api_key", bootstrap_key.id, "user", "admin@localhost")

    project = org.projects.create(name="Gateway")
    org.projects.update(project.id, name="Gateway EU")
    key = org.admin_api_keys.create(name="ci")
    org.admin_api_keys.delete(key.id)
    invite = org.invites.create(email="ada@example.com", role="reader", projects=[{"id": project.id, "role": "member"}])
    token = outbox_token(roster, "ada@example.com")
    response = httpx.post(
        f"{roster.base_url}/v1/invites/{token}/accept", json={"name": "Ada"}, headers={"User-Agent": USER_AGENT}
    )
    assert response.status_code == 200
    ada = response.json()["id"]
    org.users.update(ada, role="owner")
    org.projects.users.update(ada, project_id=project.id, role="owner")
    admin = bootstrap_key.owner.id
    org.projects.users.create(project.id, user_id=admin, role="owner")
    org.projects.users.delete(ada, project_id=project.id)
    org.projects.users.create(project.id, user_id=ada, role="member")
    stale = org.invites.create(email="bob@example.com", role="owner")
    org.invites.delete(stale.id)
    org.users.delete(ada)
    org.projects.archive(project.id)

    events = [e for e in reversed(all_events(org)) if e.id not in before]
    admin = bootstrap_key.owner.id
    ada_session = ("session", "ada@example.com", "127.0.0.1")
    expected = [
        ("project.created", project.id, me, {"id": project.id, "data": {"name": "Gateway", "title": "Gateway"}}),
        ("project.updated", project.id, me, {"id": project.id, "changes_requested": {"title": "Gateway EU"}}),
        ("api_key.created", default_project, me, {"id": key.id, "data": {"scopes": []}}),
        ("api_key.deleted", default_project, me, {"id": key.id}),
        ("invite.sent", default_project, me, {"id": invite.id, "data": {"email": "ada@example.com", "role": "reader"}}),
        ("invite.accepted", default_project, ada_session, {"id": invite.id}),
        ("user.added", default_project, ada_session, {"id": ada, "data": {"role": "reader"}}),
        ("user.added", project.id, ada_session, {"id": ada, "data": {"role": "member"}}),
        ("user.updated", default_project, me, {"id": ada, "changes_requested": {"role": "owner"}}),
        ("user.updated", project.id, me, {"id": ada, "changes_requested": {"role": "owner"}}),
        ("user.added", project.id, me, {"id": admin, "data": {"role": "owner"}}),
        ("user.deleted", project.id, me, {"id": ada}),
        ("user.added", project.id, me, {"id": ada, "data": {"role": "member"}}),
        ("invite.sent", default_project, me, {"id": stale.id, "data": {"email": "bob@example.com", "role": "owner"}}),
        ("invite.deleted", default_project, me, {"id": stale.id}),
        ("user.deleted", default_project, me, {"id": ada}),
        ("project.archived", project.id, me, {"id": project.id}),
    ]
    assert [summary(e) for e in events] == expected
    assert [e.effective_at for e in events] == sorted(e.effective_at for e in events)
    assert all(abs(e.effective_at - time.time()) < 120 for e in events)
    assert {e.project.name for e in events if e.project.id == project.id} == {"Gateway EU"}
    accepted = next(e for e in events if e.type == "invite.accepted")
    assert accepted.actor.session.model_extra.get("user_agent") == USER_AGENT


def populate(org, projects=3, rounds=2):
    """Projects renamed a few times each: 1 + rounds events per project."""
    made = [org.projects.create(name=f"P{i}") for i in range(projects)]
    for r in range(rounds):
        for p in made:
            org.projects.update(p.id, name=f"{p.name} r{r}")
    return made


def test_each_filter_alone_and_combined(roster, client):
    org = client.admin.organization
    a, b, c = populate(org)
    key = org.admin_api_keys.create(name="second")
    with roster.client(key=key.value, max_retries=0) as other:
        other.admin.organization.projects.update(a.id, name="By the second key")
    start = time.time()

    assert {e.project.id for e in all_events(org, project_ids=[a.id, b.id])} == {a.id, b.id}
    assert len(all_events(org, project_ids=[a.id])) == 4
    created = all_events(org, event_types=["project.created"])
    assert {e.project.id for e in created} >= {a.id, b.id, c.id}
    assert all(e.type == "project.created" for e in created)

    second = all_events(org, actor_ids=[key.id])
    assert [summary(e)[0:2] for e in second] == [("project.updated", a.id)]
    owner = key.owner.id
    owner_email = org.users.retrieve(owner).email
    by_owner = all_events(org, actor_ids=[owner])
    assert len(by_owner) > len(second) and second[0].id in {e.id for e in by_owner}
    assert {e.id for e in all_events(org, actor_emails=[owner_email])} == {e.id for e in by_owner}
    assert all_events(org, actor_emails=["nobody@example.com"]) == []

    renames_of_b = all_events(org, resource_ids=[b.id], event_types=["project.updated"])
    assert [e.project_updated.changes_requested.title for e in renames_of_b] == ["P1 r1", "P1 r0"]

    combined = all_events(
        org, project_ids=[a.id, c.id], event_types=["project.updated"], actor_ids=[key.id, owner],
        actor_emails=[owner_email], resource_ids=[a.id],
        effective_at={"gte": int(start) - 3600, "lte": int(start) + 3600},
    )
    assert [e.project_updated.changes_requested.title for e in combined] == ["By the second key", "P0 r1", "P0 r0"]

    assert all_events(org, effective_at={"gt": int(time.time()) + 10}) == []
    recent = all_events(org, effective_at={"gte": int(start) - 3600})
    assert {e.id for e in recent} == {e.id for e in all_events(org)}
    newest = recent[0]
    at = newest.effective_at
    assert newest.id in {e.id for e in all_events(org, effective_at={"gte": at, "lte": at})}
    assert newest.id not in {e.id for e in all_events(org, effective_at={"lt": at})}
    assert newest.id not in {e.id for e in all_events(org, effective_at={"gt": at})}

    with pytest.raises(openai.BadRequestError) as refused:
        org.audit_logs.list(event_types=["project.exploded"])
    assert refused.value.body["param"] == "event_types[]"
    assert "project.exploded" in refused.value.body["message"]


def test_pagination_both_ways_over_300_events(roster, client):
    org = client.admin.organization
    project = org.projects.create(name="Busy")
    for i in range(300):
        org.projects.update(project.id, name=f"Busy {i}")
    everything = [e.id for e in all_events(org, resource_ids=[project.id])]
    assert len(everything) == 301 and everything == sorted(everything, reverse=True)

    forward, page = [], org.audit_logs.list(resource_ids=[project.id], limit=37)
    while True:
        forward += [e.id for e in page.data]
        if not page.has_more:
            break
        page = org.audit_logs.list(resource_ids=[project.id], limit=37, after=page.last_id)
    assert forward == everything

    backward, cursor = [], everything[-1]
    while True:
        page = org.audit_logs.list(resource_ids=[project.id], limit=41, before=cursor)
        assert [e.id for e in page.data] == sorted((e.id for e in page.data), reverse=True)
        backward = [e.id for e in page.data] + backward
        if not page.has_more:
            break
        cursor = page.first_id
    assert backward + [everything[-1]] == everything

    window = org.audit_logs.list(resource_ids=[project.id], after=everything[10], before=everything[20], limit=100)
    assert [e.id for e in window.data] == everything[11:20]


def test_a_refused_request_leaves_no_event(roster, client):
    org = client.admin.organization
    before = [e.id for e in all_events(org)]
    with pytest.raises(openai.BadRequestError):
        org.projects.create(name="")
    with pytest.raises(openai.NotFoundError):
        org.projects.update("proj_missing", name="x")
    with pytest.raises(openai.BadRequestError):
        org.invites.create(email="not-an-address", role="reader")
    with pytest.raises(openai.BadRequestError):
        org.users.update(org.users.list().data[0].id, role="reader")
    assert [e.id for e in all_events(org)] == before


def test_roles_assignments_and_groups_are_logged(roster, client):
    org = client.admin.organization
    before = {e.id for e in all_events(org)}
    [bootstrap_key] = org.admin_api_keys.list().data
    admin = bootstrap_key.owner.id
    role = org.roles.create(role_name="Auditors", permissions=["api.audit_logs.read"])
    org.roles.update(role.id, permissions=["api.audit_logs.read", "api.usage.read"])
    org.users.roles.create(admin, role_id=role.id)
    org.users.roles.delete(role.id, user_id=admin)
    group = org.groups.create(name="Eng")
    org.groups.update(group.id, name="Engineering")
    org.groups.users.create(group.id, user_id=admin)
    org.groups.delete(group.id)
    org.roles.delete(role.id)

    events = [e for e in reversed(all_events(org)) if e.id not in before]
    assert [e.type for e in events] == [
        "role.created", "role.updated", "role.assignment.created", "role.assignment.deleted",
        "group.created", "group.updated", "group.updated", "group.deleted", "role.deleted",
    ]
    payloads = [summary(e)[3] for e in events]
    org_id = payloads[0]["resource_id"]
    assert org_id.startswith("org-")
    assert payloads[0] == {"id": role.id, "role_name": "Auditors", "permissions": ["api.audit_logs.read"],
                           "resource_type": "api.organization", "resource_id": org_id}
    assert payloads[1]["changes_requested"]["permissions_added"] == ["api.usage.read"]
    assert payloads[1]["changes_requested"]["permissions_removed"] == []
    for assignment in payloads[2:4]:
        assert assignment["id"].startswith("ra_")
        assert {k: assignment[k] for k in ("principal_id", "principal_type", "resource_id", "resource_type")} == {
            "principal_id": admin, "principal_type": "user", "resource_id": org_id, "resource_type": "api.organization"}
    assert payloads[4] == {"id": group.id, "data": {"group_name": "Eng"}}
    assert payloads[5] == {"id": group.id, "changes_requested": {"group_name": "Engineering"}}
    assert payloads[6]["changes_requested"] == {"users_added": [admin]}
    assert payloads[7] == {"id": group.id}
    assert payloads[8] == {"id": role.id}
    me = ("api_key", bootstrap_key.id, "user", "admin@localhost")
    assert all(summary(e)[2] == me for e in events)
