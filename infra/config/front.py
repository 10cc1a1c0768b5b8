"""The front of a tier: its load balancer (checklist C5-C7) and its task queue (C4), with
who its workers may answer (``agentfleet:fleet.tiers.<name>.loadBalancer``, ``.queue``)."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StrictBool, StrictInt, StrictStr, StringConstraints, model_validator

from facts import defaults
from facts.checklist import (
    HEALTH_CHECK_INTERVAL_SECONDS,
    HEALTH_CHECK_MAX_INTERVAL_SECONDS,
    HEALTH_CHECK_MIN_INTERVAL_SECONDS,
)
from infra.config.fields import SQS_ARN, Cidr, ConfigModel, KeyedError


class LoadBalancerConfig(ConfigModel):
    """The load balancer in front of a user-facing tier (checklist C5-C7)."""

    health_check_interval_seconds: Annotated[StrictInt, Field(ge=5, le=300)] = Field(
        HEALTH_CHECK_INTERVAL_SECONDS,
        description="C6: seconds between health checks of vLLM's /health endpoint; the "
        f"checklist wants {HEALTH_CHECK_MIN_INTERVAL_SECONDS}-"
        f"{HEALTH_CHECK_MAX_INTERVAL_SECONDS} s. Default {HEALTH_CHECK_INTERVAL_SECONDS}. AWS "
        "accepts 5-300.",
    )
    internal: StrictBool = Field(
        True, description="Internal (reachable inside the VPC only) unless set false."
    )
    certificate_arn: (
        Annotated[
            StrictStr,
            StringConstraints(pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/\S+$"),
        ]
        | None
    ) = Field(
        None,
        description="ACM certificate for an HTTPS listener on 443; without one the listener "
        "is HTTP on 80 (internal load balancers only).",
    )
    allowed_cidrs: list[Cidr] | None = Field(
        None, description="Who may reach the listener. Default: the VPC's CIDR block."
    )

    @model_validator(mode="after")
    def _tls_when_public(self) -> LoadBalancerConfig:
        if not self.internal and self.certificate_arn is None:
            raise KeyedError(
                "certificateArn",
                "an internet-facing load balancer needs a certificate (HTTPS); plain HTTP is "
                "only for internal ones",
            )
        return self


KmsKeyId = Annotated[StrictStr, StringConstraints(min_length=1, max_length=2048)]
"""Instances of one profile per GPU: never more than its compute slices."""


class QueueConfig(ConfigModel):
    """The tier's SQS task queue (checklist C4)."""

    max_receive_count: Annotated[StrictInt, Field(ge=1, le=1000)] = Field(
        defaults.MAX_RECEIVE_COUNT,
        description="Receives before a message moves to the dead-letter queue. "
        f"Default {defaults.MAX_RECEIVE_COUNT}.",
    )
    kms_key_id: Annotated[StrictStr, StringConstraints(min_length=1, max_length=2048)] | None = (
        Field(
            None,
            description="KMS key (id, ARN or alias) for server-side encryption. Default: "
            "SQS-managed encryption (SSE-SQS).",
        )
    )
    reply_queue_arns: list[Annotated[StrictStr, StringConstraints(pattern=SQS_ARN)]] = Field(
        default_factory=list,
        description="The agents' reply queues the tier's workers may send replies to "
        "(ARNs; '*' and '?' allowed in the queue name, as in IAM). The workers' role may "
        "send to these only, and a request naming another reply queue is refused unrun. "
        "Default: none (requests are answered only by deleting them once done).",
    )
    reply_queues_by_sender: dict[
        Annotated[StrictStr, StringConstraints(pattern=r"^(A[A-Z0-9]{15,127}|\d{12})$")],
        Annotated[
            list[Annotated[StrictStr, StringConstraints(pattern=SQS_ARN)]], Field(min_length=1)
        ],
    ] = Field(
        default_factory=dict,
        description="Each agent's own reply queues, by the IAM unique id its requests carry as "
        "SQS's SenderId (an assumed role's AROA..., `aws iam get-role --query Role.RoleId`; a "
        "user's AIDA...): a request from a mapped agent may name only its own queues, so no "
        "agent aims replies at another's. Agents not mapped keep replyQueueArns. The workers "
        "may send to these queues too.",
    )
