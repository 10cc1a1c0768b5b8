"""The KEDA + HPA model is the upstream arithmetic: desired = ceil(metric / target) outside
the 10% tolerance, the maximum over triggers, clamped to the floor and ceiling; KEDA's SQS
metric counts the in-flight messages only when asked; the HPA's default behaviour (4 pods
or 100% per 15 s up, a 300 s window down) and KEDA's own 0 <-> 1 with its cooldown."""

from __future__ import annotations

from typing import Any

import pytest

from facts.autoscaling import (
    Hpa,
    Load,
    Policy,
    Rules,
    ScaledObject,
    Trigger,
    metric_replicas,
    replicas_over_time,
    seconds_to_ceiling,
)


def sqs(name: str, length: int | None, in_flight: str | None = None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"queueURL": "https://sqs/q", "awsRegion": "us-east-1"}
    if length is not None:
        metadata["queueLength"] = str(length)
    if in_flight is not None:
        metadata["scaleOnInFlight"] = in_flight
    return {"type": "aws-sqs-queue", "name": name, "metadata": metadata}


def scaled(*triggers: dict[str, Any], low: int = 1, high: int = 100, **spec: Any) -> ScaledObject:
    return ScaledObject.from_spec(
        {"minReplicaCount": low, "maxReplicaCount": high, "triggers": list(triggers), **spec}
    )


@pytest.mark.parametrize(
    ("metric", "target", "current", "expected"),
    [
        (0, 10, 0, 0),
        (95, 10, 0, 10),  # from zero there is no tolerance: ceil(9.5)
        (105, 10, 10, 10),  # 1.05: inside the tolerance, unchanged
        (90, 10, 10, 10),  # 0.9: the edge is inside
        (111, 10, 10, 12),  # 1.11: outside, ceil(11.1)
        (89, 10, 10, 9),
        (2500, 75, 32, 32),  # 2500 / (75 x 32) = 1.04: a tier held short of 34
        (2500, 68, 32, 37),  # 1.149: out of the band, ceil(36.8)
        (2500, 68, 34, 34),  # 1.081: in it
    ],
)
def test_metric_replicas(metric: int, target: int, current: int, expected: int) -> None:
    assert metric_replicas(metric, target, current) == expected


def test_sqs_trigger_reads_keda_defaults() -> None:
    trigger = Trigger.from_spec(sqs("q", None), 0)
    assert (trigger.target, trigger.in_flight, trigger.activation) == (5.0, True, 0.0)
    load = Load(visible=30, in_flight=70, delayed=9)
    assert trigger.metric(load) == 100  # scaleOnInFlight defaults to true
    assert Trigger.from_spec(sqs("q", 10, "false"), 0).metric(load) == 30
    delayed = sqs("q", 10, "false")
    delayed["metadata"]["scaleOnDelayed"] = "true"
    assert Trigger.from_spec(delayed, 0).metric(load) == 39


def test_unknown_trigger_is_refused() -> None:
    with pytest.raises(ValueError, match="no model of KEDA's 'cpu' scaler"):
        Trigger.from_spec({"type": "cpu", "metadata": {}}, 0)


def test_desired_is_the_maximum_over_triggers_clamped() -> None:
    fleet = scaled(sqs("load", 50, "true"), sqs("backlog", 10, "false"), low=2, high=140)
    assert fleet.wanted(Load(), current=2) == 2  # idle: the floor
    assert fleet.wanted(Load(in_flight=3500), current=2) == 70  # the load trigger
    assert fleet.wanted(Load(visible=900, in_flight=100), current=2) == 90  # the backlog one
    assert fleet.wanted(Load(visible=9000, in_flight=9000), current=2) == 140  # the ceiling


def test_default_behaviour_climbs_four_pods_or_double_every_15_seconds() -> None:
    fleet = scaled(sqs("load", 1, "true"), high=100)
    timeline = replicas_over_time(fleet, Load(in_flight=1000), start=1, seconds=60)
    assert [replicas for _, replicas in timeline] == [5, 10, 20, 40, 80]


def test_scale_up_waits_out_its_window() -> None:
    fleet = scaled(
        sqs("load", 10, "true"),
        advanced={"horizontalPodAutoscalerConfig": {"behavior": {"scaleUp": {
            "stabilizationWindowSeconds": 60}}}},
    )  # fmt: skip
    timeline = dict(replicas_over_time(fleet, Load(in_flight=200), start=2, seconds=75))
    assert [timeline[t] for t in (0, 15, 30, 45)] == [2, 2, 2, 2]
    assert timeline[60] > 2


def test_a_short_burst_does_not_scale_out() -> None:
    fleet = scaled(
        sqs("load", 10, "true"),
        advanced={"horizontalPodAutoscalerConfig": {"behavior": {"scaleUp": {
            "stabilizationWindowSeconds": 60}}}},
    )  # fmt: skip

    def burst(now: int, replicas: int) -> Load:
        return Load(in_flight=500) if 120 <= now < 165 else Load(in_flight=20)

    assert {replicas for _, replicas in replicas_over_time(fleet, burst, 2, 600)} == {2}


