"""K2: reserved capacity only where it can be used: not by a spot node group, not beside a
burst onto spot, and no floor on a Capacity Block past its end."""

from __future__ import annotations

from typing import Any

import pytest

from infra.offline.mocks import Registration
from tests.policies.support import (
    StackCase,
    assert_stack_case,
    check_stack,
    policy,
    prod_with,
    stack_resources,
    tier,
)

NAME = "reserved-capacity-fits"
RESERVATION = "cr-0123456789abcdef0"
ZONE = ["subnet-0a1b2c3d4e5f60002"]
ODCR = {"kind": "capacity-reservation", "id": RESERVATION, "instances": 4, "subnetIds": ZONE}
BLOCK = {
    "kind": "capacity-block",
    "id": RESERVATION,
    "instances": 12,  # the mid-tier's 11 at its expected load
    "pricePerInstanceHour": 20,
    "endsAt": "2026-12-20T11:30:00Z",
    "subnetIds": ZONE,
}
ENDS = "2026-12-20T11:30:00+00:00"
RESERVED = {"agentfleet.io/capacity-reservation": RESERVATION}


def marked(name: str, **tags: str) -> Any:
    """A change that marks one node group as launching into a reservation."""

    def change(registrations: list[Registration]) -> list[Registration]:
        (group,) = [r for r in registrations if r.name == name]
        group.inputs["tags"].update(tags)
        return registrations

    return change


CASES: dict[str, StackCase] = {
    "k2-reservation-on-spot": (
        lambda rs: _spot(marked("lightweight-nodes", **RESERVED)(rs)),
        [
            (
                f"tier lightweight's SPOT node group launches into capacity reservation "
                f"{RESERVATION}: a reservation holds on-demand instances only, and it is billed "
                "whether they run or not. Set capacity: on-demand.",
                "lightweight-nodes",
            )
        ],
    ),
    "k2-on-demand-reservation-is-fine": (
        marked("lightweight-nodes", **RESERVED),
        [],
    ),
}


def _spot(registrations: list[Registration]) -> list[Registration]:
    (group,) = [r for r in registrations if r.name == "lightweight-nodes"]
    group.inputs["capacityType"] = "SPOT"
    return registrations


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def test_no_reservation_is_not_applicable() -> None:
    assert check_stack(policy(NAME), stack_resources("prod")) is None


def findings(registrations: list[Registration]) -> list[str]:
    found = check_stack(policy(NAME), registrations) or []
    return [message for message, _ in found]


def test_a_burst_tier_pointed_at_a_reservation() -> None:
    registrations = prod_with(
        tier(
            "orchestrator",
            reservation=ODCR,
            spotPricePerGpuHour=1.9,
            burst={"capacity": "spot", "maxInstances": 4, "acceptInterruptions": True},
        )
    )
    assert findings(registrations) == [
        f"tier orchestrator bursts onto spot while its reservation {RESERVATION} is billed "
        "whether used or not: the cluster autoscaler tries the spot group first, so reserved "
        "instances sit idle through the peaks they were bought for. Drop the burst (raise "
        "maxInstances), or the reservation."
    ]


def test_a_spot_tier_pointed_at_a_reservation_as_the_program_builds_it() -> None:
    lightweight = {**ODCR, "instances": 120}  # its ceiling: the 88 it holds and a burst
    registrations = prod_with(
        tier("lightweight", reservation=lightweight, capacity="spot", spotPricePerGpuHour=0.9)
    )
    (message,) = findings(registrations)
    assert message.startswith("tier lightweight's SPOT node group launches into capacity")


def test_a_capacity_block_floor_outlives_the_block() -> None:
    assert findings(prod_with(tier("mid-tier", reservation=BLOCK))) == [
        f"tier mid-tier keeps a floor of 1 instance(s) on Capacity Block {RESERVATION}, which "
        f"ends at {ENDS}: EC2 ends the block's instances before then, and the floor with "
        "them. Let the tier scale to zero (minInstances: 0) and keep what must outlive the "
        "block on on-demand capacity."
    ]


def test_a_block_tier_that_scales_to_zero_or_states_no_end_is_fine() -> None:
    assert findings(prod_with(tier("mid-tier", reservation=BLOCK, minInstances=0))) == []
    open_ended = {key: value for key, value in BLOCK.items() if key != "endsAt"}
    assert findings(prod_with(tier("mid-tier", reservation=open_ended))) == []


def broken_stack() -> list[Registration]:
    """A realistic way to break it: prod's mid-tier (a floor of one warm p4de) moved onto a
    Capacity Block that ends."""
    return prod_with(tier("mid-tier", reservation=BLOCK))
