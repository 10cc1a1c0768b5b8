"""K1, K2: on-demand for user-facing tiers, spot for background tiers where it is cheaper.
A user-facing tier on spot breaks A5 too, and spot-only-interruptible reports it (once, as
mandatory); this policy advises the other way round: a background tier left on on-demand
where spot is cheaper, at the prices the stack planned with."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.catalog import gpu_for
from facts.labels import GPU, NO_PRICE, ON_DEMAND_PRICE, SPOT_PRICE, USER_FACING
from policies.building import PolicyMeta, Report, policy
from policies.properties import flag, nodes_of

META = PolicyMeta(
    name="background-tiers-use-spot",
    item="K1, K2",
    severity="low",
    enforcement="advisory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.capacity",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Spot capacity for background and batch tiers where the GPU's spot price is "
    "below its on-demand price (K2), at the prices the tier was planned with (the node "
    "group's price marks; else the catalog's); on-demand for orchestrator and user-facing "
    "tiers (K1, reported by spot-only-interruptible).",
    remediation="Set capacity: spot on the background tier (its interrupted work returns to "
    "the queue).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    nodes = nodes_of(args.resource_type, args.props)
    if nodes is None:
        args.not_applicable("not a node group or NodePool")
        return
    marks = nodes.marks
    user_facing = flag(marks.get(USER_FACING))
    if user_facing is None:
        args.not_applicable(f"the {nodes.kind} does not say whether it is user-facing")
    gpu = gpu_for(marks.get(GPU), nodes.instance_types)
    if user_facing or nodes.capacity_types != {"on-demand"} or gpu is None:
        return
    on_demand, spot = prices(marks, gpu.on_demand_price, gpu.spot_price)
    if spot is not None and on_demand is not None and spot < on_demand:
        report(
            f"background tier on ON_DEMAND {gpu.key} at ${on_demand}/GPU-hour while spot "
            f"lists ${spot}; want SPOT (K2). Set capacity: spot; interrupted work returns "
            "to the queue."
        )


def prices(
    marks: Mapping[str, Any], on_demand: Decimal, spot: Decimal | None
) -> tuple[Decimal | None, Decimal | None]:
    """The prices the tier was planned with (the node group's marks: a stack may override
    the catalog's), else the catalog's."""

    def mark(key: str, fallback: Decimal | None) -> Decimal | None:
        value = marks.get(key)
        if value is None:
            return fallback
        if str(value).strip().lower() == NO_PRICE:
            return None
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return fallback

    return mark(ON_DEMAND_PRICE, on_demand), mark(SPOT_PRICE, spot)


POLICY = policy(META, check)
