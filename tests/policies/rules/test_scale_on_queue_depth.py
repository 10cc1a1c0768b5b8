"""A1: inference pools scale on queue depth, never on GPU utilisation."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    HPA,
    QUEUE,
    SCALED_OBJECT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    hand_declared,
    hpa,
    prod_and,
    props,
    same,
)

NAME = "scale-on-queue-depth"
SUBJECT = (SCALED_OBJECT, "orchestrator-scaled-object")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "a1-ok": (SCALED_OBJECT, lambda: props("orchestrator-scaled-object"), same, []),
    "a1-gpu-trigger": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: p["spec"]["triggers"].append(
            {
                "type": "prometheus",
                "name": "gpu",
                "metadata": {"query": "avg(DCGM_FI_DEV_GPU_UTIL)", "threshold": "80"},
            }
        ),
        [
            "trigger gpu scales on GPU utilisation; want queue depth. Remove it and scale on the "
            "tier's queue (aws-sqs-queue)."
        ],
    ),
    "a1-cpu-only": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: p["spec"].update(triggers=[{"type": "cpu", "metadata": {"value": "70"}}]),
        [
            "trigger cpu scales on CPU; want queue depth. Remove it and scale on the tier's queue "
            "(aws-sqs-queue).",
            "no trigger watches a queue (triggers: cpu); want one. Add an aws-sqs-queue trigger on "
            "the tier's task queue.",
        ],
    ),
    "a1-hpa-gpu": (
        HPA,
        lambda: hpa("DCGM_FI_DEV_GPU_UTIL"),
        same,
        [
            "HorizontalPodAutoscaler on chat-vllm scales on GPU utilisation; want queue depth. "
            "Replace it with a KEDA ScaledObject on the tier's queue "
            "(components.QueueDepthAutoscaler)."
        ],
    ),
    "a1-not-a-scaler": (QUEUE, lambda: props("orchestrator-queue"), same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        hand_declared(HPA, "orchestrator-gpu-hpa", {
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "orchestrator-vllm"},
                     "minReplicas": 2.0, "maxReplicas": 8.0,
                     "metrics": [{"type": "External", "external": {
                         "metric": {"name": "DCGM_FI_DEV_GPU_UTIL"},
                         "target": {"type": "AverageValue", "averageValue": "80"}}}]}})
    )  # fmt: skip
