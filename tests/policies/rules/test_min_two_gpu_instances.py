"""C7: at least 2 GPU instances stand behind each load balancer."""

from __future__ import annotations

import pytest

from infra.offline.mocks import Registration
from tests.policies.support import (
    StackCase,
    assert_no_pool_no_check,
    assert_stack_case,
    check_stack,
    edit,
    find,
    policy,
    prod_with,
    stack_resources,
    tier,
)

NAME = "min-two-gpu-instances"

CASES: dict[str, StackCase] = {
    "c7-one-node": (
        edit("orchestrator-nodes", lambda i: i["scalingConfig"].update(minSize=1.0)),
        [
            (
                "tier orchestrator behind a load balancer keeps 1 GPU instance(s) at its floor; "
                "want at least 2 so one can fail. Set minInstances.",
                "orchestrator-nodes",
            )
        ],
    ),
    "c7-one-replica": (
        edit("orchestrator-scaled-object", lambda i: i["spec"].update(minReplicaCount=1.0)),
        [
            (
                "tier orchestrator behind a load balancer may scale to 1 replica(s) "
                "(minReplicaCount); want at least 2. Set minInstances.",
                "orchestrator-scaled-object",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(tier("orchestrator", minInstances=1))


def test_a_hand_written_binding_is_followed_through_its_service() -> None:
    registrations = stack_resources("prod")
    binding = find(registrations, "orchestrator-binding")
    binding.inputs["metadata"]["labels"].pop("agentfleet.io/tier")
    find(registrations, "orchestrator-scaled-object").inputs["spec"]["minReplicaCount"] = 1.0
    found = check_stack(policy(NAME), registrations)
    assert found is not None
    assert [urn for _, urn in found] == [find(registrations, "orchestrator-scaled-object").urn]


def test_no_pool_no_check() -> None:
    assert_no_pool_no_check(NAME)


def test_a_burst_group_starting_at_zero_is_above_the_floor() -> None:
    """The floor is the on-demand group's 2; the spot burst group may start at 0."""
    registrations = prod_with(
        tier(
            "orchestrator",
            spotPricePerGpuHour=1.9,
            burst={"capacity": "spot", "maxInstances": 4, "acceptInterruptions": True},
        )
    )
    assert find(registrations, "orchestrator-burst-nodes").inputs["scalingConfig"]["minSize"] == 0
    assert check_stack(policy(NAME), registrations) == []
