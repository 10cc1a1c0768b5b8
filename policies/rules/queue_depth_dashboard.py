"""M3: a dashboard shows each tier's queue depth beside its GPU instance count."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.labels import QUEUE as QUEUE_KIND
from facts.labels import QUEUE_DEAD_LETTER, ROLE, TIER
from facts.resource_types import DASHBOARD, QUEUE
from policies.building import PolicyMeta, Report, policy
from policies.pools import by_type
from policies.properties import tags

META = PolicyMeta(
    name="queue-depth-dashboard",
    item="M3",
    severity="low",
    enforcement="advisory",
    kind="stack",
    keys=(
        "agentfleet:fleet.monitoring",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="A dashboard shows each tier's queue depth beside its GPU instance count.",
    remediation="Add a CloudWatch dashboard widget per tier with the queue's "
    "ApproximateNumberOfMessagesVisible and the node group's instance count: AWS/EC2 "
    "CPUUtilization by AutoScalingGroupName with the SampleCount statistic (no setup), or "
    "GroupInServiceInstances (needs the group's metrics collection on).",
)


def _widgets(body: Any) -> list[list[Any]]:
    """Each metric widget's metric rows."""
    try:
        parsed = json.loads(body) if isinstance(body, str) else {}
    except ValueError:
        return []
    return [
        list(widget.get("properties", {}).get("metrics", []))
        for widget in parsed.get("widgets", [])
        if isinstance(widget, dict)
    ]


def counts_instances(row: list[Any]) -> bool:
    """A metric row that counts a node group's instances: the Auto Scaling group's own
    GroupInServiceInstances, or the SampleCount of an EC2 metric by AutoScalingGroupName
    (or, for Karpenter's nodes, in no group, by InstanceType)."""
    if "GroupInServiceInstances" in row:
        return True
    options = next((item for item in row if isinstance(item, dict)), {})
    return (
        bool(row)
        and row[0] == "AWS/EC2"
        and ("AutoScalingGroupName" in row or "InstanceType" in row)
        and options.get("stat") == "SampleCount"
    )


def check(args: StackValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    queues = [
        queue
        for queue in by_type(args.resources, QUEUE)
        if tags(queue.props).get(QUEUE_KIND) != QUEUE_DEAD_LETTER
        and tags(queue.props).get(TIER)
        and tags(queue.props).get(ROLE) != "interruption-queue"
    ]
    if not queues:
        args.not_applicable("no tier task queue in the stack")
    widgets = [
        w
        for d in by_type(args.resources, DASHBOARD)
        for w in _widgets(d.props.get("dashboardBody"))
    ]
    for queue in queues:
        name = queue.props.get("name") or queue.name
        shown = any(
            any("ApproximateNumberOfMessagesVisible" in row and name in row for row in rows)
            and any(counts_instances(row) for row in rows)
            for rows in widgets
        )
        if not shown:
            report(
                f"queue {name} (tier {tags(queue.props).get(TIER)}) is on no dashboard "
                "beside its GPU instances; want one widget with both. Add it "
                "(components.FleetMonitoring).",
                queue.urn,
            )


POLICY = policy(META, check)
