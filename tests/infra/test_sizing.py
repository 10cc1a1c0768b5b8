"""Sizing reproduces the capacity model (docs/capacity-and-cost.md) to the GPU and cent."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from facts.autoscaling import TOLERANCE, metric_replicas
from facts.money import cents
from infra.sizing import (
    DEFAULT_MIX,
    MixEntry,
    ceil_div,
    default_max_num_seqs,
    in_flight_target,
    size_fleet,
    split,
)


@pytest.mark.parametrize(
    ("concurrency", "gpus", "costs", "total_gpus", "total_cost"),
    [
        (1_000, [14, 4, 1], ["10.08", "4.16", "2.51"], 19, "16.75"),
        (10_000, [140, 34, 5], ["100.80", "35.36", "12.55"], 179, "148.71"),
        (100_000, [1_400, 334, 50], ["1008.00", "347.36", "125.50"], 1_784, "1480.86"),
        (
            1_000_000_000,
            [14_000_000, 3_333_334, 500_000],
            ["10080000.00", "3466667.36", "1255000.00"],
            17_833_334,
            "14801667.36",
        ),
    ],
)
def test_size_reproduces_spec(
    concurrency: int, gpus: list[int], costs: list[str], total_gpus: int, total_cost: str
) -> None:
    scenario = size_fleet(concurrency)
    assert [tier.tier for tier in scenario.tiers] == ["lightweight", "mid-tier", "orchestrator"]
    assert [tier.gpus for tier in scenario.tiers] == gpus
    assert [tier.cost_per_hour for tier in scenario.tiers] == [Decimal(c) for c in costs]
    assert scenario.gpus == total_gpus
    assert scenario.cost_per_hour == Decimal(total_cost)


def test_cost_per_interaction_hour() -> None:
    assert size_fleet(1_000).cost_per_interaction_hour == Decimal("0.01675")
    assert size_fleet(10_000).cost_per_interaction_hour == Decimal("0.014871")


@given(st.integers(1, 10**15))
def test_size_cost_is_exact_in_integer_cents_at_any_scale(concurrency: int) -> None:
    scenario = size_fleet(concurrency)
    shares = [(70, 50, 72), (25, 75, 104), (5, 100, 251)]  # percent, per GPU, cents/hour
    parts = split(concurrency, [Fraction(share, 100) for share, _, _ in shares])
    expected_cents = sum(
        ceil_div(part, per_gpu) * price
        for part, (_, per_gpu, price) in zip(parts, shares, strict=True)
    )
    assert scenario.cost_per_hour * 100 == expected_cents
    assert sum(tier.interactions for tier in scenario.tiers) == concurrency


@given(st.integers(0, 10**12), st.lists(st.integers(1, 1000), min_size=1, max_size=8))
def test_split_adds_up_and_stays_within_one_of_the_exact_share(
    total: int, weights: list[int]
) -> None:
    shares = [Fraction(weight, sum(weights)) for weight in weights]
    parts = split(total, shares)
    assert sum(parts) == total
    for part, share in zip(parts, shares, strict=True):
        assert abs(part - total * share) < 1


def test_split_gives_the_leftover_to_the_largest_remainder() -> None:
    assert split(1_001, [entry.share for entry in DEFAULT_MIX]) == [701, 250, 50]
    assert split(3, [Fraction(1, 3)] * 3) == [1, 1, 1]
    assert split(2, [Fraction(1, 3)] * 3) == [1, 1, 0]


def test_custom_mix() -> None:
    scenario = size_fleet(
        1_000,
        [MixEntry("chat", "h100-sxm", Fraction(1, 2)), MixEntry("embed", "l40s", Fraction(1, 2))],
    )
    assert [(t.gpus, t.cost_per_hour) for t in scenario.tiers] == [
        (5, Decimal("22.05")),
        (10, Decimal("7.20")),
    ]


def test_size_refuses_nonsense() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        size_fleet(0)
    with pytest.raises(ValueError, match="add up to 100%"):
        size_fleet(10, [MixEntry("a", "l40s", Fraction(1, 2))])


@given(st.integers(1, 10**9))
def test_default_max_num_seqs_is_inside_the_c2_band(sessions: int) -> None:
    seqs = default_max_num_seqs(sessions)
    assert 3 * sessions <= 2 * seqs <= 4 * sessions


def test_cents_rounds_half_up() -> None:
    assert cents(Decimal("0.005")) == Decimal("0.01")
    assert cents(Decimal("148.7149")) == Decimal("148.71")


@pytest.mark.parametrize(
    ("interactions", "sessions", "target"),
    [
        # a replica held at sessions / 1.3: held = ceil(interactions / that); the target is
        # that, lowered until target x 1.1 x (held - 1) < interactions
        (500, 100, 75),  # 7 held: 76 x 1.1 x 6 = 501.6 would stop at 6
        (2500, 75, 52),  # 44 held: at 57 (75 / 1.3) the HPA would stop at 40-43
        (7000, 50, 35),  # 182 held: at 38 it would stop at 168-181
        (40, 50, 36),  # two held; at 38, one replica would be in the band
    ],
)
def test_in_flight_target_examples(interactions: int, sessions: int, target: int) -> None:
    assert in_flight_target(interactions, Fraction(sessions) / Fraction(13, 10)) == target


@given(st.integers(1, 100_000), st.integers(10, 400), st.integers(5_000, 10_000))
def test_the_planned_load_never_settles_below_the_held_replicas(
    interactions: int, sessions: int, basis_points: int
) -> None:
    """A replica is held at a share of its sessions (the headroom). No count below the held
    one is inside the HPA's tolerance at the planned load, so a scale-up from the floor (or
    from anywhere below) goes on to it; what it asks for is never less, and above it by the
    tolerance and the rounding of the target to whole interactions at most."""
    held_at = Fraction(sessions * basis_points, 10_000)
    target = in_flight_target(interactions, held_at)
    held = ceil_div(interactions * held_at.denominator, held_at.numerator)
    assert 1 <= target <= held_at
    for below in range(max(1, held - 40), held):
        assert metric_replicas(interactions, target, below) > below
    asked = metric_replicas(interactions, target, 0)
    rounding = held_at / (held_at - 1 - TOLERANCE) if held_at > 2 else Fraction(held_at)
    assert held <= asked <= held * (1 + TOLERANCE) * rounding + 1
