"""A4: user-facing tiers never scale to zero."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import USER_FACING_FLOOR, USER_FACING_NEVER_BELOW
from facts.labels import USER_FACING
from facts.resource_types import HPA_TYPES, NODE_GROUP, SCALED_OBJECT
from policies.building import PolicyMeta, Report, policy
from policies.properties import dig, flag, is_burst, labels, node_marks, number, show

META = PolicyMeta(
    name="user-facing-floor",
    item="A4",
    severity="critical",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.minInstances",
        "agentfleet:fleet.tiers.<tier>.userFacing",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="User-facing tiers never scale to zero; background and batch tiers may.",
    remediation="Give the user-facing tier a floor (minInstances, KEDA minReplicaCount) of at "
    f"least {USER_FACING_NEVER_BELOW}; the checklist wants {USER_FACING_FLOOR}.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    props = args.props
    marks: Mapping[str, Any]
    if args.resource_type == NODE_GROUP:
        if is_burst(props):
            args.not_applicable("a burst node group: the floor is on the tier's other group")
        marks = node_marks(props)
        floor = number(dig(props, "scalingConfig", "minSize"))
        what = "node group minSize"
    elif args.resource_type == SCALED_OBJECT:
        marks = labels(props)
        floor = number(dig(props, "spec", "minReplicaCount"))
        floor = 0.0 if floor is None else floor  # KEDA's default
        what = "minReplicaCount"
    elif args.resource_type in HPA_TYPES:
        marks = labels(props)
        floor = number(dig(props, "spec", "minReplicas"))
        what = "minReplicas"
    else:
        args.not_applicable("not a node group or autoscaler")
        return
    if flag(marks.get(USER_FACING)) is not True:
        args.not_applicable("not user-facing")
    if floor is not None and floor < USER_FACING_NEVER_BELOW:
        report(
            f"{what} is {show(floor)}: the user-facing tier can scale to zero; want at least "
            f"{USER_FACING_NEVER_BELOW} (the checklist wants {USER_FACING_FLOOR}). Set "
            "minInstances."
        )


POLICY = policy(META, check)
