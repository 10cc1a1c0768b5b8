"""Reserved capacity only where it can be used (beside K2). A reservation (an On-Demand
Capacity Reservation or a Capacity Block for ML) is billed whole whether its instances run or
not, holds on-demand instances only, and a Capacity Block's instances end with the block."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.labels import CAPACITY_BLOCK_ENDS, CAPACITY_RESERVATION, TIER
from facts.resource_types import NODE_GROUP
from policies.building import PolicyMeta, Report, policy
from policies.pools import by_type
from policies.properties import dig, is_burst, node_marks, number

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


def check(args: StackValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    groups = by_type(args.resources, NODE_GROUP)
    reserved = [g for g in groups if node_marks(g.props).get(CAPACITY_RESERVATION)]
    if not reserved:
        args.not_applicable("no node group launches into a capacity reservation")
    bursting = {node_marks(g.props).get(TIER) for g in groups if is_burst(g.props)}
    for group in reserved:
        marks = node_marks(group.props)
        tier, reservation = marks.get(TIER), marks.get(CAPACITY_RESERVATION)
        if group.props.get("capacityType") == "SPOT":
            report(
                f"tier {tier}'s SPOT node group launches into capacity reservation "
                f"{reservation}: a reservation holds on-demand instances only, and it is "
                "billed whether they run or not. Set capacity: on-demand.",
                group.urn,
            )
        if tier in bursting:
            report(
                f"tier {tier} bursts onto spot while its reservation {reservation} is "
                "billed whether used or not: the cluster autoscaler tries the spot group "
                "first, so reserved instances sit idle through the peaks they were bought "
                "for. Drop the burst (raise maxInstances), or the reservation.",
                group.urn,
            )
        ends = marks.get(CAPACITY_BLOCK_ENDS)
        floor = number(dig(group.props, "scalingConfig", "minSize")) or 0
        if group.props.get("capacityType") == "CAPACITY_BLOCK" and ends and floor > 0:
            report(
                f"tier {tier} keeps a floor of {floor:g} instance(s) on Capacity Block "
                f"{reservation}, which ends at {ends}: EC2 ends the block's instances before "
                "then, and the floor with them. Let the tier scale to zero (minInstances: 0) "
                "and keep what must outlive the block on on-demand capacity.",
                group.urn,
            )


POLICY = policy(META, check)
