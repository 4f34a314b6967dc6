#!/usr/bin/env python3
"""Builds openapi/roster.yaml, the document Roster serves at /v1/openapi.yaml: the contract
(openapi/openai-admin-iam.yaml, the project's copy of ../shared/openapi/) with Roster's
additions (openapi/additions.yaml) and the error responses each operation really returns, less
the contract's operations Roster does not serve yet (NOT_YET_SERVED), so that the document
describes this server and the SDK suites and the fuzzer test exactly what it serves.

    python3 scripts/openapi.py           # write openapi/roster.yaml
    python3 scripts/openapi.py --check   # fail if it is out of date
"""

import copy
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "openapi" / "openai-admin-iam.yaml"
ADDITIONS = ROOT / "openapi" / "additions.yaml"
SERVED = ROOT / "openapi" / "roster.yaml"

ERROR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}}
METHODS = ("get", "post", "put", "patch", "delete")
# Contract operations whose issues are still open; each leaves this list when it is served.
# docs/coverage.md lists them as not served.
NOT_YET_SERVED = set()


def error(description):
    return {"description": description, **copy.deepcopy(ERROR)}


SCIM_ERROR = {"content": {"application/scim+json": {"schema": {"$ref": "#/components/schemas/RosterScimError"}}}}


def scim_error(description):
    return {"description": description, **copy.deepcopy(SCIM_ERROR)}


def declare_scim_errors(path, operation):
    """SCIM answers its refusals with its own error body (RFC 7644 §3.12)."""
    responses = operation.setdefault("responses", {})
    responses.setdefault("400", scim_error("Invalid: `scimType` says how (`invalidFilter`, `invalidValue`, `invalidSyntax`, `invalidPath`, `noTarget`)."))
    responses.setdefault("401", scim_error("The SCIM token is missing, malformed, unknown or revoked."))
    if "{" in path:
        responses.setdefault("404", scim_error("No such resource in the token's organization."))
        responses.setdefault("412", scim_error("`If-Match` names another version than the resource's, or `If-None-Match` names its own."))
    if "requestBody" in operation:
        responses.setdefault("409", scim_error("`uniqueness`: the `userName` or email is taken."))
        # The body limit is enforced before routing, in SCIM's error body.
        responses.setdefault("413", scim_error("The request body is larger than 1 MiB."))


def declare_errors(path, method, operation):
    """The 4xx answers Roster gives, so that clients and fuzzers know them."""
    if path.startswith("/scim/"):
        declare_scim_errors(path, operation)
        return
    responses = operation.setdefault("responses", {})
    if operation.get("security") == []:
        return
    responses.setdefault("400", error("The request is invalid or breaks a rule; `param` names the field."))
    responses.setdefault("401", error("The admin API key is missing, malformed, unknown or expired."))
    if "{" in path:
        responses.setdefault("404", error("The object does not exist in the caller's organization."))
    if "requestBody" in operation:
        responses.setdefault("413", error("The request body is larger than 1 MiB."))
    responses.setdefault(
        "429",
        error(
            "Only under `roster serve --emulator --emulate-rate-limits RPM`: the admin key made RPM"
            " requests to this endpoint this minute; `retry-after` and `retry-after-ms` say when to"
            " retry."
        ),
    )


def build():
    contract = yaml.safe_load(CONTRACT.read_text())
    for path in list(contract["paths"]):
        item = contract["paths"][path]
        for method in METHODS:
            if item.get(method, {}).get("operationId") in NOT_YET_SERVED:
                del item[method]
        if not any(method in item for method in METHODS):
            del contract["paths"][path]
    additions = yaml.safe_load(ADDITIONS.read_text())
    for path, item in additions["paths"].items():
        # An addition may add an operation to a contract path, never change one of its own.
        existing = contract["paths"].setdefault(path, {})
        for key, value in item.items():
            if key in existing:
                sys.exit(f"additions.yaml redefines the contract's {key} {path}")
            existing[key] = value
    for kind in ("schemas", "securitySchemes"):
        for name, item in additions["components"].get(kind, {}).items():
            if name in contract["components"].setdefault(kind, {}):
                sys.exit(f"additions.yaml redefines the contract's {kind} {name}")
            contract["components"][kind][name] = item
    for path, item in contract["paths"].items():
        for method in METHODS:
            if method in item:
                declare_errors(path, method, item[method])
    contract["servers"] = [{"url": "/v1", "description": "This Roster server"}]
    contract["info"]["description"] = (
        contract["info"].get("description", "")
        + " Served by Roster, with its additions (operation ids starting with `roster-`) and the"
        " error responses it returns."
    )
    header = "# Generated by scripts/openapi.py from the contract and openapi/additions.yaml; do not edit.\n"
    return header + yaml.safe_dump(contract, sort_keys=False, allow_unicode=True, width=100)


def main():
    text = build()
    if "--check" in sys.argv:
        if SERVED.read_text() != text:
            sys.exit("openapi/roster.yaml is out of date: run python3 scripts/openapi.py")
        return
    SERVED.write_text(text)


if __name__ == "__main__":
    main()
