"""A2: scale out at more than N waiting requests per replica, sustained at most a minute, and
fast enough to follow the load from the floor to the ceiling."""

from __future__ import annotations

from typing import Any

import pytest

from facts.resource_types import SCALED_OBJECT
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


def without_queue_triggers(p: dict[str, Any]) -> None:
    p["spec"]["triggers"] = [t for t in p["spec"]["triggers"] if t["type"] != "aws-sqs-queue"]


def one_pod_a_minute(p: dict[str, Any]) -> None:
    behavior(p)["scaleUp"]["policies"] = [{"type": "Pods", "value": 1.0, "periodSeconds": 60.0}]


CASES: dict[str, ResourceCase] = {
    "a2-ok": (SCALED_OBJECT, lambda: props("orchestrator-scaled-object"), same, []),
    # The load trigger (in flight and waiting, per replica's sessions) is far above N; the
    # backlog trigger is what A2 reads.
    "a2-deep": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: sqs_trigger(p).update(queueLength="50"),
        [
            "scales out at 50 waiting requests per replica at the least; want at most 10. Set "
            "scaling.queueDepthPerInstance (queueLength)."
        ],
    ),
    # Counting the messages in flight too reads more, never less: it still scales out at N.
    "a2-in-flight-counts": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: sqs_trigger(p).update(scaleOnInFlight="true"),
        [],
    ),
    "a2-no-queue": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        without_queue_triggers,
        [
            "has no aws-sqs-queue trigger: it does not scale out on the queue's backlog. Add one "
            "with queueLength at most 10."
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
    # The lightweight tier's floor is 2 and its ceiling 182: a pod a minute takes hours.
    "a2-creep": (
        SCALED_OBJECT,
        lambda: props("lightweight-scaled-object"),
        one_pod_a_minute,
        [
            "scale-up takes more than 600 s of HPA time from 2 to 120 replicas; a "
            "business-hours ramp outruns it. Let scaleUp policies at least double the replicas "
            "a minute."
        ],
    ),
    # The orchestrator's 2 -> 11 at a pod a minute: the first after the 60 s window, the last
    # at 540 s, inside the ten minutes.
    "a2-creep-short-range": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        one_pod_a_minute,
        [],
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


def test_ramp_limit_comes_from_config() -> None:
    creeping = props("lightweight-scaled-object")
    one_pod_a_minute(creeping)
    assert check_resource(policy(NAME), SCALED_OBJECT, creeping) != []
    # 2 -> 120 at a pod a minute: the first at the end of the 60 s window, 117 more a minute
    # apart, the last at 7,080 s.
    patient = check_resource(policy(NAME), SCALED_OBJECT, creeping, {"maxRampSeconds": 7080})
    assert patient == []
    assert check_resource(policy(NAME), SCALED_OBJECT, creeping, {"maxRampSeconds": 7079}) != []
