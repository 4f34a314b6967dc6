"""Roles, role assignments and groups through the official `openai` SDK: every operation, the
rules' errors, pagination both ways, the legacy-role rule from both directions, the cascades."""

import openai
import pytest

from outbox import accept, tokens_by_recipient


def add_users(roster, org, count, prefix="user"):
    """Invites `count` people and accepts every invitation; returns their user ids in order."""
    emails = [f"{prefix}{i:03}@example.com" for i in range(count)]
    for email in emails:
        org.invites.create(email=email, role="reader", projects=[])
    tokens = tokens_by_recipient(roster, count)
    return [accept(roster, tokens[email], email.split("@")[0]).json()["id"] for email in emails]


def error_of(call):
    with pytest.raises(openai.APIStatusError) as caught:
        call()
    return caught.value.status_code, caught.value.body["param"]


def test_roles_every_operation_and_rule(roster, client):
    org = client.admin.organization
    project = org.projects.create(name="Gateway")

    org_roles = list(org.roles.list())
    assert [(r.name, r.predefined_role, r.resource_type) for r in org_roles] == [
        ("owner", True, "api.organization"),
        ("reader", True, "api.organization"),
    ]
    assert [r.name for r in org.projects.roles.list(project.id)] == ["member", "owner", "viewer"]
    member = org.projects.roles.retrieve("role-api-project-member", project_id=project.id)
    assert member.id == f"role-api-project-member__api-project__{project.id}"
    assert "api.model.request" in member.permissions
    assert error_of(lambda: org.roles.update("role-api-organization-owner", role_name="x")) == (400, "role_id")
    assert error_of(lambda: org.projects.roles.delete(member.id, project_id=project.id)) == (400, "role_id")

    manager = org.roles.create(
        role_name="Group Manager", permissions=["api.groups.read", "api.groups.write"], description="Manages groups"
    )
    assert (manager.name, manager.description, manager.predefined_role) == ("Group Manager", "Manages groups", False)
    assert org.roles.retrieve(manager.id).permissions == ["api.groups.read", "api.groups.write"]
    assert error_of(lambda: org.roles.create(role_name="Group Manager", permissions=[])) == (400, "role_name")
    assert error_of(lambda: org.roles.create(role_name="Odd", permissions=["api.groups.fly"])) == (400, "permissions[0]")
    assert org.roles.create(role_name="Nothing", permissions=[]).permissions == []
    updated = org.roles.update(manager.id, permissions=["api.groups.read"])
    assert (updated.name, updated.permissions) == ("Group Manager", ["api.groups.read"])
    assert org.roles.update(manager.id, role_name="Group Reader").permissions == ["api.groups.read"]

    keys = org.projects.roles.create(project.id, role_name="Keys", permissions=["api.organization.projects.api_keys.read"])
    assert keys.resource_type == "api.project"
    assert org.projects.roles.update(keys.id, project_id=project.id, description="Reads keys").description == "Reads keys"
    assert org.projects.roles.delete(keys.id, project_id=project.id).deleted
    assert error_of(lambda: org.projects.roles.retrieve(keys.id, project_id=project.id)) == (404, "role_id")
    deleted = org.roles.delete(manager.id)
    assert (deleted.object, deleted.id, deleted.deleted) == ("role.deleted", manager.id, True)

    for i in range(150):
        org.roles.create(role_name=f"Role {i:03}", permissions=["api.usage.read"])
    ascending = [r.id for r in org.roles.list(limit=40)]
    descending = [r.id for r in org.roles.list(limit=33, order="desc")]
    assert len(ascending) == 153 and descending == ascending[::-1]
    first = org.roles.list(limit=10)
    assert first.has_more and first.next == first.data[-1].id


