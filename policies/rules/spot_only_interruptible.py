"""A5: spot capacity only for interruptible (background or batch) tiers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import CAPACITY_ROLE, INTERRUPTIONS_ACCEPTED, USER_FACING
from policies.building import PolicyMeta, Report, policy
from policies.properties import flag, nodes_of

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
    nodes = nodes_of(args.resource_type, args.props)
    if nodes is None:
        args.not_applicable("not a node group or NodePool")
        return
    marks = nodes.marks
    if "spot" not in nodes.capacity_types or flag(marks.get(USER_FACING)) is not True:
        return
    # A node group says SPOT; a NodePool may allow spot beside other capacity.
    what, want = (
        ("SPOT capacity", "ON_DEMAND")
        if nodes.kind == "node group"
        else ("a NodePool allowing spot", "on-demand")
    )
    if marks.get(CAPACITY_ROLE) != "burst":
        report(
            f"user-facing tier on {what}, which AWS may reclaim with two minutes' notice; "
            f"want {want}. Set capacity: on-demand."
        )
    elif flag(marks.get(INTERRUPTIONS_ACCEPTED)) is not True:
        report(
            f"user-facing tier bursts onto {what} above its on-demand floor, and the "
            "stack does not say it accepts the interruptions: requests on a reclaimed node "
            "fail back to the queue and wait for the floor or a new node. Set "
            "burst.acceptInterruptions: true if the peak may degrade so, else burst on "
            "on-demand (raise maxInstances)."
        )


POLICY = policy(META, check)
