"""Helpers for the component tests: record a component under the offline mocks, pick
its children, and validate Kubernetes objects against the real schemas."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

from infra.offline.manifests import is_kubernetes_object, manifest
from infra.offline.mocks import OfflineMocks, Registration, record
from tests import crdrules

CRDS = Path(__file__).resolve().parent.parent / "data" / "crds"
KUBERNETES_VERSION = "1.33.0"


def children(registrations: list[Registration], component_type: str) -> list[Registration]:
    return [r for r in registrations if r.parent_type == component_type]


def one(registrations: list[Registration], type_: str, name: str) -> Registration:
    found = [r for r in registrations if r.type == type_ and r.name == name]
    assert len(found) == 1, f"expected one {type_} {name}, found {len(found)}"
    return found[0]


def run(program: Callable[[], object], mocks: OfflineMocks | None = None) -> list[Registration]:
    return record(program, mocks)


@functools.cache
def crd_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """openAPIV3Schema of every served version of the CRDs, by (apiVersion, kind)."""
    schemas = {}
    for path in CRDS.glob("*.yaml"):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version.get("served", True):
                schemas[(f"{group}/{version['name']}", kind)] = version["schema"]["openAPIV3Schema"]
    return schemas


def validate_object(body: dict[str, Any]) -> None:
    """Built-in kinds against Kubernetes' schema (strict: unknown fields fail); custom
    resources against their CRD's schema."""
    key = (body["apiVersion"], body["kind"])
    if key in crd_schemas():
        # An OpenAPI v3 schema, close to draft 7. Not checked as a schema itself: one CRD
        # has Go-only regex syntax in a pattern our objects never exercise.
        schema = crd_schemas()[key]
        jsonschema.Draft7Validator(schema).validate(body)
        # What jsonschema does not judge: fields the API server would prune, and the
        # CRD's CEL rules.
        assert not crdrules.pruned(schema, body), crdrules.pruned(schema, body)
        assert not crdrules.violations(schema, body), crdrules.violations(schema, body)
        return
    kubernetes_validate.validate(body, KUBERNETES_VERSION, strict=True)


def validate_all(registrations: list[Registration]) -> int:
    """Validate every Kubernetes object recorded; return how many there were."""
    objects = [manifest(r) for r in registrations if is_kubernetes_object(r)]
    for body in objects:
        validate_object(body)
    return len(objects)
