"""What users and the bill saw in a run, per lane: queue waits, time to first token, time
per output token and end-to-end time (mean and percentiles), SLA attainment, expired
interactions, cost and GPU-hours.

Latencies are read from the run's histograms (``infra.simulation.kernel``: log bins 1.2%
wide from 0.1 ms; a percentile is read within its bin, geometrically). Means are exact sums.
Percentiles are over the interactions that started; the SLA's share is over all arrivals
(one that expired, or was still queued at the end, did not meet it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from infra.simulation import kernel
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
    tpot_p50: float
    tpot_p95: float
    tpot_p99: float
    e2e_mean: float
    e2e_p50: float
    e2e_p95: float
    e2e_p99: float
    sla_attainment: float
    expired: int
    queue_mean: float
    """Time-averaged queue length (Little's law: = arrival rate x mean wait)."""


def quantile(counts: NDArray[np.floating], q: float, per_decade: int = kernel.PER_DECADE) -> float:
    """The ``q`` quantile of a log-binned histogram (``kernel._bin``'s bins), read within
    its bin geometrically; 0 where it falls in the bin of zeros."""
    total = float(counts.sum())
    if total <= 0:
        return 0.0
    cumulative = np.cumsum(counts, dtype=np.float64)
    index = int(np.searchsorted(cumulative, q * total, side="left"))
    if index == 0:
        return 0.0
    below = cumulative[index - 1]
    inside = float(counts[index])
    part = (q * total - below) / inside if inside > 0 else 0.5
    return float(10.0 ** (kernel.LOW_DECADE + (index - 1 + part) / per_decade))


def lane_stats(run: Run, lane_index: int) -> LaneStats:
    lane = run.lanes[lane_index]
    totals, hist = run.totals[lane_index], run.histograms[lane_index]
    started = max(float(totals[kernel.STARTED]), 1.0)
    arrivals = int(run.arrivals[lane_index])

    def spread(which: int) -> tuple[float, float, float]:
        return (quantile(hist[which], 0.50), quantile(hist[which], 0.95),
                quantile(hist[which], 0.99))  # fmt: skip

    wait, ttft, tpot, e2e = (spread(which) for which in (kernel.WAIT, kernel.TTFT,
                                                         kernel.TPOT, kernel.E2E))  # fmt: skip
    return LaneStats(
        tier=lane.tier.name,
        strategy=lane.strategy,
        interactions=arrivals,
        cost=float(run.cost[lane_index]),
        gpu_hours=float(run.gpu_seconds[lane_index]) / 3600.0,
        max_replicas=lane.max_replicas,
        queue_wait_mean=float(totals[kernel.WAIT_SUM]) / started,
        queue_wait_p50=wait[0],
        queue_wait_p95=wait[1],
        queue_wait_p99=wait[2],
        ttft_p50=ttft[0],
        ttft_p95=ttft[1],
        ttft_p99=ttft[2],
        tpot_p50=tpot[0],
        tpot_p95=tpot[1],
        tpot_p99=tpot[2],
        e2e_mean=float(totals[kernel.E2E_SUM]) / started,
        e2e_p50=e2e[0],
        e2e_p95=e2e[1],
        e2e_p99=e2e[2],
        sla_attainment=float(totals[kernel.MET]) / max(arrivals, 1),
        expired=int(totals[kernel.EXPIRED]),
        queue_mean=float(totals[kernel.QUEUE_AREA]) / (run.steps * run.dt),
    )


def fleet_sla(stats: Iterable[LaneStats]) -> float:
    """The share of all the lanes' interactions that met their tier's target."""
    found = list(stats)
    interactions = sum(s.interactions for s in found)
    met = sum(s.sla_attainment * s.interactions for s in found)
    return met / interactions if interactions else 1.0


def p95_by_window(run: Run, lane_index: int, which: int) -> NDArray[np.float64]:
    """Each window's p95 (``kernel.WINDOW_TTFT`` or WINDOW_E2E) over the interactions that
    started in it; NaN for a window where none did (the plot leaves a gap)."""
    windows = run.windows[lane_index, which]
    found = np.full(windows.shape[0], np.nan)
    for index, counts in enumerate(windows):
        if counts.sum() > 0:
            found[index] = quantile(counts, 0.95, kernel.WINDOW_PER_DECADE)
    return found
