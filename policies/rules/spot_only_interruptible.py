"""A5: spot capacity only for interruptible (background or batch) tiers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import USER_FACING
from facts.resource_types import NODE_GROUP
from policies.building import PolicyMeta, Report, policy
from policies.properties import flag, node_marks

META = PolicyMeta(
    name="spot-only-interruptible",
    item="A5",
    severity="critical",
    enforcement="mandatory",
    kind="resource",
    description="Spot capacity only for interruptible (background or batch) tiers.",
    remediation="Put the user-facing tier on on-demand capacity (capacity: on-demand).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != NODE_GROUP:
        args.not_applicable("not a node group")
    props = args.props
    if props.get("capacityType") == "SPOT" and flag(node_marks(props).get(USER_FACING)) is True:
        report(
            "user-facing tier on SPOT capacity, which AWS may reclaim with two minutes' "
            "notice; want ON_DEMAND. Set capacity: on-demand."
        )


POLICY = policy(META, check)
