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
    """Inference Deployments grouped by tier (their tier label, else their own name)."""
    found: dict[str, Pool] = {}
    for deployment in by_type(resources, DEPLOYMENT):
        if is_inference(deployment.props):
            tier = tier_of(deployment.props) or name_of(deployment.props, deployment.name)
            found.setdefault(tier, Pool(tier)).deployments.append(deployment)
    for pool in found.values():
        for scaler in by_type(resources, SCALED_OBJECT, *HPA_TYPES):
            if scale_target(scaler) in pool.names:
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


def covers(rule: Mapping[str, Any], pool: Pool) -> bool:
    """The alert is about this pool: labelled with its tier, or selecting its pods."""
    if mapping(rule.get("labels")).get("tier") == pool.tier:
        return True
    expression = str(rule.get("expr") or "")
    return any(name in expression for name in pool.names)
