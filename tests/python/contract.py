"""Validates response bodies against the contract Roster serves (openapi/roster.yaml)."""

import pathlib
import re

import jsonschema
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC_PATH = pathlib.Path(__file__).resolve().parents[2] / "openapi" / "roster.yaml"
SPEC = yaml.safe_load(SPEC_PATH.read_text())
_REGISTRY = Registry().with_resource("urn:roster", Resource.from_contents(SPEC, default_specification=DRAFT202012))
_OPERATIONS = []
for _path, _item in SPEC["paths"].items():
    # A path with servers of its own (`/`) lives outside `/v1`.
    _prefix = "" if "servers" in _item else "/v1"
    _pattern = re.compile("^" + _prefix + re.sub(r"\{[^}]+\}", "[^/]+", re.escape(_path).replace(r"\{", "{").replace(r"\}", "}")) + "$")
    for _method, _operation in _item.items():
        if _method in ("get", "post", "put", "patch", "delete"):
            _OPERATIONS.append((_pattern, _method.upper(), _operation))


class ContractViolation(AssertionError):
    pass


def operation_count():
    """How many operations the served document declares."""
    return len(_OPERATIONS)


# Every operation of the served document, as (path pattern, method, operation).
OPERATIONS = _OPERATIONS


def operation_for(method, path):
    matches = [(pattern.pattern.count("[^/]+"), op) for pattern, m, op in _OPERATIONS if m == method and pattern.match(path)]
    # A literal segment beats a parameter: prefer the template with the fewest parameters.
    return min(matches, key=lambda m: m[0])[1] if matches else None


# Operations this suite got a 2xx from: one that only ever refused has not shown that it works.
EXERCISED = set()


def validate(method, path, status, body):
    """Raises ContractViolation, naming the field's path, if `body` breaks the contract."""
    operation = operation_for(method, path)
    if operation is not None and 200 <= status < 300:
        EXERCISED.add(operation["operationId"])
    if operation is None:
        raise ContractViolation(f"{method} {path} is not an operation of the contract")
    response = operation["responses"].get(str(status))
    if response is None:
        raise ContractViolation(f"{method} {path} answered {status}, which the contract does not declare")
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return
    validator = jsonschema.Draft202012Validator(_rooted(schema), registry=_REGISTRY)
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        where = "/".join(str(p) for p in first.absolute_path) or "(root)"
        raise ContractViolation(f"{method} {path} {status}: at {where}: {first.message}")


def _rooted(schema):
    """Makes the schema's local $refs resolve against the whole document."""
    if isinstance(schema, dict):
        return {k: (("urn:roster" + v) if k == "$ref" and v.startswith("#") else _rooted(v)) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_rooted(v) for v in schema]
    return schema
