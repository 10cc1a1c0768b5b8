"""C4: a task queue (SQS) sits between the agents and each inference pool."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from policies.stack import by_type, pools
from policies.support import (
    PREFIX,
    QUEUE,
    SCALED_OBJECT,
    Report,
    dig,
    items,
    mapping,
    stack_policy,
    tags,
)


def check(args: StackValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    found = pools(args.resources)
    if not found:
        args.not_applicable("the stack has no inference pool")
    queued = {
        str(tags(q.props).get(f"{PREFIX}tier"))
        for q in by_type(args.resources, QUEUE)
        if tags(q.props).get(f"{PREFIX}queue") != "dead-letter"
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
                "overload it; want an SQS queue tagged agentfleet.io/tier="
                f"{pool.tier}. Add one (components.AgentQueue).",
                pool.deployments[0].urn,
            )


POLICY = stack_policy("task-queue-per-pool", check)
