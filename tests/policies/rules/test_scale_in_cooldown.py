"""A3: scale in only after the queue stayed low for at least 5 minutes, with a cooldown."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    HPA,
    SCALED_OBJECT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    behavior,
    hpa,
    prod_with,
    props,
    same,
    tier,
)

NAME = "scale-in-cooldown"
SUBJECT = (SCALED_OBJECT, "orchestrator-scaled-object")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "a3-ok": (SCALED_OBJECT, lambda: props("orchestrator-scaled-object"), same, []),
    "a3-quick-scale-in": (
        SCALED_OBJECT,
        lambda: props("orchestrator-scaled-object"),
        lambda p: behavior(p)["scaleDown"].update(stabilizationWindowSeconds=60.0),
        [
            "scales in after 60 s below the threshold; want at least 300 s. Set "
            "scaling.scaleInIdleSeconds (scale-down stabilisation)."
        ],
    ),
    "a3-short-cooldown": (
        SCALED_OBJECT,
        lambda: props("mid-tier-scaled-object"),
        lambda p: p["spec"].update(cooldownPeriod=60.0),
        [
            "cooldownPeriod before scaling to zero is 60 s; want at least 300 s. Set "
            "scaling.scaleInIdleSeconds (KEDA cooldownPeriod)."
        ],
    ),
    "a3-hpa": (
        HPA,
        lambda: hpa("queue_depth", scale_down=30.0),
        same,
        [
            "scales in after 30 s below the threshold; want at least 300 s. Set "
            "scaling.scaleInIdleSeconds (scale-down stabilisation)."
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(tier("mid-tier", scaling={"scaleInIdleSeconds": 60}))
