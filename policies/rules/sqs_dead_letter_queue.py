"""Security: task queues send repeatedly failing requests to a dead-letter queue."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import QUEUE as QUEUE_KIND
from facts.labels import QUEUE_DEAD_LETTER, ROLE
from facts.resource_types import QUEUE
from policies.building import PolicyMeta, Report, policy
from policies.properties import tags

DEAD_LETTER_NAME = re.compile(r"(-|_|\.)(dlq|dead-?letter)(\.fifo)?$", re.IGNORECASE)


META = PolicyMeta(
    name="sqs-dead-letter-queue",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.queue.maxReceiveCount",
        "agentfleet:fleet.tiers.<tier>.queue",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Task queues send repeatedly failing requests to a dead-letter queue.",
    remediation="Give the queue a redrivePolicy with a deadLetterTargetArn and a maxReceiveCount "
    f"(components.AgentQueue does); tag a dead-letter queue {QUEUE_KIND}={QUEUE_DEAD_LETTER}.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != QUEUE:
        args.not_applicable("not an SQS queue")
    props = args.props
    name = str(props.get("name") or args.name)
    if tags(props).get(QUEUE_KIND) == QUEUE_DEAD_LETTER or DEAD_LETTER_NAME.search(name):
        args.not_applicable("a dead-letter queue itself")
    if tags(props).get(ROLE) == "interruption-queue":
        # EC2's warnings to Karpenter: stale in minutes, never worth a second try.
        args.not_applicable("Karpenter's interruption queue, not a task queue")
    raw = props.get("redrivePolicy")
    if not raw:
        report(
            "no redrivePolicy: a request that always fails is retried forever; want a "
            "dead-letter queue. Add a redrivePolicy with deadLetterTargetArn and "
            "maxReceiveCount."
        )
        return
    try:
        policy = json.loads(raw) if isinstance(raw, str) else dict(raw)
    except ValueError:
        report("redrivePolicy is not valid JSON; want {deadLetterTargetArn, maxReceiveCount}.")
        return
    if not policy.get("deadLetterTargetArn") or not policy.get("maxReceiveCount"):
        report("redrivePolicy lacks deadLetterTargetArn or maxReceiveCount; want both. Set them.")


POLICY = policy(META, check)
