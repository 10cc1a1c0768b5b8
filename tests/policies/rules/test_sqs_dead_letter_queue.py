"""Security: task queues send repeatedly failing requests to a dead-letter queue."""

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

NAME = "sqs-dead-letter-queue"
SUBJECT = (QUEUE, "orchestrator-queue")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "dlq-ok": (QUEUE, lambda: props("orchestrator-queue"), same, []),
    "dlq-missing": (
        QUEUE,
        lambda: props("orchestrator-queue"),
        lambda p: p.pop("redrivePolicy"),
        [
            "no redrivePolicy: a request that always fails is retried forever; want a dead-letter "
            "queue. Add a redrivePolicy with deadLetterTargetArn and maxReceiveCount."
        ],
    ),
    "dlq-incomplete": (
        QUEUE,
        lambda: props("orchestrator-queue"),
        lambda p: p.update(redrivePolicy='{"deadLetterTargetArn": "arn:aws:sqs:x"}'),
        ["redrivePolicy lacks deadLetterTargetArn or maxReceiveCount; want both. Set them."],
    ),
    "dlq-is-one": (QUEUE, lambda: props("orchestrator-dlq"), same, None),
    "dlq-by-name": (QUEUE, lambda: {"name": "jobs-dlq"}, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        hand_declared(QUEUE, "jobs", {"name": "jobs", "sqsManagedSseEnabled": True, "tags": TAGS})
    )
