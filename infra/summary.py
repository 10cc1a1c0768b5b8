"""A plan's figures as JSON numbers, in the shapes ``agentfleet plan --json`` and the
stack's outputs share (``infra.report`` prints them; ``infra.wiring`` hands them to the
program's exports)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from facts.money import cents
from infra.plan import TierPlan
from infra.startup import tier_startup


def money(amount: Decimal) -> float:
    """A JSON number for a money amount, exact to the cent."""
    return float(cents(amount))


def burst_json(tier: TierPlan) -> dict[str, Any] | None:
    if tier.burst is None:
        return None
    return {
        "capacity": "spot",
        "maxInstances": tier.burst.max_instances,
        "pricePerGpuHour": float(tier.burst.price_per_gpu_hour),
        "maxCostPerHour": money(tier.burst_max_cost_per_hour),
        "acceptInterruptions": tier.burst.accept_interruptions,
    }


def reservation_json(tier: TierPlan) -> dict[str, Any] | None:
    """The reserved capacity the tier's own nodes launch into, billed whole."""
    if tier.reservation is None:
        return None
    config = tier.reservation.config
    return {
        "kind": config.kind,
        "id": config.id,
        "instances": config.instances,
        "pricePerInstanceHour": float(tier.reservation.price_per_instance_hour),
        "costPerHour": money(tier.reservation.cost_per_hour),
        "endsAt": None if config.ends_at is None else config.ends_at.isoformat(),
    }


def _seconds(value: float) -> float:
    return round(value, 4)


def serving_json(tier: TierPlan) -> dict[str, Any]:
    """One replica at its planned batch, from the serving model; where the catalog's figure
    sized it, the interaction is ``serviceSeconds`` and the rest is not known (null)."""
    serving = tier.serving
    point = serving.point
    return {
        "part": None if serving.part is None else serving.part.name,
        "interactionSeconds": float(tier.config.service_seconds)
        if point is None
        else _seconds(point.e2e_seconds),
        "ttftSeconds": None if point is None else _seconds(point.ttft_seconds),
        "tpotSeconds": None if point is None else _seconds(point.tpot_seconds),
        "outputTokensPerSecondPerReplica": None
        if point is None
        else round(point.output_tokens_per_second, 1),
        "bound": serving.bound,
    }


def tier_summary(tier: TierPlan) -> dict[str, Any]:
    """A tier as `agentfleet plan --json` and the stack outputs show it."""
    return {
        "tier": tier.name,
        "gpu": tier.config.gpu,
        "instanceType": tier.instance.name,
        "capacity": tier.capacity,
        "minInstances": tier.min_instances,
        "maxInstances": tier.max_instances,
        "gpus": tier.gpus,
        "instancesAtExpected": tier.instances,
        "pricePerInstanceHour": float(tier.price_per_instance_hour),
        "costPerHour": money(tier.cost_per_hour),
        "floorCostPerHour": money(tier.floor_cost_per_hour),
        "maxCostPerHour": money(tier.max_cost_per_hour),
        "burst": burst_json(tier),
        "reservation": reservation_json(tier),
        "tensorParallel": tier.fit.shapes[0].tensor_parallel,
        "sessionsPerReplica": [group.sessions_per_replica for group in tier.replica_groups],
        "kvTokensPerReplica": [group.kv_tokens for group in tier.replica_groups],
        "headroom": headroom_json(tier),
        "timeToReadySeconds": round(tier_startup(tier).time_to_ready),
        **serving_json(tier),
    }


def headroom_json(tier: TierPlan) -> dict[str, Any]:
    """How full the autoscaler holds the tier's replicas, and why (``infra.headroom``)."""
    room = tier.headroom
    return {
        "share": round(tier.headroom_share, 4),
        "queueingShare": round(room.share, 4),
        "inFlightTarget": [group.in_flight_target for group in tier.replica_groups],
        "waitSeconds": round(room.wait_seconds, 4),
        "noiseAllowance": round(room.noise, 4),
        "why": room.why(),
    }
