"""The worker's settings: each a flag and an environment variable (their names are
``facts.worker.SETTINGS``), validated before the worker starts."""

from __future__ import annotations

import json
import re
from typing import Annotated, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bridge.protocol import MAX_MESSAGE_BYTES, check_queue_url
from facts.worker import PORT

SQS_ARN = r"^arn:aws[a-z-]*:sqs:[a-z0-9-]+:\d{12}:[A-Za-z0-9_*?.-]{1,85}$"
IAM_ROLE_ARN = r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$"
SENDER = r"^(A[A-Z0-9]{15,127}|\d{12})$"
"""An IAM principal's unique id (AROA..., AIDA...) or an account, as SQS's SenderId starts."""
SQS_HOST = re.compile(r"^https?://sqs\.([a-z0-9-]+)\.amazonaws\.com")


class WorkerError(Exception):
    """An expected failure that stops the worker, told in one line."""


class WorkerSettings(BaseModel):
    """What the worker needs; each field is a flag and an environment variable (see
    ``facts.worker.SETTINGS``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    queue_url: str = Field(description="The tier's task queue.")
    vllm_url: Annotated[str, Field(pattern=r"^https?://[^/\s]+$")] = Field(
        "http://127.0.0.1:8000", description="vLLM's OpenAI-compatible server, in the pod."
    )
    max_in_flight: Annotated[int, Field(ge=1, le=10_000)] = Field(
        64, description="Most requests forwarded at once (the tier sets its maxNumSeqs)."
    )
    visibility_timeout: Annotated[int, Field(ge=1, le=43_200)] = Field(
        360, description="Seconds a received message stays hidden; extended while it runs."
    )
    request_timeout: Annotated[float, Field(gt=0, le=43_200)] = Field(
        300, description="Longest a request may take in vLLM before it counts as failed."
    )
    drain_seconds: Annotated[float, Field(ge=0, le=43_200)] | None = Field(
        None,
        description="On SIGTERM, how long running requests may finish; default: request_timeout.",
    )
    wait_seconds: Annotated[int, Field(ge=0, le=20)] = Field(
        20, description="Long-poll wait of each ReceiveMessage."
    )
    health_interval: Annotated[float, Field(gt=0, le=300)] = Field(
        5, description="Seconds between checks of vLLM's /health."
    )
    host: str = Field("0.0.0.0", description="Address of the probe and metrics server.")  # noqa: S104
    port: Annotated[int, Field(ge=0, le=65_535)] = Field(
        PORT, description="Port of the probe and metrics server."
    )
    region: str | None = Field(
        None, description="AWS region; default: AWS_REGION, or the queue URL's region."
    )
    sqs_endpoint: str | None = Field(
        None, description="SQS endpoint URL; default: the region's (set for a local SQS)."
    )
    max_reply_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = Field(
        MAX_MESSAGE_BYTES, description="The reply queues' message size limit."
    )
    reply_queues: tuple[Annotated[str, Field(pattern=SQS_ARN)], ...] | None = Field(
        None,
        description="ARNs of the reply queues this worker may answer on (comma-separated; "
        "'*' in names); a request naming another is refused unrun. Default: any.",
    )

    reply_queues_by_sender: (
        dict[
            Annotated[str, Field(pattern=SENDER)],
            tuple[Annotated[str, Field(pattern=SQS_ARN)], ...],
        ]
        | None
    ) = Field(
        None,
        description="Reply queues by sender (JSON: the sender's IAM unique id, an assumed "
        "role's AROA... or a user's AIDA..., to the ARNs of its queues): a request from a "
        "mapped sender may name only its own; others, reply_queues.",
    )
    weights_role_arn: Annotated[str, Field(pattern=IAM_ROLE_ARN)] | None = Field(
        None,
        description="The tier's weights role: the worker assumes it and hands vLLM its "
        "short-lived credentials on the pod's loopback; none: no credentials server.",
    )
    sts_endpoint: str | None = Field(
        None, description="STS endpoint URL; default: the region's (set for a local STS)."
    )
    vllm_api_key: Annotated[str, Field(min_length=1)] | None = Field(
        None,
        repr=False,
        description="The key vLLM requires on its API, sent as a bearer token; none: none.",
    )

    @field_validator("reply_queues_by_sender", mode="before")
    @classmethod
    def _json(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError as error:
                raise ValueError(f"not JSON: {error}") from None
        return value

    @field_validator("reply_queues", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(arn.strip() for arn in value.split(",") if arn.strip())
        return value

    @model_validator(mode="after")
    def _check(self) -> Self:
        check_queue_url(self.queue_url)
        return self

    @property
    def drain(self) -> float:
        return self.request_timeout if self.drain_seconds is None else self.drain_seconds

    @property
    def extend_every(self) -> float:
        """Extend a third of the way in, so a message never has less than two thirds of
        its visibility timeout left."""
        return max(0.5, self.visibility_timeout / 3)

    @property
    def queue_region(self) -> str | None:
        match = SQS_HOST.match(self.queue_url)
        return match.group(1) if match else None
