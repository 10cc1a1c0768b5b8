"""A5: spot capacity only for interruptible (background or batch) tiers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import NODE_GROUP, PREFIX, Report, flag, mapping, resource_policy, tags


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != NODE_GROUP:
        args.not_applicable("not a node group")
    props = args.props
    marks = {**mapping(tags(props)), **mapping(props.get("labels"))}
    if props.get("capacityType") == "SPOT" and flag(marks.get(f"{PREFIX}user-facing")) is True:
        report(
            "user-facing tier on SPOT capacity, which AWS may reclaim with two minutes' "
            "notice; want ON_DEMAND. Set capacity: on-demand."
        )


POLICY = resource_policy("spot-only-interruptible", check)
