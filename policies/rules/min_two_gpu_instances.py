"""C7: at least 2 GPU instances stand behind each load balancer."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from pulumi_policy import PolicyResource, StackValidationArgs

from facts.checklist import USER_FACING_FLOOR
from facts.labels import TIER
from facts.resource_types import (
    DEPLOYMENT,
    NODE_GROUP,
    NODE_POOL,
    PDB,
    SERVICE,
    TARGET_GROUP_BINDING,
)
from policies.building import PolicyMeta, Report, Setting, policy
from policies.pools import Pool, by_type, pools, selects
from policies.properties import (
    dig,
    is_burst,
    items,
    mapping,
    name_of,
    node_marks,
    nodes_of,
    number,
    pod_meta,
    pod_spec,
    show,
    tier_of,
)

HOSTNAME = "kubernetes.io/hostname"

META = PolicyMeta(
    name="min-two-gpu-instances",
    item="C7",
    severity="critical",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.tiers.<tier>.minInstances",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="At least 2 GPU instances stand behind each load balancer, so one can fail.",
    remediation="Raise the tier's minInstances (node group and autoscaler floor) to at least 2.",
    settings={
        "minInstances": Setting(
            "integer", USER_FACING_FLOOR, "Fewest GPU instances behind a balancer."
        )
    },
)


def _bound_pools(resources: list[PolicyResource], found: dict[str, Pool]) -> dict[str, Pool]:
    """Pools a load balancer sends traffic to, through a TargetGroupBinding's Service."""
    bound: dict[str, Pool] = {}
    services = by_type(resources, SERVICE)
    for binding in by_type(resources, TARGET_GROUP_BINDING):
        tier = tier_of(binding.props)
        if tier in found:
            bound[tier] = found[tier]
            continue
        service_name = dig(binding.props, "spec", "serviceRef", "name")
        for service in services:
            if name_of(service.props, service.name) != service_name:
                continue
            for pool in found.values():
                if any(selects(service, d) for d in pool.deployments):
                    bound[pool.tier] = pool
    return bound


def check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    least = float(config["minInstances"])
    bound = _bound_pools(args.resources, pools(args.resources))
    if not bound:
        args.not_applicable("no load balancer in front of an inference pool")
    groups: dict[str, list[PolicyResource]] = {}
    for group in by_type(args.resources, NODE_GROUP):
        if not is_burst(group.props):  # a burst group starts at 0 above another's floor
            groups.setdefault(str(node_marks(group.props).get(TIER)), []).append(group)
    provisioned = {
        str(nodes.marks.get(TIER))
        for node_pool in by_type(args.resources, NODE_POOL)
        if (nodes := nodes_of(NODE_POOL, node_pool.props)) is not None
    }
    for tier, pool in bound.items():
        if tier in provisioned and tier not in groups:
            _karpenter_floor(args.resources, tier, pool, report)
        for group in groups.get(tier, []):
            floor = number(dig(group.props, "scalingConfig", "minSize"))
            if floor is not None and floor < least:
                report(
                    f"tier {tier} behind a load balancer keeps {show(floor)} GPU instance(s) "
                    f"at its floor; want at least {show(least)} so one can fail. Set "
                    "minInstances.",
                    group.urn,
                )
        for scaler in pool.autoscalers:
            key = "minReplicaCount" if "keda" in scaler.resource_type else "minReplicas"
            floor = number(dig(scaler.props, "spec", key))
            floor = (0.0 if "keda" in scaler.resource_type else 1.0) if floor is None else floor
            if floor < least:
                report(
                    f"tier {tier} behind a load balancer may scale to {show(floor)} "
                    f"replica(s) ({key}); want at least {show(least)}. Set minInstances.",
                    scaler.urn,
                )
        if not pool.autoscalers:
            for deployment in pool.deployments:
                replicas = number(dig(deployment.props, "spec", "replicas"))
                replicas = 1.0 if replicas is None else replicas
                if deployment.resource_type == DEPLOYMENT and replicas < least:
                    report(
                        f"tier {tier} behind a load balancer runs {show(replicas)} replica(s); "
                        f"want at least {show(least)}. Raise replicas or add an autoscaler "
                        "with that floor.",
                        deployment.urn,
                    )


def _karpenter_floor(
    resources: list[PolicyResource], tier: str, pool: Pool, report: Report
) -> None:
    """A NodePool keeps no node: the floor's instances are those its floor's replicas
    launch. They are one per replica only if the replicas spread over nodes (Karpenter
    takes a preferred spread as required when it launches), and stay so through a drain
    only under a PodDisruptionBudget."""
    budgets = by_type(resources, PDB)
    for deployment in pool.deployments:
        spread = [
            mapping(c) for c in items(pod_spec(deployment.props).get("topologySpreadConstraints"))
        ]
        if not any(c.get("topologyKey") == HOSTNAME for c in spread):
            report(
                f"tier {tier} behind a load balancer runs on Karpenter NodePools, which keep "
                "no node: its floor's replicas stand on as many instances only if they "
                f"spread over nodes; want a topologySpreadConstraint on {HOSTNAME}. "
                "Add it (components.VllmService does).",
                deployment.urn,
            )
        pod_labels = pod_meta(deployment.props, "labels")
        held = [
            mapping(dig(budget.props, "spec"))
            for budget in budgets
            if (selector := mapping(dig(budget.props, "spec", "selector", "matchLabels")))
            and all(pod_labels.get(k) == v for k, v in selector.items())
        ]
        floor = _floor_replicas(pool)
        if not any(_keeps_one(spec, floor) for spec in held):
            report(
                f"tier {tier} behind a load balancer runs on Karpenter NodePools, and no "
                f"PodDisruptionBudget keeps one of its {show(floor)} floor replica(s) through "
                "a drain: a consolidation or drift may take the floor's nodes at once; want "
                "one that leaves at least one (maxUnavailable below the floor). Add it "
                "(components.VllmService does).",
                deployment.urn,
            )


def _floor_replicas(pool: Pool) -> float:
    """The replicas the tier keeps: its autoscalers' floor (KEDA's default 0, the HPA's
    1), else its Deployments' replicas."""
    floors = [
        number(dig(s.props, "spec", "minReplicaCount" if "keda" in s.resource_type
                   else "minReplicas"))
        for s in pool.autoscalers
    ]  # fmt: skip
    if pool.autoscalers:
        return max((f if f is not None else 0.0) for f in floors)
    return sum(number(dig(d.props, "spec", "replicas")) or 1.0 for d in pool.deployments)


def _scaled(value: Any, total: float) -> float | None:
    """A PodDisruptionBudget's count: a number, or a percentage of ``total`` rounded up
    (as the disruption controller reads both of its fields)."""
    if isinstance(value, str) and value.endswith("%"):
        share = number(value[:-1])
        return None if share is None else math.ceil(share * total / 100)
    return number(value)


def _keeps_one(spec: Mapping[str, Any], floor: float) -> bool:
    """Whether a budget leaves at least one of ``floor`` replicas through a drain."""
    if "minAvailable" in spec:
        least = _scaled(spec["minAvailable"], floor)
        return least is not None and least >= 1
    most = _scaled(spec.get("maxUnavailable"), floor)
    return most is not None and most < floor


POLICY = policy(META, check)
