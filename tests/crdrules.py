"""A CRD's CEL validation rules (``x-kubernetes-validations``), evaluated over an object
as the API server evaluates them when it is created: each rule at the node of the schema
that carries it, with ``self`` that node's value (cel-python, with the Kubernetes CEL
library functions the shipped CRDs call). Transition rules (``oldSelf``) apply to updates
only and are left out, as the API server leaves them out on create."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import celpy
from celpy import celtypes
from celpy.adapter import json_to_cel

TRANSITION = re.compile(r"\boldSelf\b")


def _split(text: celtypes.StringType, separator: celtypes.StringType) -> celtypes.ListType:
    return celtypes.ListType([celtypes.StringType(part) for part in text.split(separator)])


def _find(text: celtypes.StringType, pattern: celtypes.StringType) -> celtypes.StringType:
    """Kubernetes' regex library: the first match of ``pattern`` in ``text``, else ''."""
    found = re.search(str(pattern), str(text))
    return celtypes.StringType(found[0] if found else "")


FUNCTIONS: dict[str, Any] = {"split": _split, "find": _find}
"""What the Kubernetes CEL libraries add that the shipped CRDs' rules call."""


def _nodes(
    schema: dict[str, Any], value: Any, path: str
) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (path, schema, value) pair of the object, the schema's nodes that it fills."""
    yield path, schema, value
    if isinstance(value, dict):
        for key, child in value.items():
            properties = schema.get("properties") or {}
            if key in properties:
                yield from _nodes(properties[key], child, f"{path}.{key}")
            elif isinstance(schema.get("additionalProperties"), dict):
                yield from _nodes(schema["additionalProperties"], child, f"{path}.{key}")
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, child in enumerate(value):
            yield from _nodes(schema["items"], child, f"{path}[{index}]")


def violations(schema: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """The rules ``body`` breaks, as "<path>: <message>"; a rule that cannot be evaluated
    (a library function not given here) raises, so no rule is silently skipped."""
    environment = celpy.Environment()
    broken = []
    for path, node, value in _nodes(schema, body, "$"):
        for rule in node.get("x-kubernetes-validations") or ():
            text = rule["rule"]
            if TRANSITION.search(text):
                continue
            program = environment.program(environment.compile(text), functions=FUNCTIONS)
            result = program.evaluate({"self": json_to_cel(value)})
            if isinstance(result, Exception):
                raise AssertionError(f"{path}: rule {text!r} could not be evaluated: {result}")
            if not bool(result):
                broken.append(f"{path}: {rule.get('message') or text}")
    return broken


def pruned(schema: dict[str, Any], body: dict[str, Any]) -> list[str]:
    """The fields of ``body`` the API server would drop silently: those a structural
    schema does not declare, where it neither keeps unknown fields nor takes any key."""
    dropped = []
    for path, node, value in _nodes(schema, body, "$"):
        keeps = node.get("x-kubernetes-preserve-unknown-fields") or "additionalProperties" in node
        if isinstance(value, dict) and "properties" in node and not keeps:
            dropped += [f"{path}.{key}" for key in value if key not in node["properties"]]
    return dropped
