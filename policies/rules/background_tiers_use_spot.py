"""K1, K2: on-demand for user-facing tiers, spot for background tiers where it is cheaper.
A user-facing tier on spot breaks A5 too, and spot-only-interruptible reports it (once, as
mandatory); this policy advises the other way round: a background tier left on on-demand
where the catalog lists spot cheaper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.catalog import gpu_for
from facts.labels import GPU, USER_FACING
from facts.resource_types import NODE_GROUP
from policies.building import PolicyMeta, Report, policy
from policies.properties import flag, items, node_marks

META = PolicyMeta(
    name="background-tiers-use-spot",
    item="K1, K2",
    severity="low",
    enforcement="advisory",
    kind="resource",
    description="Spot capacity for background and batch tiers where the GPU's spot price is "
    "below its on-demand price (K2); on-demand for orchestrator and user-facing tiers (K1, "
    "reported by spot-only-interruptible).",
    remediation="Set capacity: spot on the background tier (its interrupted work returns to "
    "the queue).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != NODE_GROUP:
        args.not_applicable("not a node group")
    props = args.props
    marks = node_marks(props)
    user_facing = flag(marks.get(USER_FACING))
    if user_facing is None:
        args.not_applicable("the node group does not say whether it is user-facing")
    capacity = props.get("capacityType") or "ON_DEMAND"
    gpu = gpu_for(marks.get(GPU), items(props.get("instanceTypes")))
    if user_facing or capacity != "ON_DEMAND" or gpu is None:
        return
    if gpu.spot_price is not None and gpu.spot_price < gpu.on_demand_price:
        report(
            f"background tier on ON_DEMAND {gpu.key} at ${gpu.on_demand_price}/GPU-hour "
            f"while spot lists ${gpu.spot_price}; want SPOT (K2). Set capacity: spot; "
            "interrupted work returns to the queue."
        )


POLICY = policy(META, check)
