"""What users and the bill saw in a run, per lane: queue waits and time to first token
(mean and percentiles), SLA attainment, expired interactions, cost and GPU-hours.

Waits are read from the queue's cumulative counts: the interactions that entered the
queue in step t hold positions (in[t-1], in[t]]; FIFO, they leave when the outgoing count
passes them. Each step's entrants are taken at their middle position, entering mid-step
and leaving where the outgoing count (linear within a step) reaches it. Interactions that
started without queueing waited nothing; expired ones never got a first token.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from infra.simulation.engine import Run


@dataclass(frozen=True)
class LaneStats:
    tier: str
    strategy: str
    interactions: int
    cost: float
    gpu_hours: float
    max_replicas: int
    queue_wait_mean: float
    queue_wait_p50: float
    queue_wait_p95: float
    queue_wait_p99: float
    ttft_p50: float
    ttft_p95: float
    ttft_p99: float
    sla_attainment: float
    expired: int
    queue_mean: float
    """Time-averaged queue length (Little's law: = arrival rate x mean wait)."""


ENTRY_OFFSET = 0.5


def _cohort_waits(
    entered: NDArray[np.int64], left: NDArray[np.int64], dt: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(wait in seconds, interactions) of each step's queue entrants; entrants still in
    the queue at the end wait until then."""
    before = np.concatenate(([0], entered[:-1]))
    count = (entered - before).astype(np.float64)
    has = count > 0
    middle = before[has] + count[has] / 2.0
    steps = np.flatnonzero(has)
    out = left.astype(np.float64)
    index = np.searchsorted(out, middle, side="left")
    end = len(out)
    inside = index < end
    low = np.where(index > 0, out[np.maximum(index - 1, 0)], 0.0)
    high = out[np.minimum(index, end - 1)]
    fraction = np.where(high > low, (middle - low) / np.maximum(high - low, 1e-12), 0.5)
    leave = np.where(inside, index + fraction, float(end))
    waits = np.maximum(leave - (steps + ENTRY_OFFSET), 0.0) * dt
    return waits, count[has]


def _quantile(values: NDArray[np.float64], weights: NDArray[np.float64], q: float) -> float:
    if weights.sum() <= 0:
        return 0.0
    order = np.argsort(values, kind="stable")
    cumulative = np.cumsum(weights[order])
    at = np.searchsorted(cumulative, q * cumulative[-1], side="left")
    return float(values[order][min(at, len(order) - 1)])


def lane_stats(run: Run, lane_index: int) -> LaneStats:
    lane = run.lanes[lane_index]
    tier = lane.tier
    waits, counts = _cohort_waits(run.entered[lane_index], run.left[lane_index], run.dt)
    expired = int(run.expired[lane_index])
    served = waits < tier.request_timeout_seconds
    waits_served, counts_served = waits[served], counts[served]
    direct = float(run.direct[lane_index])
    all_waits = np.concatenate(([0.0], waits_served))
    all_counts = np.concatenate(([direct], counts_served))
    arrivals = int(run.arrivals[lane_index])
    ttft = all_waits + tier.prefill_seconds
    met = float(all_counts[ttft <= tier.sla_ttft_seconds].sum())
    waited_total = float((waits * counts).sum())
    seconds = run.steps * run.dt
    return LaneStats(
        tier=tier.name,
        strategy=lane.strategy,
        interactions=arrivals,
        cost=float(run.cost[lane_index]),
        gpu_hours=float(run.gpu_seconds[lane_index]) / 3600.0,
        max_replicas=lane.max_replicas,
        queue_wait_mean=waited_total / max(arrivals, 1),
        queue_wait_p50=_quantile(all_waits, all_counts, 0.50),
        queue_wait_p95=_quantile(all_waits, all_counts, 0.95),
        queue_wait_p99=_quantile(all_waits, all_counts, 0.99),
        ttft_p50=_quantile(ttft, all_counts, 0.50),
        ttft_p95=_quantile(ttft, all_counts, 0.95),
        ttft_p99=_quantile(ttft, all_counts, 0.99),
        sla_attainment=met / max(arrivals, 1),
        expired=expired,
        queue_mean=float(run.queue_area[lane_index]) / seconds,
    )


def fleet_sla(stats: Iterable[LaneStats]) -> float:
    """The share of all the lanes' interactions that met their tier's target."""
    found = list(stats)
    interactions = sum(s.interactions for s in found)
    met = sum(s.sla_attainment * s.interactions for s in found)
    return met / interactions if interactions else 1.0


def ttft_p95_by_minute(run: Run, lane_index: int) -> NDArray[np.float64]:
    """Each minute's TTFT p95 over the interactions that arrived in it: those that
    started at once take the prefill, those that queued their wait more (the plot)."""
    waits, counts = _cohort_waits(run.entered[lane_index], run.left[lane_index], run.dt)
    entered = run.entered[lane_index]
    steps = np.flatnonzero(np.diff(np.concatenate(([0], entered))) > 0)
    per_minute = max(1, round(60 / run.dt))
    arrivals = run.series["arrivals"][lane_index]
    minute_of = steps // per_minute  # in order: each minute's cohorts are one slice
    prefill = run.lanes[lane_index].tier.prefill_seconds
    found = np.full(len(arrivals), prefill)
    minutes, starts = np.unique(minute_of, return_index=True)
    ends = np.append(starts[1:], len(minute_of))[: len(starts)]  # none when nothing queued
    for minute, start, end in zip(minutes, starts, ends, strict=True):
        if minute >= len(found):
            continue
        queued = float(counts[start:end].sum())
        direct = max(0.0, float(arrivals[minute]) - queued)
        values = np.concatenate(([0.0], waits[start:end])) + prefill
        found[minute] = _quantile(values, np.concatenate(([direct], counts[start:end])), 0.95)
    return found
