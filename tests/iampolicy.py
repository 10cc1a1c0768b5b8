"""IAM's evaluation of Allow statements, enough for the tests: wildcards in actions and
resources, and StringEquals/StringLike/ArnLike conditions (every one must hold)."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any


def allows(granted: list[dict[str, Any]], action: str, resource: str, **context: str) -> bool:
    """IAM's evaluation of Allow statements for one request: the action and the resource
    match (``*`` and ``?`` as IAM's wildcards) and every condition holds."""
    for statement in granted:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [
            statement["Action"]]  # fmt: skip
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [
            statement["Resource"]]  # fmt: skip
        if not any(fnmatchcase(action, a) for a in actions):
            continue
        if not any(fnmatchcase(resource, r) for r in resources):
            continue
        held = True
        for operator, tests in statement.get("Condition", {}).items():
            for key, wanted in tests.items():
                values = wanted if isinstance(wanted, list) else [wanted]
                value = context.get(key)
                match = fnmatchcase if operator in ("StringLike", "ArnLike") else str.__eq__
                held &= value is not None and any(match(value, v) for v in values)
        if held:
            return True
    return False