def test_scale_down_waits_for_the_whole_window() -> None:
    fleet = scaled(sqs("load", 10, "true"))  # the default down-window: 300 s
    hpa = Hpa(fleet)
    for now in range(-600, 0, 15):
        assert hpa.sync(now, 10, Load(in_flight=100)) == 10
    after = {now: hpa.sync(now, 10, Load(in_flight=20)) for now in range(0, 300, 15)}
    # The last recommendation of 10 was made at -15: it leaves the window at 285 s.
    assert {after[now] for now in range(0, 285, 15)} == {10}
    assert after[285] == 2


def test_keda_sleeps_after_the_cooldown_and_wakes_on_a_message() -> None:
    fleet = scaled(sqs("load", 10, "true"), low=0, cooldownPeriod=300, pollingInterval=15)
    hpa = Hpa(fleet)
    assert hpa.sync(0, 0, Load()) == 0
    assert hpa.sync(15, 0, Load(visible=1)) == 1  # any message: activation is above 0
    assert hpa.sync(30, 1, Load()) == 1
    assert hpa.sync(300, 1, Load()) == 1  # 285 s idle
    assert hpa.sync(315, 1, Load()) == 0  # 300 s since the last active trigger


def test_keda_wakes_and_sleeps_at_its_own_polls() -> None:
    """KEDA's loop, not the HPA's sync, owns 0 <-> 1: with a pollingInterval of 60 s a
    message that comes at 15 s wakes the target at the 60 s poll, and a cooldown of 310 s
    from then ends at the first poll after 370 s."""
    fleet = scaled(sqs("load", 10, "true"), low=0, cooldownPeriod=310, pollingInterval=60)
    hpa = Hpa(fleet)
    assert [hpa.sync(now, 0, Load(visible=1)) for now in (15, 30, 45)] == [0, 0, 0]
    assert hpa.sync(60, 0, Load(visible=1)) == 1
    assert [hpa.sync(now, 1, Load()) for now in range(75, 420, 15)] == [1] * 23
    assert hpa.sync(420, 1, Load()) == 0


def test_seconds_to_ceiling_follows_the_rate_policies() -> None:
    def with_policies(*policies: dict[str, Any]) -> ScaledObject:
        behavior = {"scaleUp": {"stabilizationWindowSeconds": 60, "policies": list(policies)}}
        return scaled(
            sqs("load", 10), low=2, high=140,
            advanced={"horizontalPodAutoscalerConfig": {"behavior": behavior}},
        )  # fmt: skip

    creeping = with_policies({"type": "Pods", "value": 1, "periodSeconds": 60})
    assert seconds_to_ceiling(creeping, limit=10_000) == 60 + 137 * 60
    doubling = with_policies({"type": "Percent", "value": 100, "periodSeconds": 15})
    # 2, 4, ..., 128 then 140: seven steps, the first at the end of the window.
    assert seconds_to_ceiling(doubling) == 60 + 6 * 15


def test_a_utilization_target_scales_as_the_hpas_resource_metric() -> None:
    """Type Utilization: desired = ceil(current x utilisation / target), unless the ratio is
    within the 10% tolerance (kubernetes pkg/controller/podautoscaler, GetResourceReplicas)."""
    trigger = Trigger("gpu", "utilization", 70.0)
    assert trigger.metric(Load(utilization=4 * 90.0)) == 360.0
    assert metric_replicas(4 * 90.0, trigger.per_replica_target(), 4) == 6  # ceil(5.14)
    assert metric_replicas(4 * 75.0, trigger.per_replica_target(), 4) == 4  # 1.07: tolerated
    assert metric_replicas(4 * 30.0, trigger.per_replica_target(), 4) == 2  # ceil(1.71)


@pytest.mark.parametrize("load", [0, 7, 95, 1000, 5000])
def test_settled_is_where_the_hpa_ends_under_a_steady_load(load: int) -> None:
    """The fixpoint from the floor is where an hour of HPA syncs ends when nothing limits
    the climb."""
    free = Rules(0, (Policy("Percent", 100_000, 15), Policy("Pods", 100_000, 15)))
    scaled = ScaledObject(2, 300, (Trigger("q", "aws-sqs-queue", 10.0),), free, free)
    ended = replicas_over_time(scaled, Load(in_flight=load), 2, 3600)[-1][1]
    assert scaled.settled(Load(in_flight=load)) == ended
    assert scaled.settled(lambda replicas: Load(in_flight=load)) == ended


def test_a_limited_climb_can_stop_inside_the_tolerance() -> None:
    """Doubling every 15 s from 2 reaches 64, then 96: 1000 in flight is within 10% of
    96 x 10, so the HPA stays there, 4 short of where a jump settles."""
    up, down = Rules.from_spec(None, up=True), Rules.from_spec(None, up=False)
    scaled = ScaledObject(2, 300, (Trigger("q", "aws-sqs-queue", 10.0),), up, down)
    assert replicas_over_time(scaled, Load(in_flight=1000), 2, 3600)[-1][1] == 96
    assert scaled.settled(Load(in_flight=1000)) == 100
