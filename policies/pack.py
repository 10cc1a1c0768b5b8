"""The pack: every module of ``policies.rules``, found by convention, in checklist order.
Importing this builds no server; ``policies/__main__.py`` does that."""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from functools import cache
from types import ModuleType

from pulumi_policy import Policy

from policies import rules
from policies.building import PolicyMeta

PACK = "agentfleet-production"
DESCRIPTION = "agentfleet's production checklist for GPU inference fleets on EKS."


@dataclass(frozen=True)
class Rule:
    """One policy module: its metadata and the policy built from it."""

    module: str
    meta: PolicyMeta
    policy: Policy


@cache
def discover(package: ModuleType = rules) -> tuple[Rule, ...]:
    """Every module of ``policies.rules`` (or another package of rules) that declares
    ``META`` and ``POLICY``, in the checklist's order. A module that declares one without
    the other, or a second policy of the same name, is a mistake this refuses."""
    found: dict[str, Rule] = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        meta, policy = getattr(module, "META", None), getattr(module, "POLICY", None)
        if not isinstance(meta, PolicyMeta) or policy is None:
            raise TypeError(f"{module.__name__} must declare META (a PolicyMeta) and POLICY")
        if meta.name != policy.name or meta.name in found:
            raise ValueError(f"{module.__name__}: policy {meta.name!r} is not one of a kind")
        found[meta.name] = Rule(module.__name__, meta, policy)
    return tuple(sorted(found.values(), key=lambda rule: rule.meta.order))


def all_policies() -> list[Policy]:
    return [rule.policy for rule in discover()]


def metadata() -> dict[str, PolicyMeta]:
    """Every policy's metadata by name, in the pack's order."""
    return {rule.meta.name: rule.meta for rule in discover()}
