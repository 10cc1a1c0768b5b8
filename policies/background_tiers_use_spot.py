"""K1, K2: on-demand for user-facing tiers; spot for background tiers where it is cheaper."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from infra.catalog import CATALOG
from policies.support import NODE_GROUP, PREFIX, Report, flag, items, mapping, resource_policy, tags


def _gpu_for(instance_types: list[Any], named: Any) -> str | None:
    if isinstance(named, str) and named in CATALOG:
        return named
    for gpu in CATALOG.values():
        if any(str(t) in gpu.instance_type_names for t in instance_types):
            return gpu.key
    return None


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != NODE_GROUP:
        args.not_applicable("not a node group")
    props = args.props
    marks = {**mapping(tags(props)), **mapping(props.get("labels"))}
    user_facing = flag(marks.get(f"{PREFIX}user-facing"))
    if user_facing is None:
        args.not_applicable("the node group does not say whether it is user-facing")
    capacity = props.get("capacityType") or "ON_DEMAND"
    if user_facing and capacity == "SPOT":
        report("user-facing tier on SPOT; want ON_DEMAND (K1). Set capacity: on-demand.")
        return
    gpu_key = _gpu_for(items(props.get("instanceTypes")), marks.get(f"{PREFIX}gpu"))
    if user_facing or capacity != "ON_DEMAND" or gpu_key is None:
        return
    gpu = CATALOG[gpu_key]
    if gpu.spot_price is not None and gpu.spot_price < gpu.on_demand_price:
        report(
            f"background tier on ON_DEMAND {gpu_key} at ${gpu.on_demand_price}/GPU-hour "
            f"while spot lists ${gpu.spot_price}; want SPOT (K2). Set capacity: spot; "
            "interrupted work returns to the queue."
        )


POLICY = resource_policy("background-tiers-use-spot", check)
