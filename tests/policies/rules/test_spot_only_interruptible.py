"""A5: spot capacity only for interruptible (background or batch) tiers."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from facts import names
from facts.resource_types import NODE_GROUP, NODE_POOL
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
POOL_BURST_UNACCEPTED = BURST_UNACCEPTED.replace("SPOT capacity", "a NodePool allowing spot")
KARPENTER = "prod-karpenter"


def pool(tier: str) -> dict[str, Any]:
    """A tier's NodePool in prod under Karpenter, as the engine sends it."""
    return props(names.karpenter_node_pool(tier), KARPENTER)


def capacity_types(p: dict[str, Any], *types: str, operator: str = "In") -> None:
    """Set the NodePool's karpenter.sh/capacity-type requirement."""
    for requirement in p["spec"]["template"]["spec"]["requirements"]:
        if requirement["key"] == "karpenter.sh/capacity-type":
            requirement.update(operator=operator, values=list(types))


def without_capacity_type(p: dict[str, Any]) -> None:
    spec = p["spec"]["template"]["spec"]
    spec["requirements"] = [
        r for r in spec["requirements"] if r["key"] != "karpenter.sh/capacity-type"
    ]
    assert spec["requirements"]  # the instance types stay


def pool_as_burst(p: dict[str, Any], accepted: bool | None) -> None:
    """A NodePool turned into its tier's burst onto spot (accepting interruptions or not)."""
    capacity_types(p, "spot")
    p["spec"]["template"]["metadata"]["labels"]["agentfleet.io/capacity-role"] = "burst"
    if accepted is not None:
        p["metadata"]["annotations"]["agentfleet.io/interruptions-accepted"] = (
            "true" if accepted else "false"
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
    # The same judgements of Karpenter's NodePools.
    "a5-pool-ok": (NODE_POOL, lambda: pool("orchestrator"), same, []),
    "a5-pool-spot": (
        NODE_POOL,
        lambda: pool("orchestrator"),
        lambda p: capacity_types(p, "spot"),
        [
            "user-facing tier on a NodePool allowing spot, which AWS may reclaim with two "
            "minutes' notice; want on-demand. Set capacity: on-demand."
        ],
    ),
    "a5-pool-spot-or-on-demand": (
        NODE_POOL,
        lambda: pool("orchestrator"),
        lambda p: capacity_types(p, "on-demand", "spot"),
        [
            "user-facing tier on a NodePool allowing spot, which AWS may reclaim with two "
            "minutes' notice; want on-demand. Set capacity: on-demand."
        ],
    ),
    "a5-pool-all-but-reserved": (  # NotIn [reserved] leaves spot in
        NODE_POOL,
        lambda: pool("orchestrator"),
        lambda p: capacity_types(p, "reserved", operator="NotIn"),
        [
            "user-facing tier on a NodePool allowing spot, which AWS may reclaim with two "
            "minutes' notice; want on-demand. Set capacity: on-demand."
        ],
    ),
    "a5-pool-any-capacity": (  # no capacity-type requirement: Karpenter allows every type
        NODE_POOL,
        lambda: pool("orchestrator"),
        without_capacity_type,
        [
            "user-facing tier on a NodePool allowing spot, which AWS may reclaim with two "
            "minutes' notice; want on-demand. Set capacity: on-demand."
        ],
    ),
    "a5-pool-burst-accepted": (
        NODE_POOL,
        lambda: pool("orchestrator"),
        lambda p: pool_as_burst(p, accepted=True),
        [],
    ),
    "a5-pool-burst-unsaid": (
        NODE_POOL,
        lambda: pool("orchestrator"),
        lambda p: pool_as_burst(p, accepted=None),
        [POOL_BURST_UNACCEPTED],
    ),
    "a5-pool-background-spot": (
        NODE_POOL,
        lambda: pool("mid-tier"),
        lambda p: capacity_types(p, "spot"),
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
