"""A5: spot capacity only for interruptible (background or batch) tiers."""

from __future__ import annotations

import copy

import pytest

from facts.resource_types import (
    NODE_GROUP,
)
from infra.offline.mocks import Registration
from policies.pack import discover
from tests.policies.support import (
    ResourceCase,
    as_burst,
    assert_resource_case,
    check_resource,
    prod_with,
    props,
    same,
    tier,
)

NAME = "spot-only-interruptible"
SUBJECT = (NODE_GROUP, "orchestrator-nodes")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

BURST_UNACCEPTED = (
    "user-facing tier bursts onto SPOT capacity above its on-demand floor, and the stack does "
    "not say it accepts the interruptions: requests on a reclaimed node fail back to the "
    "queue and wait for the floor or a new node. Set burst.acceptInterruptions: true if the "
    "peak may degrade so, else burst on on-demand (raise maxInstances)."
)
CASES: dict[str, ResourceCase] = {
    "a5-ok": (NODE_GROUP, lambda: props("orchestrator-nodes"), same, []),
    "a5-spot": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.update(capacityType="SPOT"),
        [
            "user-facing tier on SPOT capacity, which AWS may reclaim with two minutes' notice; "
            "want ON_DEMAND. Set capacity: on-demand."
        ],
    ),
    "a5-burst-accepted": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: as_burst(p, accepted=True),
        [],
    ),
    "a5-burst-not-accepted": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: as_burst(p, accepted=False),
        [BURST_UNACCEPTED],
    ),
    "a5-burst-unsaid": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: as_burst(p, accepted=None),
        [BURST_UNACCEPTED],
    ),
    "a5-background-burst": (
        NODE_GROUP,
        lambda: props("mid-tier-nodes"),
        lambda p: as_burst(p, accepted=None),
        [],
    ),
    "a5-background-spot": (
        NODE_GROUP,
        lambda: props("mid-tier-nodes"),
        lambda p: p.update(capacityType="SPOT"),
        [],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(tier("orchestrator", capacity="spot", spotPricePerGpuHour=1.9))


def test_one_breach_gives_one_finding() -> None:
    """A user-facing tier on spot breaks A5 and K1: only this policy reports it."""
    properties = props("orchestrator-nodes")
    properties["capacityType"] = "SPOT"
    reported = {
        rule.meta.name
        for rule in discover()
        if rule.meta.kind == "resource"
        and check_resource(rule.policy, NODE_GROUP, copy.deepcopy(properties))
    }
    assert reported == {NAME}
