"""K1, K2 background-tiers-use-spot: a background tier left on on-demand where the catalog
lists spot cheaper is advised to move; a user-facing tier on spot is A5's finding alone."""

from __future__ import annotations

from dataclasses import replace

import pytest

from facts import catalog
from facts.resource_types import NODE_GROUP
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    policy,
    props,
    same,
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
    "k2-dearer-spot": (NODE_GROUP, lambda: props("mid-tier-nodes"), same, []),
    "k2-no-spot-price": (NODE_GROUP, lambda: props("lightweight-nodes"), same, []),
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


def test_k2_advises_spot_where_it_is_cheaper(monkeypatch: pytest.MonkeyPatch) -> None:
    a100 = catalog.CATALOG["a100-80gb"]
    cheap = replace(a100, spot_price=a100.on_demand_price / 2)
    monkeypatch.setitem(catalog._GPUS, "a100-80gb", cheap)
    found = check_resource(policy(NAME), NODE_GROUP, props("mid-tier-nodes"))
    assert found == [
        "background tier on ON_DEMAND a100-80gb at $1.04/GPU-hour while spot lists $0.52; "
        "want SPOT (K2). Set capacity: spot; interrupted work returns to the queue."
    ]
    spot = props("mid-tier-nodes")
    spot["capacityType"] = "SPOT"
    assert check_resource(policy(NAME), NODE_GROUP, spot) == []
