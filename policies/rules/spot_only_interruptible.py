"""A5: spot capacity only for interruptible (background or batch) tiers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import INTERRUPTIONS_ACCEPTED, USER_FACING
from facts.resource_types import NODE_GROUP
from policies.building import PolicyMeta, Report, policy
from policies.properties import flag, is_burst, node_marks

META = PolicyMeta(
    name="spot-only-interruptible",
    item="A5",
    severity="critical",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.burst.acceptInterruptions",
        "agentfleet:fleet.tiers.<tier>.capacity",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Spot capacity only for interruptible (background or batch) tiers. A "
    "user-facing tier may burst onto spot above an on-demand floor only where the stack "
    "accepts the interruptions explicitly.",
    remediation="Put the user-facing tier on on-demand capacity (capacity: on-demand); for "
    "a burst onto spot above an on-demand floor, set burst.acceptInterruptions: true "
    "(docs/capacity-and-cost.md, Burst on spot).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != NODE_GROUP:
        args.not_applicable("not a node group")
    props = args.props
    marks = node_marks(props)
    if props.get("capacityType") != "SPOT" or flag(marks.get(USER_FACING)) is not True:
        return
    if not is_burst(props):
        report(
            "user-facing tier on SPOT capacity, which AWS may reclaim with two minutes' "
            "notice; want ON_DEMAND. Set capacity: on-demand."
        )
    elif flag(marks.get(INTERRUPTIONS_ACCEPTED)) is not True:
        report(
            "user-facing tier bursts onto SPOT capacity above its on-demand floor, and the "
            "stack does not say it accepts the interruptions: requests on a reclaimed node "
            "fail back to the queue and wait for the floor or a new node. Set "
            "burst.acceptInterruptions: true if the peak may degrade so, else burst on "
            "on-demand (raise maxInstances)."
        )


POLICY = policy(META, check)
