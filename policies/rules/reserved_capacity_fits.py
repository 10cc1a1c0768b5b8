"""Reserved capacity only where it can be used (beside K2). A reservation (an On-Demand
Capacity Reservation or a Capacity Block for ML) is billed whole whether its instances run or
not, holds on-demand instances only, and a Capacity Block's instances end with the block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.labels import (
    CAPACITY_BLOCK_ENDS,
    CAPACITY_RESERVATION,
    CAPACITY_RESERVATION_KIND,
    CAPACITY_ROLE,
    TIER,
)
from facts.resource_types import NODE_GROUP, NODE_POOL
from policies.building import PolicyMeta, Report, policy
from policies.pools import Pool, by_type, pools
from policies.properties import Nodes, dig, nodes_of, number

META = PolicyMeta(
    name="reserved-capacity-fits",
    item="cost",
    severity="high",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.tiers.<tier>.reservation",
        "agentfleet:fleet.tiers.<tier>.capacity",
        "agentfleet:fleet.tiers.<tier>.burst",
        "agentfleet:fleet.tiers.<tier>.minInstances",
    ),
    description="A tier pointed at a capacity reservation or a Capacity Block runs on "
    "on-demand capacity without a burst onto spot (spot instances cannot launch into a "
    "reservation, and a burst leaves the reservation idle while it is billed), and a "
    "Capacity Block tier keeps no floor past the block's end (EC2 ends the block's "
    "instances with it).",
    remediation="Keep the reservation's tier on capacity: on-demand and drop its burst; for "
    "a Capacity Block, let the tier scale to zero (minInstances: 0) and keep the floor that "
    "must outlive the block on a tier of its own (docs/capacity-and-cost.md, Reserved "
    "capacity).",
)


def _floor(nodes: Nodes, tier: str, found: dict[str, Pool]) -> float:
    """Instances the tier keeps: a node group's minimum; under Karpenter, whatever its
    floor's replicas launch (at least one while any is kept)."""
    if nodes.floor is not None:
        return nodes.floor
    keep = [
        number(dig(s.props, "spec", "minReplicaCount"))
        or number(dig(s.props, "spec", "minReplicas"))
        for s in (found[tier].autoscalers if tier in found else [])
    ]
    return 1.0 if any(keep) else 0.0


def check(args: StackValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    every = [
        (resource, nodes)
        for resource in by_type(args.resources, NODE_GROUP, NODE_POOL)
        if (nodes := nodes_of(resource.resource_type, resource.props)) is not None
    ]
    reserved = [(r, n) for r, n in every if n.marks.get(CAPACITY_RESERVATION)]
    if not reserved:
        args.not_applicable("no node group or NodePool launches into a capacity reservation")
    bursting = {n.marks.get(TIER) for _, n in every if n.marks.get(CAPACITY_ROLE) == "burst"}
    found = pools(args.resources)
    for resource, nodes in reserved:
        marks = nodes.marks
        tier, reservation = str(marks.get(TIER)), marks.get(CAPACITY_RESERVATION)
        if "spot" in nodes.capacity_types:
            what = "SPOT node group" if nodes.kind == "node group" else "NodePool allowing spot"
            report(
                f"tier {tier}'s {what} launches into capacity reservation {reservation}: a "
                "reservation holds on-demand instances only, and it is billed whether they "
                "run or not. Set capacity: on-demand.",
                resource.urn,
            )
        if tier in bursting:
            first = (
                "the cluster autoscaler tries the spot group first"
                if nodes.kind == "node group"
                else "Karpenter tries the spot NodePool before any reserved instance above "
                "the floor"
            )
            report(
                f"tier {tier} bursts onto spot while its reservation {reservation} is "
                f"billed whether used or not: {first}, so reserved instances sit idle "
                "through the peaks they were bought for. Drop the burst (raise "
                "maxInstances), or the reservation.",
                resource.urn,
            )
        ends = marks.get(CAPACITY_BLOCK_ENDS)
        block = marks.get(CAPACITY_RESERVATION_KIND) == "capacity-block"
        floor = _floor(nodes, tier, found)
        if block and ends and floor > 0:
            report(
                f"tier {tier} keeps a floor of {floor:g} instance(s) on Capacity Block "
                f"{reservation}, which ends at {ends}: EC2 ends the block's instances before "
                "then, and the floor with them. Let the tier scale to zero (minInstances: 0) "
                "and keep what must outlive the block on on-demand capacity.",
                resource.urn,
            )


POLICY = policy(META, check)
