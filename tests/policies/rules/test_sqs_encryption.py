"""Security: SQS queues are encrypted at rest."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    QUEUE,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    TAGS,
    ResourceCase,
    assert_resource_case,
    hand_declared,
    prod_and,
    props,
    same,
)

NAME = "sqs-encryption"
SUBJECT = (QUEUE, "orchestrator-queue")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "sse-ok": (QUEUE, lambda: props("orchestrator-queue"), same, []),
    "sse-off": (
        QUEUE,
        lambda: props("orchestrator-queue"),
        lambda p: p.update(sqsManagedSseEnabled=False),
        [
            "server-side encryption is turned off (sqsManagedSseEnabled: false); want SSE. Set "
            "sqsManagedSseEnabled: true or a kmsMasterKeyId."
        ],
    ),
    "sse-unset": (
        QUEUE,
        lambda: {"name": "jobs"},
        same,
        [
            "no server-side encryption is set; want SSE-SQS or KMS. Set sqsManagedSseEnabled: true "
            "or a kmsMasterKeyId."
        ],
    ),
    "sse-kms": (QUEUE, lambda: {"kmsMasterKeyId": "alias/jobs"}, same, []),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        hand_declared(QUEUE, "jobs", {
            "name": "jobs", "sqsManagedSseEnabled": False, "tags": TAGS,
            "redrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:jobs-dlq", '
                             '"maxReceiveCount": 5}'})
    )  # fmt: skip
