"""The outbox as a test reads it: the invitations Roster wrote there as `.eml` files, their
acceptance links read as a mail reader reads them, and accepting one."""

import email
import email.policy
import re
import time

import httpx2 as httpx

import contract

LINK = re.compile(r"/invite/([A-Za-z0-9_-]+)")


def token_in(raw_message):
    """The acceptance link's token, read as a mail reader reads it (quoted-printable decoded)."""
    message = email.message_from_bytes(raw_message, policy=email.policy.default)
    body = message.get_body(("plain",)).get_content()
    return LINK.search(body).group(1), message, body


def outbox_token(roster, address, seen=()):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for path in sorted((roster.data_dir / "outbox").glob("*.eml")):
            token, message, _ = token_in(path.read_bytes())
            if message["To"] == address and token not in seen:
                return token
        time.sleep(0.02)
    raise AssertionError(f"no invitation mailed to {address}")


def accept(roster, token, name):
    response = httpx.post(f"{roster.base_url}/v1/invites/{token}/accept", json={"name": name})
    contract.validate("POST", f"/v1/invites/{token}/accept", response.status_code, response.json())
    return response


def tokens_by_recipient(roster, count, timeout=30):
    """The acceptance tokens of the first `count` recipients to have mail, by address."""
    tokens = {}
    deadline = time.monotonic() + timeout
    while len(tokens) < count and time.monotonic() < deadline:
        for path in (roster.data_dir / "outbox").glob("*.eml"):
            token, message, _ = token_in(path.read_bytes())
            tokens[message["To"]] = token
        time.sleep(0.05)
    return tokens
