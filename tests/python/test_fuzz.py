"""Property-based fuzzing of the running server with schemathesis, against the OpenAPI document
Roster serves: for every operation, no 5xx, every status and content type declared, every body
(the error envelope on each 4xx included) valid against its schema.

Seeded objects give the path parameters real ids, so that the fuzzer reaches past the 404s."""

import json
import os
import pathlib
import re
import subprocess
import sys
import urllib.parse

import httpx2 as httpx

import contract

from test_access import add_users

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Operations served outside /v1 (probes, metrics, the invitation page and its stylesheet),
# fuzzed against the root; SCIM's, also at the root, with a SCIM token.
ROOT_PATHS = "^/(healthz|readyz|metrics|invite/|static/)"
SCIM_PATHS = "^/scim/"
# A longer or another run: ROSTER_FUZZ_EXAMPLES=500 ROSTER_FUZZ_SEED=7 (docs/testing.md).
MAX_EXAMPLES = os.environ.get("ROSTER_FUZZ_EXAMPLES", "25")
SEED = os.environ.get("ROSTER_FUZZ_SEED", "20261123")


def seed(roster, client):
    """One of every object, for the fuzzer's path parameters."""
    org = client.admin.organization
    project = org.projects.create(name="Fuzzed")
    [user] = add_users(roster, org, 1, "fuzz")
    org.projects.users.create(project.id, user_id=user, role="member")
    group = org.groups.create(name="Fuzzers")
    org.groups.users.create(group.id, user_id=user)
    org.projects.groups.create(project.id, group_id=group.id, role="role-api-project-member")
    role = org.roles.create(role_name="Fuzz role", permissions=["api.usage.read"])
    org.users.roles.create(user, role_id=role.id)
    account = org.projects.service_accounts.create(project.id, name="fuzz-bot")
    invite = org.invites.create(email="pending@example.com", role="reader")
    admin_key = org.admin_api_keys.create(name="fuzz")
    return {
        "project_id": project.id,
        "user_id": user,
        "group_id": group.id,
        "role_id": role.id,
        "service_account_id": account.id,
        "api_key_id": account.api_key.id,
        "invite_id": invite.id,
        "key_id": admin_key.id,
    }


def operations_tested(report):
    """How many operations a schemathesis run exercised, from its summary."""
    match = re.search(r"Tested: (\d+)", report)
    assert match, report[-3000:]
    return int(match.group(1))


def har_path(tmp_path, path_filter):
    return tmp_path / f"schemathesis-{path_filter[0]}.har"


def succeeded(har):
    """The operations that answered a request of the fuzzer's with a 2xx, from its HAR record."""
    found = set()
    for entry in json.loads(har.read_text())["log"]["entries"]:
        if not 200 <= entry["response"]["status"] < 300:
            continue
        url = urllib.parse.urlsplit(entry["request"]["url"])
        operation = contract.operation_for(entry["request"]["method"], url.path)
        assert operation is not None, entry["request"]["url"]
        found.add(operation["operationId"])
    return found


def run_schemathesis(roster, tmp_path, base_url, path_filter, parameters, key=None):
    config = tmp_path / f"schemathesis-{path_filter[0]}.toml"
    lines = ["[parameters]"] + [f'"path.{name}" = "{value}"' for name, value in parameters.items()]
    config.write_text("\n".join(lines) + "\n")
    st = pathlib.Path(sys.executable).parent / "st"
    command = [
        str(st), "--config-file", str(config), "run", roster.base_url + "/v1/openapi.yaml",
        "--url", base_url,
        "-H", f"Authorization: Bearer {key or roster.key}",
        "--checks", CHECKS,
        "--phases", "examples,coverage,fuzzing",
        "--max-examples", MAX_EXAMPLES,
        "--seed", SEED,
        # One worker: CPython 3.11 can fail compiling in two threads at once ("AST constructor
        # recursion depth mismatch"), an error of the tool, not of the server.
        "--workers", "1",
        "--request-timeout", "10",
        "--report", "har", "--report-har-path", str(har_path(tmp_path, path_filter)),
        *path_filter[1:],
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=900)
    # The findings come before the warnings; show them first.
    findings = result.stdout.split("=== WARNINGS ===")[0]
    assert result.returncode == 0, findings[-30000:] + result.stderr[-5000:]
    return result.stdout


def test_every_operation_holds_up_under_fuzzing(roster, client, tmp_path):
    parameters = seed(roster, client)
    api = run_schemathesis(roster, tmp_path, roster.base_url + "/v1", ("api", "--exclude-path-regex", f"{ROOT_PATHS}|{SCIM_PATHS}"), parameters)
    root = run_schemathesis(roster, tmp_path, roster.base_url, ("root", "--include-path-regex", ROOT_PATHS), {})
    token = httpx.post(
        roster.base_url + "/v1/organization/scim/tokens",
        json={"name": "fuzzer"},
        headers={"Authorization": f"Bearer {roster.key}"},
    ).json()["value"]
    scim = run_schemathesis(roster, tmp_path, roster.base_url, ("scim", "--include-path-regex", SCIM_PATHS), {"id": parameters["user_id"]}, key=token)
    # Every operation of the served document was exercised, by one run or the other, but the
    # document itself, which schemathesis loads rather than fuzzes.
    served = contract.operation_count() - 1
    tested = [operations_tested(api), operations_tested(root), operations_tested(scim)]
    assert sum(tested) == served, (tested, served)
    # The coverage table counts what the fuzzer's own requests got a 2xx from.
    # Added to what this test run's other backend recorded.
    record = ROOT / "target" / "coverage" / "schemathesis.txt"
    record.parent.mkdir(parents=True, exist_ok=True)
    earlier = set(record.read_text().split()) if record.exists() else set()
    fuzzed = earlier.union(*(succeeded(har_path(tmp_path, (run,))) for run in ("api", "root", "scim")))
    record.write_text("".join(f"{op}\n" for op in sorted(fuzzed)))
    # The server is still whole after the onslaught.
    assert httpx.get(roster.base_url + "/readyz").status_code == 200
