"""``agentfleet simulate --suggest``: for each tier, the cheapest scaling settings that meet
the SLA goal on the trace.

The search runs over the settings a stack file sets and the checklist allows: the floor
(``minInstances``; user-facing tiers keep 2, A4), the backlog threshold
(``scaling.queueDepthPerInstance``, at most A2's 10), the scale-up sustain window
(``scaleOutSustainSeconds``, at most A2's 60 s; 30 s for tiers that scale to zero) and the
scale-in window (``scaleInIdleSeconds``, at least A3's 5 minutes). Each candidate is the
tier's rendered ScaledObject with those fields set as the component renders them (a test
holds the two to each other), run as one more lane of the same simulation, on the same
arrivals. The winner is then applied to the stack file's values and simulated again
through the program, so what is printed is what the settings would do once declared.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from facts.autoscaling import ScaledObject
from facts.checklist import (
    QUEUE_DEPTH_PER_REPLICA,
    SCALE_IN_IDLE_SECONDS,
    SCALE_OUT_SUSTAIN_SECONDS,
    SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS,
    USER_FACING_FLOOR,
)
from infra.simulation.engine import Lane, queue_depth, simulate
from infra.simulation.fleet import TierModel
from infra.simulation.stats import LaneStats, lane_stats

QUEUE_DEPTHS = (3, 5, QUEUE_DEPTH_PER_REPLICA)
SUSTAINS = (SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS, SCALE_OUT_SUSTAIN_SECONDS)
IDLES = (SCALE_IN_IDLE_SECONDS, 2 * SCALE_IN_IDLE_SECONDS)
DEFAULT_GOAL = 0.99
COST_NOISE = 0.005
"""Costs this close are the same: the service draws differ between runs of other lanes."""


@dataclass(frozen=True)
class Settings:
    """A tier's scaling settings, as the stack file names them."""

    min_instances: int
    queue_depth_per_replica: int
    scale_out_sustain_seconds: int
    scale_in_idle_seconds: int

    def stack_keys(self) -> dict[str, Any]:
        return {
            "minInstances": self.min_instances,
            "scaling": {
                "queueDepthPerInstance": self.queue_depth_per_replica,
                "scaleOutSustainSeconds": self.scale_out_sustain_seconds,
                "scaleInIdleSeconds": self.scale_in_idle_seconds,
            },
        }


@dataclass(frozen=True)
class Advice:
    tier: str
    current: Settings
    settings: Settings
    met_goal: bool
    """Whether the settings, as declared, met the goal."""
    before: LaneStats
    after: LaneStats
    """The winner as declared: the stack's values with it applied, simulated again."""


def current_settings(tier: TierModel) -> Settings:
    spec = tier.spec
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    backlog = next(t for t in spec["triggers"] if t.get("name") == "backlog")
    return Settings(
        min_instances=tier.node_min,
        queue_depth_per_replica=int(backlog["metadata"]["queueLength"]),
        scale_out_sustain_seconds=int(behavior["scaleUp"]["stabilizationWindowSeconds"]),
        scale_in_idle_seconds=int(behavior["scaleDown"]["stabilizationWindowSeconds"]),
    )


