"""What the stack policies share: the inference pools of a stack, and what points at them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pulumi_policy import PolicyResource

from facts.resource_types import DEPLOYMENT, HPA_TYPES, PROMETHEUS_RULE, SCALED_OBJECT
from policies.properties import (
    dig,
    is_inference,
    mapping,
    name_of,
    pod_meta,
    tier_of,
)


@dataclass
class Pool:
    """One tier's inference Deployments and the objects that scale them."""

    tier: str
    deployments: list[PolicyResource] = field(default_factory=list)
    autoscalers: list[PolicyResource] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        return [name_of(d.props, d.name) for d in self.deployments]


def by_type(resources: Iterable[PolicyResource], *types: str) -> list[PolicyResource]:
    return [r for r in resources if r.resource_type in types]


def scale_target(resource: PolicyResource) -> str | None:
    target = dig(resource.props, "spec", "scaleTargetRef", "name")
    return str(target) if target else None


def pools(resources: list[PolicyResource]) -> dict[str, Pool]:
    """Inference Deployments grouped by tier (their tier label, else their own name), each
    with the autoscalers that target them. One pass over the resources for each: the stack
    policies run this on stacks of thousands of resources."""
    found: dict[str, Pool] = {}
    for deployment in by_type(resources, DEPLOYMENT):
        if is_inference(deployment.props):
            tier = tier_of(deployment.props) or name_of(deployment.props, deployment.name)
            found.setdefault(tier, Pool(tier)).deployments.append(deployment)
    owners: dict[str, list[Pool]] = {}
    for pool in found.values():
        for name in dict.fromkeys(pool.names):
            owners.setdefault(name, []).append(pool)
    for scaler in by_type(resources, SCALED_OBJECT, *HPA_TYPES):
        for pool in owners.get(scale_target(scaler) or "", []):
            pool.autoscalers.append(scaler)
    return found


def selects(service: PolicyResource, deployment: PolicyResource) -> bool:
    selector = mapping(dig(service.props, "spec", "selector"))
    pod_labels = pod_meta(deployment.props, "labels")
    return bool(selector) and all(pod_labels.get(k) == v for k, v in selector.items())


def threshold(expression: str) -> float | None:
    """The number a PromQL alert compares against (``... > 0.5``)."""
    match = re.search(r">=?\s*([0-9.]+(?:e-?\d+)?)\s*$", expression.strip())
    return float(match[1]) if match else None


def alert_rules(resources: list[PolicyResource]) -> list[Mapping[str, Any]]:
    rules: list[Mapping[str, Any]] = []
    for rule in by_type(resources, PROMETHEUS_RULE):
        for group in dig(rule.props, "spec", "groups") or []:
            rules.extend(mapping(r) for r in (mapping(group).get("rules") or []))
    return rules


def rules_by_pool(
    rules: list[Mapping[str, Any]], found: Mapping[str, Pool]
) -> dict[str, list[Mapping[str, Any]]]:
    """The rules about each pool, in their order: labelled with its tier, or selecting its
    pods by name. Each rule is read once, for every pool."""
    read = [(mapping(r.get("labels")).get("tier"), str(r.get("expr") or ""), r) for r in rules]
    mine: dict[str, list[Mapping[str, Any]]] = {}
    for pool in found.values():
        names = pool.names
        mine[pool.tier] = [
            rule for tier, expression, rule in read
            if tier == pool.tier or any(name in expression for name in names)
        ]  # fmt: skip
    return mine
