"""Security: SQS queues are encrypted at rest."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import QUEUE
from policies.building import PolicyMeta, Report, policy

META = PolicyMeta(
    name="sqs-encryption",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.queue.kmsKeyId",
        "agentfleet:fleet.tiers.<tier>.queue",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="SQS queues are encrypted at rest (SSE-SQS or KMS).",
    remediation="Set sqsManagedSseEnabled: true or a kmsMasterKeyId on the queue.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != QUEUE:
        args.not_applicable("not an SQS queue")
    props = args.props
    if props.get("kmsMasterKeyId"):
        return
    if props.get("sqsManagedSseEnabled") is False:
        report(
            "server-side encryption is turned off (sqsManagedSseEnabled: false); want SSE. "
            "Set sqsManagedSseEnabled: true or a kmsMasterKeyId."
        )
    elif props.get("sqsManagedSseEnabled") is not True:
        report(
            "no server-side encryption is set; want SSE-SQS or KMS. Set "
            "sqsManagedSseEnabled: true or a kmsMasterKeyId."
        )


POLICY = policy(META, check)
