"""A stack's simulation end to end: its plan and the objects its program declares, the
trace, one lane per tier and strategy, and the statistics of each."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from infra.config import ConfigError, parse_stack_config
from infra.offline.mocks import Registration, run_program
from infra.plan import FleetPlan, plan_fleet
from infra.simulation import traces
from infra.simulation.cron import window_open
from infra.simulation.engine import (
    STRATEGIES,
    Lane,
    Run,
    gpu_utilization,
    queue_depth,
    simulate,
    static_peak,
)
from infra.simulation.fleet import TierModel, fleet_models
from infra.simulation.stats import LaneStats, lane_stats


@dataclass(frozen=True)
class Simulation:
    stack: str
    seconds: int
    strategies: tuple[str, ...]
    tiers: tuple[TierModel, ...]
    run: Run
    stats: tuple[LaneStats, ...]
    rates: Mapping[str, np.ndarray]
    replay_seconds: float = 0.0
    """Wall time of the replay alone (benchmarks/simulate_speed.py)."""

    def of(self, strategy: str) -> list[LaneStats]:
        return [s for s in self.stats if s.strategy == strategy]


def cron_for(tier: TierModel, seconds: int) -> Callable[[float], frozenset[str]]:
    """The names of the tier's cron triggers whose window is open at a second of the run."""
    minutes = max(1, -(-seconds // 60))
    windows = [(w.trigger, window_open(w.start, w.end, w.timezone, minutes)) for w in tier.cron]

    found: dict[int, frozenset[str]] = {}

    def open_now(now: float) -> frozenset[str]:
        minute = min(max(int(now // 60), 0), minutes - 1)
        if minute not in found:
            found.clear()  # the run goes forward: one minute kept
            found[minute] = frozenset(name for name, flags in windows if flags[minute])
        return found[minute]

    return open_now


def lanes_for(tiers: Sequence[TierModel], strategies: Sequence[str], seconds: int) -> list[Lane]:
    lanes = []
    for strategy in strategies:
        for tier in tiers:
            if strategy == "queue-depth":
                controller = queue_depth(tier, cron_for(tier, seconds))
            elif strategy == "gpu-utilization":
                controller = gpu_utilization(tier)
            else:
                controller = static_peak(tier)
            lanes.append(Lane(tier, strategy, controller))
    return lanes


def business_zone(tiers: Sequence[TierModel]) -> str:
    """Where the users are: the time zone of the stack's first scheduled window, else UTC."""
    return next((w.timezone for tier in tiers for w in tier.cron), "UTC")


def rates_for(
    tiers: Sequence[TierModel],
    trace: str,
    seconds: int | None,
    seed: int,
    timezone: str | None = None,
    counts: bool = False,
) -> tuple[dict[str, np.ndarray], int]:
    peaks = {tier.name: tier.peak_rate for tier in tiers}
    if trace in ("diurnal", "flat"):
        total = seconds or 86_400
        zone = timezone or business_zone(tiers)
        if trace == "flat":
            return traces.flat(peaks, total), total
        return traces.diurnal(peaks, total, seed, zone), total
    found, total = traces.read_csv(Path(trace), list(peaks), seconds, counts)
    return {name: found.get(name, np.zeros(total)) for name in peaks}, total


def simulate_stack(stack: str, values: Mapping[str, Any], **options: Any) -> Simulation:
    """Simulate a stack's values: its plan, and the objects its program declares."""
    plan, registrations = declare(stack, values)
    return simulate_declared(stack, plan, registrations, **options)


def declare(stack: str, values: Mapping[str, Any]) -> tuple[FleetPlan, list[Registration]]:
    """A stack's plan, and what its program declares from that plan (planned once)."""
    plan = plan_fleet(parse_stack_config(values))
    registrations, _ = run_program(values, stack=stack, plan=plan)
    return plan, registrations


def simulate_declared(
    stack: str,
    plan: FleetPlan,
    registrations: Sequence[Registration],
    *,
    trace: str = "diurnal",
    seconds: int | None = None,
    seed: int = 0,
    strategies: Sequence[str] = STRATEGIES,
    cold_start_seconds: float | None = None,
    step_seconds: float = 1.0,
    timezone: str | None = None,
    progress: Callable[[float], None] | None = None,
    trace_counts: bool = False,
) -> Simulation:
    """Simulate a plan and the objects its program declared (``agentfleet plan --simulate``
    passes the preview's, so the program is not built twice)."""
    for strategy in strategies:
        if strategy not in STRATEGIES:
            known = ", ".join(STRATEGIES)
            raise ConfigError([("--strategies", f"unknown strategy {strategy!r}; known: {known}")])
    tiers = fleet_models(plan, registrations, cold_start_seconds)
    if trace_counts and trace in ("diurnal", "flat"):
        raise ConfigError([("--trace-counts", "replays a CSV trace of counts, not " + trace)])
    rates, total = rates_for(tiers, trace, seconds, seed, timezone, trace_counts)
    lanes = lanes_for(tiers, strategies, total)
    per_step = max(1, round(1 / step_seconds)) if step_seconds < 1 else 1
    lane_rates = np.stack([np.repeat(rates[lane.tier.name], per_step) for lane in lanes])
    started = time.perf_counter()
    run = simulate(
        lanes, lane_rates, dt=step_seconds, seed=seed, progress=progress, counts=trace_counts
    )
    replay = time.perf_counter() - started
    return Simulation(
        stack=stack,
        seconds=total,
        strategies=tuple(strategies),
        tiers=tuple(tiers),
        run=run,
        stats=tuple(lane_stats(run, i) for i in range(len(lanes))),
        rates=rates,
        replay_seconds=replay,
    )
