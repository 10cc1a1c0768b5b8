"""A2: scale out at more than N queued requests per instance, sustained at most a minute."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    SCALED_OBJECT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    behavior,
    check_resource,
    policy,
    prod_with,
    props,
    same,
    sqs_trigger,
    tier,
)

NAME = "scale-out-threshold"
SUBJECT = (SCALED_OBJECT, "orchestrator-scaled-object")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "a2-ok": (SCALED_OBJECT, lambda: props("orchestrator-scaled-object"), same, []),
    "a2-deep": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: sqs_trigger(p).update(queueLength="50"),
        [
            "scales out at 50 queued requests per replica; want at most 10. Set "
            "scaling.queueDepthPerInstance (queueLength)."
        ],
    ),
    "a2-slow": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: behavior(p)["scaleUp"].update(stabilizationWindowSeconds=120.0),
        [
            "scale-up waits for a backlog lasting 120 s; want at most 60 s. Set "
            "scaling.scaleOutSustainSeconds."
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(tier("orchestrator", scaling={"queueDepthPerInstance": 50}))


def test_threshold_comes_from_config() -> None:
    deep = {"spec": {"triggers": [{"type": "aws-sqs-queue", "metadata": {"queueLength": "50"}}]}}
    assert check_resource(policy(NAME), SCALED_OBJECT, deep) != []
    relaxed = check_resource(policy(NAME), SCALED_OBJECT, deep, {"maxQueueDepthPerInstance": 50})
    assert relaxed == []