def candidates(tier: TierModel, user_facing: bool) -> list[Settings]:
    """The grid the search runs over: the checklist's bounds, and the tier's own settings."""
    now = current_settings(tier)
    lowest = USER_FACING_FLOOR if user_facing else 0
    top = tier.node_max
    floors = sorted({min(top, max(lowest, f)) for f in (lowest, now.min_instances, -(-top // 4))})
    found = []
    for floor, depth, sustain, idle in itertools.product(
        floors,
        sorted({*QUEUE_DEPTHS, min(now.queue_depth_per_replica, QUEUE_DEPTH_PER_REPLICA)}),
        sorted({*SUSTAINS, min(now.scale_out_sustain_seconds, SCALE_OUT_SUSTAIN_SECONDS)}),
        sorted({*IDLES, max(now.scale_in_idle_seconds, SCALE_IN_IDLE_SECONDS)}),
    ):
        if floor == 0 and sustain > SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS:
            continue  # waking from zero waits for no more than 30 s of backlog
        found.append(Settings(floor, depth, sustain, idle))
    return found


def rendered_spec(tier: TierModel, settings: Settings) -> dict[str, Any]:
    """The tier's ScaledObject spec with these settings, as the component renders it: the
    floor in replicas, the backlog's (and vLLM waiting queue's) threshold, the two windows,
    and KEDA's cooldown (the scale-in window, at least 5 minutes)."""
    spec = copy.deepcopy(dict(tier.spec))
    spec["minReplicaCount"] = settings.min_instances * tier.replicas_per_node
    spec["cooldownPeriod"] = max(SCALE_IN_IDLE_SECONDS, settings.scale_in_idle_seconds)
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    behavior["scaleUp"]["stabilizationWindowSeconds"] = settings.scale_out_sustain_seconds
    behavior["scaleDown"]["stabilizationWindowSeconds"] = settings.scale_in_idle_seconds
    for trigger in spec["triggers"]:
        metadata = trigger["metadata"]
        if trigger.get("name") == "backlog":
            metadata["queueLength"] = str(settings.queue_depth_per_replica)
        elif trigger.get("name") == "vllm-waiting":
            metadata["threshold"] = str(settings.queue_depth_per_replica)
        if trigger.get("type") == "aws-sqs-queue":
            if settings.min_instances == 0:
                metadata["activationQueueLength"] = "0"
            else:
                metadata.pop("activationQueueLength", None)
    return spec


def with_settings(tier: TierModel, settings: Settings) -> TierModel:
    spec = rendered_spec(tier, settings)
    return replace(
        tier, scaled=ScaledObject.from_spec(spec), spec=spec, node_min=settings.min_instances
    )


def _best(
    stats: Sequence[tuple[Settings, LaneStats]], goal: float, current: Settings
) -> tuple[Settings, bool]:
    """The cheapest that meets the goal; within half a percent of it (the noise between
    settings), the tier's own settings, else the higher attainment. If none meets the
    goal, the one that comes closest (then the cheaper)."""
    meeting = [(settings, s) for settings, s in stats if s.sla_attainment >= goal]
    if not meeting:
        return min(stats, key=lambda found: (-found[1].sla_attainment, found[1].cost))[0], False
    cheapest = min(s.cost for _, s in meeting)
    near = [(settings, s) for settings, s in meeting if s.cost <= cheapest * (1 + COST_NOISE)]
    if any(settings == current for settings, _ in near):
        return current, True
    return min(near, key=lambda found: (-found[1].sla_attainment, found[1].cost))[0], True


def search(
    tiers: Sequence[TierModel],
    user_facing: Mapping[str, bool],
    rates: Mapping[str, np.ndarray],
    cron: Mapping[str, Callable[[float], frozenset[str]]],
    *,
    goal: float = DEFAULT_GOAL,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    counts: bool = False,
) -> dict[str, tuple[Settings, bool]]:
    """Each tier's best settings on the trace: every candidate a lane of one run, the
    candidates of a tier on one draw of arrivals."""
    lanes: list[Lane] = []
    tried: list[Settings] = []
    for tier in tiers:
        for settings in candidates(tier, user_facing[tier.name]):
            variant = with_settings(tier, settings)
            lanes.append(Lane(variant, "queue-depth", queue_depth(variant, cron[tier.name])))
            tried.append(settings)
    rows = np.stack([rates[lane.tier.name] for lane in lanes])
    run = simulate(lanes, rows, seed=seed, progress=progress, draw=lambda lane: lane.tier.name,
                   counts=counts)  # fmt: skip
    by_tier: dict[str, list[tuple[Settings, LaneStats]]] = {}
    for i, (lane, settings) in enumerate(zip(lanes, tried, strict=True)):
        by_tier.setdefault(lane.tier.name, []).append((settings, lane_stats(run, i)))
    now = {tier.name: current_settings(tier) for tier in tiers}
    return {name: _best(found, goal, now[name]) for name, found in by_tier.items()}


def advise(
    stack: str,
    values: Mapping[str, Any],
    *,
    goal: float = DEFAULT_GOAL,
    progress: Callable[[float], None] | None = None,
    **options: Any,
) -> list[Advice]:
    """Search each tier's settings on the trace, apply the winners to the stack's values,
    and simulate the stack as declared before and after."""
    from infra.simulation.fleet import fleet_models
    from infra.simulation.run import (
        Simulation,
        cron_for,
        declare,
        rates_for,
        simulate_declared,
        simulate_stack,
    )

    plan, registrations = declare(stack, values)
    tiers = fleet_models(plan, registrations, options.get("cold_start_seconds"))
    counts = bool(options.get("trace_counts"))
    rates, total = rates_for(
        tiers, options.get("trace", "diurnal"), options.get("seconds"),
        options.get("seed", 0), options.get("timezone"), counts,
    )  # fmt: skip
    cron = {tier.name: cron_for(tier, total) for tier in tiers}
    user_facing = {tier.name: tier.config.user_facing for tier in plan.tiers}
    found = search(tiers, user_facing, rates, cron, goal=goal, seed=options.get("seed", 0),
                   progress=progress, counts=counts)  # fmt: skip
    chosen = {name: settings for name, (settings, _) in found.items()}

    def by_tier(run: Simulation) -> dict[str, LaneStats]:
        return {s.tier: s for s in run.of("queue-depth")}

    # before: the objects already declared; after: the program built again with the winners
    before = by_tier(simulate_declared(stack, plan, registrations, strategies=["queue-depth"],
                                       **options))  # fmt: skip
    after = by_tier(simulate_stack(stack, _apply(values, chosen), strategies=["queue-depth"],
                                   **options))  # fmt: skip
    advice = []
    for tier in tiers:
        now, settings = current_settings(tier), chosen[tier.name]
        old, new = before[tier.name], after[tier.name]
        if settings != now and not _better(new, old, goal):
            settings, new = now, old  # declared, the change buys nothing: keep the tier's own
        advice.append(Advice(tier.name, now, settings, new.sla_attainment >= goal, old, new))
    return advice


def _better(new: LaneStats, old: LaneStats, goal: float) -> bool:
    """Whether settings that did ``new`` beat those that did ``old``: meeting the goal
    where they missed it (or coming closer), or meeting it for less."""
    if old.sla_attainment < goal:
        return new.sla_attainment > old.sla_attainment
    return new.sla_attainment >= goal and new.cost < old.cost * (1 - COST_NOISE)


def _apply(values: Mapping[str, Any], settings: Mapping[str, Settings]) -> dict[str, Any]:
    """The stack's values with each tier's settings written in (its schedule kept)."""
    changed = copy.deepcopy(dict(values))
    tiers = changed["agentfleet:fleet"]["tiers"]
    for name, chosen in settings.items():
        keys = chosen.stack_keys()
        tier = tiers[name]
        tier["minInstances"] = keys["minInstances"]
        tier["scaling"] = {**(tier.get("scaling") or {}), **keys["scaling"]}
    return changed
