"""Invites, organization users and project users through the official `openai` SDK; the
invitation read from the outbox, and delivered to a real SMTP server."""

import socket
import time

import openai
import pytest
from aiosmtpd.controller import Controller

from outbox import accept, outbox_token, token_in


def test_membership_flow(roster, client):
    org = client.admin.organization
    gateway = org.projects.create(name="Gateway")
    invite = org.invites.create(email="ada@example.com", role="reader", projects=[{"id": gateway.id, "role": "member"}])
    assert (invite.status, invite.role, invite.email) == ("pending", "reader", "ada@example.com")
    assert [(p.id, p.role) for p in invite.projects] == [(gateway.id, "member")]
    assert org.invites.retrieve(invite.id).id == invite.id
    assert invite.id in [i.id for i in org.invites.list()]

    accepted = accept(roster, outbox_token(roster, "ada@example.com"), "Ada Lovelace")
    assert accepted.status_code == 200
    ada = accepted.json()
    assert org.invites.retrieve(invite.id).status == "accepted"

    users = org.users.list(emails=["ada@example.com"]).data
    assert [(u.id, u.name, u.role) for u in users] == [(ada["id"], "Ada Lovelace", "reader")]
    assert org.users.update(ada["id"], role="owner").role == "owner"
    assert org.users.retrieve(ada["id"]).role == "owner"

    members = org.projects.users
    assert [m.id for m in members.list(gateway.id)] == [ada["id"]]
    owner = org.users.list(emails=["admin@localhost"]).data[0]
    added = members.create(gateway.id, email="admin@localhost", role="owner")
    assert (added.id, added.role) == (owner.id, "owner")
    assert members.update(ada["id"], project_id=gateway.id, role="owner").role == "owner"
    assert members.retrieve(ada["id"], project_id=gateway.id).role == "owner"
    assert members.delete(ada["id"], project_id=gateway.id).deleted is True
    with pytest.raises(openai.NotFoundError):
        members.retrieve(ada["id"], project_id=gateway.id)
    with pytest.raises(openai.BadRequestError) as stranger:
        members.create(gateway.id, email="stranger@example.com", role="member")
    assert stranger.value.body["param"] == "email"

    assert org.users.delete(ada["id"]).deleted is True
    with pytest.raises(openai.NotFoundError):
        org.users.retrieve(ada["id"])


def test_invite_errors_and_deletion(roster, client):
    invites = client.admin.organization.invites
    with pytest.raises(openai.BadRequestError) as bad:
        invites.create(email="nobody", role="reader")
    assert bad.value.body["param"] == "email"
    first = invites.create(email="bob@example.com", role="reader", projects=[])
    with pytest.raises(openai.BadRequestError):
        invites.create(email="bob@example.com", role="owner")
    token = outbox_token(roster, "bob@example.com")
    deleted = invites.delete(first.id)
    assert deleted.deleted is True and deleted.id == first.id
    assert accept(roster, token, "Bob").status_code == 404


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, envelope.content))
        return "250 Message accepted for delivery"


def test_invitations_are_delivered_over_smtp(start_roster):
    inbox = Inbox()
    port = free_port()
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        roster = start_roster(ROSTER_SMTP_URL=f"smtp://127.0.0.1:{port}", ROSTER_MAIL_FROM="Roster <iam@roster.test>")
        with roster.client(max_retries=0) as client:
            client.admin.organization.invites.create(email="carol@example.com", role="owner")
        deadline = time.monotonic() + 10
        while not inbox.messages and time.monotonic() < deadline:
            time.sleep(0.02)
        assert inbox.messages, "no message reached the SMTP server"
        recipients, raw = inbox.messages[0]
        assert recipients == ["carol@example.com"]
        token, message, body = token_in(raw)
        assert message["From"] == "Roster <iam@roster.test>"
        assert "Default Organization" in message["Subject"]
        for part in ("Admin (admin@localhost)", "as an owner", "Default project: member", f"{roster.base_url}/invite/{token}"):
            assert part in body, part
        assert accept(roster, token, "Carol").json()["role"] == "owner"
    finally:
        smtp.stop()
