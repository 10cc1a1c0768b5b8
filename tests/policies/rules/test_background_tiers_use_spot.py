"""K1, K2 background-tiers-use-spot: a background tier left on on-demand where spot is
cheaper, at the prices the stack planned with (the node group's marks) or else the
catalog's, is advised to move; a user-facing tier on spot is A5's finding alone."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from facts import catalog
from facts.labels import ON_DEMAND_PRICE, SPOT_PRICE
from facts.resource_types import NODE_GROUP
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    policy,
    prod_with,
    props,
    same,
    tier,
)

NAME = "background-tiers-use-spot"
SUBJECT = (NODE_GROUP, "orchestrator-nodes")
"""What the policy judges, as the prod stack declares it."""

CASES: dict[str, ResourceCase] = {
    "k1-ok": (NODE_GROUP, lambda: props("mid-tier-nodes"), same, []),
    # One breach, one finding: spot-only-interruptible (A5, mandatory) reports this one.
    "k1-user-facing-spot-is-a5s": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.update(capacityType="SPOT"),
        [],
    ),
    # The A100's spot price (1.14) is above its on-demand price (1.04): on-demand is right.
    "k2-dearer-spot": (
        NODE_GROUP,
        lambda: props("mid-tier-nodes"),
        lambda p: p["tags"].update({SPOT_PRICE: "9.99"}),
        [],
    ),
    "k2-no-spot-price": (NODE_GROUP, lambda: props("lightweight-nodes"), same, []),
    "k2-stack-spot-price": (
        NODE_GROUP,
        lambda: props("mid-tier-nodes"),
        lambda p: p["tags"].update({SPOT_PRICE: "0.6"}),
        [
            "background tier on ON_DEMAND a100-80gb at $3.43088125/GPU-hour while spot lists "
            "$0.6; "
            "want SPOT (K2). Set capacity: spot; interrupted work returns to the queue."
        ],
    ),
    "k2-stack-says-no-spot": (
        NODE_GROUP,
        lambda: props("mid-tier-nodes"),
        lambda p: p["tags"].update({SPOT_PRICE: "none", ON_DEMAND_PRICE: "9.99"}),
        [],
    ),
    "k2-not-said": (
        NODE_GROUP,
        lambda: {"instanceTypes": ["p4de.24xlarge"], "tags": {}, "labels": {}},
        same,
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def unmarked(name: str) -> dict[str, Any]:
    """A node group as a hand-written stack declares it: no price marks."""
    found = props(name)
    for key in (ON_DEMAND_PRICE, SPOT_PRICE):
        found["tags"].pop(key)
    return found


def test_k2_falls_back_to_the_catalogs_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    a100 = catalog.CATALOG["a100-80gb"]
    cheap = replace(a100, spot_price=a100.on_demand_price / 2)
    monkeypatch.setitem(catalog._GPUS, "a100-80gb", cheap)
    # The prod node group is marked with the prices the plan used (1.04 and 1.14): those
    # win over the catalog's.
    assert check_resource(policy(NAME), NODE_GROUP, props("mid-tier-nodes")) == []
    found = check_resource(policy(NAME), NODE_GROUP, unmarked("mid-tier-nodes"))
    assert found == [
        "background tier on ON_DEMAND a100-80gb at $1.04/GPU-hour while spot lists $0.52; "
        "want SPOT (K2). Set capacity: spot; interrupted work returns to the queue."
    ]
    spot = unmarked("mid-tier-nodes")
    spot["capacityType"] = "SPOT"
    assert check_resource(policy(NAME), NODE_GROUP, spot) == []


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack. The
    stack's own spot price for the A100 tier, below on-demand, with the tier kept on
    on-demand: the catalog's prices (spot dearer) would not have noticed."""
    return prod_with(tier("mid-tier", spotPricePerGpuHour=0.6, capacity="on-demand"))
