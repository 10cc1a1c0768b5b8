"""A4: user-facing tiers never scale to zero."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    NODE_GROUP,
    SCALED_OBJECT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    as_burst,
    assert_resource_case,
    hand_declared,
    prod_and,
    props,
    same,
)

NAME = "user-facing-floor"
SUBJECT = (SCALED_OBJECT, "orchestrator-scaled-object")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "a4-ok": (SCALED_OBJECT, lambda: props("orchestrator-scaled-object"), same, []),
    "a4-to-zero": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: p["spec"].pop("minReplicaCount"),
        [
            "minReplicaCount is 0: the user-facing tier can scale to zero; want at least 1 (the "
            "checklist wants 2). Set minInstances."
        ],
    ),
    "a4-nodes-to-zero": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p["scalingConfig"].update(minSize=0.0),
        [
            "node group minSize is 0: the user-facing tier can scale to zero; want at least 1 (the "
            "checklist wants 2). Set minInstances."
        ],
    ),
    "a4-burst-group-starts-at-zero": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: as_burst(p, accepted=True),
        None,  # the floor is the tier's on-demand group's
    ),
    "a4-background": (
        SCALED_OBJECT,
        lambda: props("mid-tier-scaled-object"),
        lambda p: p["spec"].update(minReplicaCount=0.0),
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        hand_declared(SCALED_OBJECT, "chat-scaler", {
            "metadata": {"name": "chat", "labels": {"agentfleet.io/user-facing": "true"}},
            "spec": {"scaleTargetRef": {"name": "chat"},
                     "triggers": [{"type": "aws-sqs-queue", "metadata": {"queueLength": "5"}}]}})
    )  # fmt: skip