def test_assignments_and_the_legacy_role_from_both_directions(roster, client):
    org = client.admin.organization
    project = org.projects.create(name="Gateway")
    other = org.projects.create(name="Other")
    [ada] = add_users(roster, org, 1, "ada")
    usage = org.roles.create(role_name="Usage", permissions=["api.usage.read"])
    elsewhere = org.projects.roles.create(other.id, role_name="Elsewhere", permissions=[])

    assert [r.name for r in org.users.roles.list(ada)] == ["reader"]
    assigned = org.users.roles.create(ada, role_id=usage.id)
    assert (assigned.object, assigned.user.id, assigned.role.id) == ("user.role", ada, usage.id)
    held = org.users.roles.retrieve(usage.id, user_id=ada)
    assert [(s.principal_id, s.principal_type) for s in held.assignment_sources] == [(ada, "user")]
    assert error_of(lambda: org.users.roles.create(ada, role_id=usage.id)) == (400, "role_id")
    assert error_of(lambda: org.users.roles.create(ada, role_id=elsewhere.id)) == (400, "role_id")

    org.users.roles.create(ada, role_id="role-api-organization-owner")
    assert org.users.retrieve(ada).role == "owner"
    org.users.update(ada, role="reader")
    assert [r.name for r in org.users.roles.list(ada)] == ["reader", "Usage"]

    project_roles = org.projects.users.roles
    assert error_of(lambda: project_roles.create(ada, project_id=project.id, role_id="role-api-project-owner")) == (
        400,
        "user_id",
    )
    org.projects.users.create(project.id, user_id=ada, role="member")
    assert error_of(lambda: project_roles.create(ada, project_id=project.id, role_id=elsewhere.id)) == (400, "role_id")
    project_roles.create(ada, project_id=project.id, role_id="role-api-project-viewer")
    assert org.projects.users.retrieve(ada, project_id=project.id).role == "viewer"
    org.projects.users.update(ada, project_id=project.id, role="member")
    assert [r.name for r in project_roles.list(ada, project_id=project.id)] == ["member"]
    assert project_roles.retrieve("role-api-project-member", project_id=project.id, user_id=ada).predefined_role

    caller = org.projects.roles.create(project.id, role_name="Caller", permissions=["api.model.request"])
    project_roles.create(ada, project_id=project.id, role_id=caller.id)
    assert project_roles.delete(caller.id, project_id=project.id, user_id=ada).object == "user.role.deleted"
    assert org.users.roles.delete(usage.id, user_id=ada).deleted
    assert [r.name for r in org.users.roles.list(ada)] == ["reader"]

    # Removing the member takes her project roles; deleting the role takes its assignments.
    project_roles.create(ada, project_id=project.id, role_id=caller.id)
    org.projects.users.delete(ada, project_id=project.id)
    org.projects.users.create(project.id, user_id=ada, role="viewer")
    assert [r.name for r in project_roles.list(ada, project_id=project.id)] == ["viewer"]
    org.users.roles.create(ada, role_id=usage.id)
    org.roles.delete(usage.id)
    assert [r.name for r in org.users.roles.list(ada)] == ["reader"]


def test_groups_members_roles_and_project_access(roster, client):
    org = client.admin.organization
    project = org.projects.create(name="Gateway")
    people = add_users(roster, org, 150, "member")

    assert error_of(lambda: org.groups.create(name="")) == (400, "name")
    group = org.groups.create(name="Engineering")
    assert (group.name, group.group_type, group.is_scim_managed) == ("Engineering", "group", False)
    assert org.groups.update(group.id, name="Platform").name == "Platform"
    assert org.groups.retrieve(group.id).name == "Platform"
    assert group.id in [g.id for g in org.groups.list()]

    for person in people:
        org.groups.users.create(group.id, user_id=person)
    assert error_of(lambda: org.groups.users.create(group.id, user_id="user-nobody")) == (400, "user_id")
    newest_first = [u.id for u in org.groups.users.list(group.id, limit=40)]
    oldest_first = [u.id for u in org.groups.users.list(group.id, limit=33, order="asc")]
    assert newest_first == sorted(people, reverse=True) and oldest_first == sorted(people)
    member = org.groups.users.retrieve(people[0], group_id=group.id)
    assert (member.id, member.email) == (people[0], "member000@example.com")
    assert org.groups.users.delete(people[0], group_id=group.id).object == "group.user.deleted"

    readers = org.roles.create(role_name="Log readers", permissions=["api.audit_logs.read"])
    given = org.groups.roles.create(group.id, role_id=readers.id)
    assert (given.object, given.group.id, given.role.id) == ("group.role", group.id, readers.id)
    assert [r.id for r in org.groups.roles.list(group.id)] == [readers.id]
    assert org.groups.roles.retrieve(readers.id, group_id=group.id).name == "Log readers"
    assert org.groups.roles.delete(readers.id, group_id=group.id).object == "group.role.deleted"

    access = org.projects.groups.create(project.id, group_id=group.id, role="role-api-project-viewer")
    assert (access.object, access.group_id, access.group_name, access.group_type) == (
        "project.group",
        group.id,
        "Platform",
        "group",
    )
    assert [g.group_id for g in org.projects.groups.list(project.id)] == [group.id]
    assert org.projects.groups.retrieve(group.id, project_id=project.id).project_id == project.id
    callers = org.projects.roles.create(project.id, role_name="Callers", permissions=["api.model.request"])
    project_group_roles = org.projects.groups.roles
    project_group_roles.create(group.id, project_id=project.id, role_id=callers.id)
    assert [r.name for r in project_group_roles.list(group.id, project_id=project.id)] == ["viewer", "Callers"]
    assert project_group_roles.retrieve(callers.id, project_id=project.id, group_id=group.id).id == callers.id
    assert project_group_roles.delete(callers.id, project_id=project.id, group_id=group.id).deleted
    assert org.projects.groups.delete(group.id, project_id=project.id).object == "project.group.deleted"
    assert list(org.projects.groups.list(project.id)) == []

    org.projects.groups.create(project.id, group_id=group.id, role="role-api-project-member")
    deleted = org.groups.delete(group.id)
    assert (deleted.object, deleted.deleted) == ("group.deleted", True)
    assert list(org.projects.groups.list(project.id)) == []
    assert error_of(lambda: org.groups.users.list(group.id)) == (404, "group_id")
