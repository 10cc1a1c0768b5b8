"""C4: a task queue (SQS) sits between the agents and each inference pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.labels import QUEUE as QUEUE_KIND
from facts.labels import QUEUE_DEAD_LETTER, TIER
from facts.resource_types import QUEUE, SCALED_OBJECT
from policies.building import PolicyMeta, Report, policy
from policies.pools import by_type, pools
from policies.properties import dig, items, mapping, tags

META = PolicyMeta(
    name="task-queue-per-pool",
    item="C4",
    severity="high",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.tiers.<tier>.queue",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="A task queue (SQS) sits between the agents and each inference pool.",
    remediation=f"Give the tier an SQS queue tagged {TIER}=<tier> "
    "(components.AgentQueue), and send agent work through it.",
)


def check(args: StackValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    found = pools(args.resources)
    if not found:
        args.not_applicable("the stack has no inference pool")
    queued = {
        str(tags(q.props).get(TIER))
        for q in by_type(args.resources, QUEUE)
        if tags(q.props).get(QUEUE_KIND) != QUEUE_DEAD_LETTER
    }
    for pool in found.values():
        if pool.tier in queued:
            continue
        fed = any(
            mapping(t).get("type") == "aws-sqs-queue"
            for scaler in pool.autoscalers
            if scaler.resource_type == SCALED_OBJECT
            for t in items(dig(scaler.props, "spec", "triggers"))
        )
        if not fed:
            report(
                f"tier {pool.tier} has no task queue: agents would call it directly and "
                f"overload it; want an SQS queue tagged {TIER}="
                f"{pool.tier}. Add one (components.AgentQueue).",
                pool.deployments[0].urn,
            )


POLICY = policy(META, check)
