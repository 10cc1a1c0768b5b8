"""What KEDA and the HPA would do with the ScaledObjects each shipped stack declares, run
through the upstream arithmetic (``facts.autoscaling``), against the plan's own numbers: at
idle the floor, at half the planned load about half the replicas, at the planned load the
planned replicas with the tier's headroom (never fewer, at most about 10% more), at twice the load
the ceiling; a waiting backlog of more than N per replica, sustained, scales out; the floor
reaches the planned replicas within 10 minutes of HPA time; scale-down waits out its
5-minute window."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from facts import mig
from facts.autoscaling import TOLERANCE, Hpa, Load, ScaledObject, replicas_over_time
from facts.checklist import SCALE_IN_IDLE_SECONDS
from facts.money import cents
from infra.config import parse_stack_config
from infra.offline.mocks import run_program
from infra.plan import TierPlan, plan_fleet
from infra.replicas import ReplicaGroup
from infra.sizing import ceil_div
from tests.helpers import STACKS, prod_with_mixed_mig, stack_values

RAMP_SECONDS = 600


VARIANTS: dict[str, Callable[[], dict[str, Any]]] = {
    stack: functools.partial(stack_values, stack) for stack in STACKS
}
VARIANTS["prod-mixed-mig"] = prod_with_mixed_mig


@dataclass(frozen=True)
class Shape:
    """One rendered ScaledObject beside the plan of the replicas it scales."""

    stack: str
    tier: TierPlan
    group: ReplicaGroup
    scaled: ScaledObject

    @property
    def planned(self) -> int:
        """Replicas of this shape the tier holds at its expected load: its share of the load
        over the sessions one replica is sized for, at the share of them the tier's
        headroom leaves (queueing: ``infra.headroom``)."""
        per_instance = sum(
            g.replicas_per_instance * g.sessions_per_replica for g in self.tier.replica_groups
        )
        held = self.tier.headroom.utilisation * per_instance
        load = self.expected * self.group.replicas_per_instance
        return min(ceil_div(load * held.denominator, held.numerator), self.scaled.max_replicas)

    @property
    def expected(self) -> int:
        """What is in flight on the tier's queue at its expected concurrency: each
        interaction takes the planned batch's time, not serviceSeconds (Little's law)."""
        return self.tier.in_flight(self.tier.config.expected_concurrency)

    @property
    def floor(self) -> int:
        return max(1, self.scaled.min_replicas)

    def __str__(self) -> str:
        return f"{self.stack}/{self.tier.name}/{self.group.profile or 'gpu'}"


@functools.cache
def shapes(variant: str) -> tuple[Shape, ...]:
    values = VARIANTS[variant]()
    plan = plan_fleet(parse_stack_config(values))
    registrations, _ = run_program(values, stack=variant.split("-", maxsplit=1)[0])
    rendered = {
        r.inputs["spec"]["scaleTargetRef"]["name"]: r.inputs["spec"]
        for r in registrations
        if r.type == "kubernetes:keda.sh/v1alpha1:ScaledObject"
    }
    found = []
    for tier in plan.tiers:
        several = len(tier.replica_groups) > 1
        for group in tier.replica_groups:
            shape = f"{tier.name}-{mig.slug(group.profile or 'gpu')}" if several else tier.name
            spec = rendered[f"{shape}-vllm"]
            found.append(Shape(variant, tier, group, ScaledObject.from_spec(spec)))
    assert len(found) == len(rendered)
    return tuple(found)


ALL = [(variant, index) for variant in VARIANTS for index in range(len(shapes(variant)))]


def shape(case: tuple[str, int]) -> Shape:
    return shapes(case[0])[case[1]]


def settled(s: Shape, load: Load, start: int, seconds: int = 1800) -> int:
    """The replicas the HPA holds at the end of ``seconds`` under a fixed load."""
    return replicas_over_time(s.scaled, load, start, seconds)[-1][1]


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c[0]}-{c[1]}")
def test_idle_holds_the_floor(case: tuple[str, int]) -> None:
    s = shape(case)
    assert s.scaled.wanted(Load(), s.floor) == s.floor, s
    assert settled(s, Load(), s.floor) == s.scaled.min_replicas, s


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c[0]}-{c[1]}")
def test_planned_load_gets_the_planned_replicas(case: tuple[str, int]) -> None:
    """The expected concurrency in flight and nothing waiting: from the floor the HPA
    climbs to the planned replicas, never fewer (the tolerance would otherwise hold it
    short) and at most about 10% more, within ten minutes of HPA time."""
    s = shape(case)
    load = Load(in_flight=s.expected)
    most = min(s.scaled.max_replicas, int(s.planned * (1 + TOLERANCE)) + 1)
    timeline = replicas_over_time(s.scaled, load, s.floor, 1800)
    final = timeline[-1][1]
    assert max(s.planned, s.scaled.min_replicas) <= final <= max(most, s.scaled.min_replicas), s
    reached = next(now for now, replicas in timeline if replicas >= s.planned)
    assert reached <= RAMP_SECONDS, s


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c[0]}-{c[1]}")
def test_half_the_load_gets_about_half(case: tuple[str, int]) -> None:
    s = shape(case)
    half = settled(s, Load(in_flight=s.expected // 2), s.floor)
    expected = ceil_div(s.planned, 2)
    assert max(s.scaled.min_replicas, expected) <= half, s
    assert half <= max(s.scaled.min_replicas, int(expected * (1 + 2 * TOLERANCE)) + 1), s


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c[0]}-{c[1]}")
def test_twice_the_load_reaches_the_ceiling_or_twice_the_plan(case: tuple[str, int]) -> None:
    s = shape(case)
    double = Load(in_flight=2 * s.expected)
    assert settled(s, double, s.floor) >= min(s.scaled.max_replicas, 2 * s.planned), s


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c[0]}-{c[1]}")
def test_a_sustained_backlog_scales_out_and_a_blip_does_not(case: tuple[str, int]) -> None:
    """A2: the floor's replicas each full (in flight: their sessions) and more than N per
    replica waiting. Held past the sustain window the tier grows; gone within it, not."""
    s = shape(case)
    backlog = next(t for t in s.scaled.triggers if t.name == "backlog")
    busy = s.floor * s.group.sessions_per_replica // 2  # half-busy: the load trigger is quiet
    waiting = int(backlog.target * s.floor * (1 + TOLERANCE)) + 1
    window = s.tier.scale_out_sustain_seconds
    if s.floor >= s.scaled.max_replicas:  # staging's orchestrator: 2 to 2
        assert s.scaled.wanted(Load(in_flight=busy, visible=waiting), s.floor) == s.floor
        return

    def blip(now: int, replicas: int) -> Load:
        return Load(in_flight=busy, visible=waiting if now < window - 15 else 0)

    assert s.scaled.wanted(Load(in_flight=busy), s.floor) == s.floor, s
    assert max(r for _, r in replicas_over_time(s.scaled, blip, s.floor, 600)) == s.floor, s
    sustained = Load(in_flight=busy, visible=waiting)
    assert dict(replicas_over_time(s.scaled, sustained, s.floor, window))[window] > s.floor, s


@pytest.mark.parametrize("case", ALL, ids=lambda c: f"{c[0]}-{c[1]}")
def test_scale_down_waits_out_the_idle_window(case: tuple[str, int]) -> None:
    """A3: after the planned load ends, nothing is removed for five minutes; then the tier
    goes back down to its floor (KEDA's cooldown takes a tier with no floor to zero)."""
    s = shape(case)
    hpa = Hpa(s.scaled)
    replicas = s.floor
    for now in range(0, 1800, 15):
        replicas = hpa.sync(now, replicas, Load(in_flight=s.expected))
    peak = replicas
    quiet = []
    for now in range(1800, 1800 + 3600, 15):
        replicas = hpa.sync(now, replicas, Load())
        quiet.append((now - 1800, replicas))
    first_drop = next((now for now, r in quiet if r < peak), None)
    if peak > s.scaled.min_replicas:
        assert first_drop is not None, s
        assert first_drop >= SCALE_IN_IDLE_SECONDS - 15, s
    assert quiet[-1][1] == s.scaled.min_replicas, s


def test_the_plan_costs_what_the_autoscaler_holds(capsys: pytest.CaptureFixture[str]) -> None:
    """`agentfleet plan --stack prod --json`: each tier's costPerHour is the instances the
    rendered ScaledObjects hold at the expected concurrency (the HPA run from the floor under
    that load, behaviour and tolerance included) at AWS's on-demand price for the instance
    type (the shipped table, us-east-1); the floor and the ceiling likewise."""
    from facts import aws_prices
    from infra.cli import main

    assert main(["plan", "--stack", "prod", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    listed = aws_prices.ON_DEMAND["us-east-1"]
    total = Decimal(0)
    for tier in result["tiers"]:
        (s,) = [s for s in shapes("prod") if s.tier.name == tier["tier"]]
        replicas = settled(s, Load(in_flight=s.expected), s.floor)
        instances = ceil_div(replicas, s.group.replicas_per_instance)
        price = listed[tier["instanceType"]]
        assert tier["instancesAtExpected"] == instances, tier["tier"]
        assert tier["pricePerInstanceHour"] == float(price), tier["tier"]
        assert tier["costPerHour"] == float(cents(instances * price)), tier["tier"]
        floor = ceil_div(s.scaled.min_replicas, s.group.replicas_per_instance)
        ceiling = ceil_div(s.scaled.max_replicas, s.group.replicas_per_instance)
        assert tier["floorCostPerHour"] == float(cents(floor * price)), tier["tier"]
        assert tier["maxCostPerHour"] == float(cents(ceiling * price)), tier["tier"]
        total += instances * price
    assert result["costPerHour"] == float(cents(total))
    assert result["prices"]["source"] == "aws"
