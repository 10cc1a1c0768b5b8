"""AgentQueue: the SQS task queue between agents and one tier's inference pool (C4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.common import TaggedArgs, TierName, child_options, cost_tags, short_name
from facts import defaults, names
from facts.labels import QUEUE, QUEUE_DEAD_LETTER, QUEUE_TASK

TYPE = "agentfleet:index:AgentQueue"
MAX_RETENTION_SECONDS = 1_209_600  # 14 days, SQS's maximum
LONG_POLL_SECONDS = 20


class AgentQueueArgs(TaggedArgs):
    """Inputs of an AgentQueue."""

    tier: TierName = Field(description="The tier whose pool drains the queue.")
    part: TierName | None = Field(
        None,
        description="The part of the tier this queue feeds when the tier serves several "
        "models (co-resident on MIG): part of the queue names. None: the tier's own queue.",
    )
    cluster_name: str = Field(description="The EKS cluster; part of the queue names.")
    request_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        defaults.REQUEST_TIMEOUT_SECONDS, description="The longest request the tier allows."
    )
    max_receive_count: Annotated[int, Field(ge=1, le=1000)] = Field(
        defaults.MAX_RECEIVE_COUNT,
        description="Receives before a message moves to the dead-letter queue.",
    )
    kms_key_id: str | None = Field(
        None, description="KMS key for SSE; default: SQS-managed encryption (SSE-SQS)."
    )
    retention_seconds: Annotated[int, Field(ge=60, le=MAX_RETENTION_SECONDS)] = Field(
        345_600, description="How long an unprocessed request is kept (default 4 days)."
    )

    @property
    def visibility_timeout_seconds(self) -> int:
        """Longer than the longest request, so no second worker takes one in progress."""
        return min(self.request_timeout_seconds + 60, 43_200)


def deny_insecure_transport(queue_arn: str) -> str:
    """A queue policy that refuses every request not made over TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "sqs:*",
                    "Resource": queue_arn,
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


class AgentQueue(pulumi.ComponentResource):
    """An encrypted SQS queue (SSE-SQS, or KMS when a key is given) with long polling, a
    visibility timeout longer than the tier's longest request, and a dead-letter queue
    that keeps failed requests longer than the queue keeps any; both refuse non-TLS
    access."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        queue: aws.sqs.Queue
        dead_letter_queue: aws.sqs.Queue
        url: pulumi.Output[str]
        """The task queue's URL: where agents send requests."""
        arn: pulumi.Output[str]
        """The task queue's ARN."""
        queue_name: pulumi.Output[str]
        """The task queue's name."""
        dlq_url: pulumi.Output[str]
        """The dead-letter queue's URL."""
        dlq_arn: pulumi.Output[str]
        """The dead-letter queue's ARN."""

    def __init__(
        self, name: str, args: AgentQueueArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags(args.tier, args.environment, args.cost_center, "task-queue")
        encryption: dict[str, Any] = (
            {"kms_master_key_id": args.kms_key_id, "kms_data_key_reuse_period_seconds": 300}
            if args.kms_key_id
            else {"sqs_managed_sse_enabled": True}
        )
        base = short_name(args.cluster_name, *filter(None, (args.tier, args.part)), limit=70)
        self.dead_letter_queue = aws.sqs.Queue(
            names.dead_letter_queue(name),
            name=f"{base}-dlq",
            message_retention_seconds=MAX_RETENTION_SECONDS,
            tags={**tags, QUEUE: QUEUE_DEAD_LETTER},
            opts=child,
            **encryption,
        )
        self.queue = aws.sqs.Queue(
            names.queue(name),
            name=base,
            message_retention_seconds=args.retention_seconds,
            receive_wait_time_seconds=LONG_POLL_SECONDS,
            visibility_timeout_seconds=args.visibility_timeout_seconds,
            redrive_policy=self.dead_letter_queue.arn.apply(
                lambda arn: json.dumps(
                    {"deadLetterTargetArn": arn, "maxReceiveCount": args.max_receive_count}
                )
            ),
            tags={**tags, QUEUE: QUEUE_TASK},
            opts=child,
            **encryption,
        )
        for suffix, queue in (("queue", self.queue), ("dlq", self.dead_letter_queue)):
            aws.sqs.QueuePolicy(
                f"{name}-{suffix}-policy",
                queue_url=queue.url,
                policy=queue.arn.apply(deny_insecure_transport),
                opts=child,
            )
        self.url = self.queue.url
        self.arn = self.queue.arn
        self.queue_name = self.queue.name
        self.dlq_url = self.dead_letter_queue.url
        self.dlq_arn = self.dead_letter_queue.arn
        self.register_outputs(
            {
                "url": self.url,
                "arn": self.arn,
                "dlq_url": self.dlq_url,
                "dlq_arn": self.dlq_arn,
            }
        )
