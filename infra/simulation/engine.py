"""The simulator: each (tier, strategy) pair is a lane; all lanes advance together, a sync
of the autoscalers (15 s) at a time.

In each sync of each lane (Python): spot nodes are interrupted at a rate, their work back in
the queue; the lane's controller (the HPA as KEDA feeds it, an HPA on GPU utilisation as
dcgm-exporter reports it, or nothing for static peak) sets the replicas; new pods start on
free node slots or on nodes the cluster autoscaler launches, and serve after the node's
start and the pod's (vLLM's start-up, the weights); nodes go once unneeded for 15 minutes.

Between syncs, each step (``dt``, one second by default) of each lane runs in
``infra.simulation.kernel``: Poisson arrivals at the trace's rate (drawn for the whole run
up front), the replicas serving as the serving model says they do at the concurrency they
run, the SQS queue oldest first, expiring at the tier's request timeout, and every started
interaction's latencies recorded.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from facts.autoscaling import (
    SYNC_SECONDS,
    Hpa,
    Load,
    Rules,
    ScaledObject,
    Trigger,
)
from infra.simulation import kernel
from infra.simulation.fleet import TierModel

STRATEGIES = ("queue-depth", "gpu-utilization", "static-peak")
GPU_UTILIZATION_TARGET = 70.0
DCGM_COLLECT_SECONDS = 30.0
"""dcgm-exporter's --collect-interval default (30000 ms)."""
PROMETHEUS_SCRAPE_SECONDS = 30.0
"""kube-prometheus-stack's default scrape interval."""
SCRAPE_OFFSET_SECONDS = 15.0
"""Where the scrapes fall between the exporter's samples: half a period after them."""
SPOT_INTERRUPTIONS_PER_NODE_HOUR = 0.01


@dataclass
class Node:
    ready_at: float
    spot: bool


@dataclass
class Lane:
    """One tier under one strategy: its replicas, pods and nodes."""

    tier: TierModel
    strategy: str
    controller: Callable[[float, int, int, int, float], int]
    """(now, current replicas, queued, running, ready replicas) -> desired replicas."""
    target: int = 0
    pods: list[float] = field(default_factory=list)
    """Ready times of the pods, sorted."""
    nodes: list[Node] = field(default_factory=list)
    unneeded_since: float | None = None
    max_replicas: int = 0

    def settled(self, load: float) -> int:
        """The replicas this strategy holds for ``load`` concurrent interactions held steady
        (its autoscaler's arithmetic, the HPA's tolerance included, climbing from the floor):
        the run starts there rather than at the floor, with nothing waiting."""
        tier = self.tier
        if self.strategy == "static-peak":
            return tier.planned_replicas
        if self.strategy == "gpu-utilization":

            def utilisation(replicas: int) -> Load:
                busy = min(load, replicas * tier.sessions_per_replica)
                return Load(utilization=tier.utilisation_sum(busy, replicas))

            return utilisation_hpa(tier).settled(utilisation)
        return tier.scaled.settled(Load(in_flight=round(load)))

    @property
    def fixed(self) -> bool:
        """Static peak on nodes no spot interruption takes: once its pods are all ready,
        nothing about it changes."""
        return self.strategy == "static-peak" and not (self.tier.on_spot or self.tier.burst_max)

    def ready_pods(self, now: float) -> int:
        return bisect.bisect_right(self.pods, now)

    def node_cost_rate(self) -> float:
        """USD a second for the nodes billed now (launched, ready or not)."""
        tier = self.tier
        spot = 0
        if tier.spot_price is not None and (tier.on_spot or tier.burst_max):
            spot = sum(node.spot for node in self.nodes)
        on_demand = len(self.nodes) - spot
        prices = on_demand * tier.on_demand_price + spot * (tier.spot_price or 0.0)
        return prices * tier.gpus_per_node / 3600.0

    def _launch(self, now: float, count: int) -> None:
        tier = self.tier
        for _ in range(count):
            spot = tier.on_spot or (
                len(self.nodes) >= tier.node_min
                and sum(node.spot for node in self.nodes) < tier.burst_max
            )
            self.nodes.append(Node(now + tier.launch_delay_seconds + tier.node_start_seconds, spot))

    def scale(self, now: float, desired: int) -> None:
        """Pods to ``desired``: new ones on free node slots or on new nodes; removed ones
        newest first. Nodes unneeded for 15 minutes go."""
        tier = self.tier
        self.target = desired
        per_node = tier.replicas_per_node
        settled = desired == len(self.pods) and self.unneeded_since is None
        if settled and len(self.nodes) <= max(tier.node_min, math.ceil(desired / per_node)):
            return  # nothing to start, stop or let go
        if desired > len(self.pods):
            room = (tier.node_max + tier.burst_max) * per_node
            wanted = min(desired, room)
            needed_nodes = math.ceil(wanted / per_node)
            if needed_nodes > len(self.nodes):
                self._launch(now, needed_nodes - len(self.nodes))
            slots = sorted((node.ready_at, k) for k, node in enumerate(self.nodes)
                           for _ in range(per_node))  # fmt: skip
            chosen = slots[len(self.pods) : wanted]
            together = Counter(k for _, k in chosen)  # a node's new pods download at once
            for ready_at, k in chosen:
                bisect.insort(self.pods, max(now, ready_at) + tier.pod_start(together[k]))
        elif desired < len(self.pods):
            del self.pods[max(desired, 0) :]
        self.max_replicas = max(self.max_replicas, self.ready_pods(now))
        needed = max(tier.node_min, math.ceil(len(self.pods) / per_node))
        if len(self.nodes) > needed:
            if self.unneeded_since is None:
                self.unneeded_since = now
            elif now - self.unneeded_since >= tier.empty_node_seconds:
                self.nodes.sort(key=lambda node: (not node.spot, node.ready_at))
                del self.nodes[: len(self.nodes) - needed]
                self.unneeded_since = None
        else:
            self.unneeded_since = None

    def interrupt(self, now: float, rng: np.random.Generator, seconds: float) -> int:
        """Spot nodes reclaimed in the last ``seconds``; returns the pods lost with them."""
        if not (self.tier.on_spot or self.tier.burst_max):
            return 0
        spot = [node for node in self.nodes if node.spot]
        hit = int(rng.poisson(len(spot) * SPOT_INTERRUPTIONS_PER_NODE_HOUR * seconds / 3600))
        lost = 0
        for node in spot[:hit]:
            self.nodes.remove(node)
            lost += min(self.tier.replicas_per_node, len(self.pods))
        if lost:
            del self.pods[len(self.pods) - lost :]
        return lost


def queue_depth(
    tier: TierModel, cron_open: Callable[[float], frozenset[str]]
) -> Callable[..., int]:
    """The stack's own ScaledObject, as KEDA feeds the HPA."""
    hpa = Hpa(tier.scaled)

    def desired(now: float, current: int, queue: int, running: int, ready: float) -> int:
        # Workers hold up to --max-num-seqs a replica (in flight for SQS); beyond what a
        # replica runs they wait inside vLLM (num_requests_waiting, the Prometheus trigger).
        load = Load(
            visible=queue,
            in_flight=running,
            vllm_waiting=tier.vllm_waiting(running, ready),
            cron_active=cron_open(now),
        )
        return hpa.sync(now, current, load)

    return desired


def utilisation_hpa(tier: TierModel) -> ScaledObject:
    """An HPA on GPU utilisation at 70%, the HPA's default behaviour, the stack's floor (at
    least one) and ceiling."""
    return ScaledObject(
        min_replicas=max(1, tier.scaled.min_replicas),
        max_replicas=tier.scaled.max_replicas,
        triggers=(Trigger("gpu", "utilization", GPU_UTILIZATION_TARGET),),
        up=Rules.from_spec(None, up=True),
        down=Rules.from_spec(None, up=False),
    )


def gpu_utilization(tier: TierModel) -> Callable[..., int]:
    """An HPA on GPU utilisation at 70%, with the HPA's default behaviour and the stack's
    floor (at least one) and ceiling. The utilisation is what dcgm-exporter reports
    (DCGM_FI_DEV_GPU_UTIL, NVML's share of the sample period a kernel ran): under continuous
    batching a replica with a running sequence runs steps back to back and reads its kernel
    duty (``TierModel.utilisation_sum``), not its busy sessions over its sessions. The HPA
    reads it as its metrics pipeline last saw it: dcgm-exporter samples the GPUs every 30 s
    (its --collect-interval default) and Prometheus scrapes the exporter every 30 s, so each
    sync reads the utilisation of 15-45 s before."""
    hpa = Hpa(utilisation_hpa(tier))
    samples: dict[float, float] = {}

    def desired(now: float, current: int, queue: int, running: int, ready: float) -> int:
        collected = DCGM_COLLECT_SECONDS * math.floor(now / DCGM_COLLECT_SECONDS)
        samples.setdefault(collected, tier.utilisation_sum(running, ready))
        # the last scrape (every 30 s, half a period after the exporter's samples) holds
        # the sample taken before it
        scraped = now - (now - SCRAPE_OFFSET_SECONDS) % PROMETHEUS_SCRAPE_SECONDS
        seen = DCGM_COLLECT_SECONDS * math.floor(scraped / DCGM_COLLECT_SECONDS)
        used = samples.get(seen, samples[collected])
        for old in [t for t in samples if t < seen]:
            del samples[old]
        return hpa.sync(now, current, Load(utilization=used))

    return desired


def static_peak(tier: TierModel) -> Callable[..., int]:
    def desired(*_: object) -> int:
        return tier.planned_replicas

    return desired


@dataclass
class Run:
    """What a run recorded, per lane: totals, latency histograms (over the run, and per
    window for the plot) and per-minute series."""

    lanes: list[Lane]
    dt: float
    steps: int
    arrivals: NDArray[np.int64]
    totals: NDArray[np.float64]
    """Per lane, ``kernel``'s totals (STARTED, EXPIRED, MET, the latency sums...)."""
    histograms: NDArray[np.float64]
    """Per lane and latency (``kernel.WAIT``, TTFT, TPOT, E2E), interactions by log bin."""
    windows: NDArray[np.float32]
    """Per lane, latency (``kernel.WINDOW_TTFT``, WINDOW_E2E) and window, the same."""
    window_seconds: float
    cost: NDArray[np.float64]
    gpu_seconds: NDArray[np.float64]
    series: dict[str, NDArray[np.float64]]
    """Per lane and minute: arrivals, replicas serving, GPUs billed, the cost rate (USD an
    hour), the queue's peak, and the demand (running and waiting, the minute's mean)."""


WINDOW_SECONDS = 900.0
"""The plot's latency percentiles are each 15 minutes' interactions."""


def _by_tier(lane: Lane) -> Hashable:
    return id(lane.tier)


def queue_room(arrivals: NDArray[np.int64], steps_per_timeout: int, extra: int) -> int:
    """Places a lane's queue needs at most: the arrivals of any timeout (older ones have
    expired), and the interactions its replicas could hand back at once."""
    totals = np.concatenate(([0], np.cumsum(arrivals)))
    span = min(steps_per_timeout + 1, len(arrivals))
    most = int((totals[span:] - totals[:-span]).max()) if len(arrivals) else 0
    return most + extra + 16


class _Engine:
    """The lanes' state: the controllers' (Python) and the queues' (``kernel``'s arrays)."""

    def __init__(
        self,
        lanes: Sequence[Lane],
        rates: NDArray[np.float64],
        dt: float,
        seed: int,
        draw: Callable[[Lane], Hashable],
        counts: bool = False,
    ):
        self.lanes, self.dt = list(lanes), dt
        self.rng = np.random.default_rng(seed)
        count, self.steps = rates.shape
        # The lanes of one draw (a tier's strategies) see the same arrivals (common random
        # numbers), so their differences are the strategies', not the draw's.
        first: dict[Hashable, int] = {}
        for i, lane in enumerate(lanes):
            first.setdefault(draw(lane), i)
        drawn = {i: self._arrivals(rates[i], dt, counts) for i in first.values()}
        self.arrivals = np.ascontiguousarray(np.stack([drawn[first[draw(lane)]] for lane in lanes]))
        tables = [lane.tier.tables() for lane in lanes]
        width = max(len(rows[0]) for rows in tables)
        self.tables = np.array([[row + [row[-1]] * (width - len(row)) for row in rows]
                                for rows in tables])  # fmt: skip
        self.settings = np.array([[lane.tier.admit_per_replica, lane.tier.request_timeout_seconds,
                                   lane.tier.sla_ttft_seconds] for lane in lanes])  # fmt: skip
        self.tick = max(1, round(SYNC_SECONDS / dt))
        self.window_steps = max(1, round(WINDOW_SECONDS / dt))
        windows = math.ceil(self.steps / self.window_steps)
        admit = self.settings[:, kernel.ADMIT]
        room = max(
            queue_room(self.arrivals[i], round(min(lane.tier.request_timeout_seconds,
                       self.steps * dt) / dt), int(lane.tier.max_replicas * admit[i]))
            for i, lane in enumerate(lanes)
        )  # fmt: skip
        self.ring = np.zeros((count, room))
        self.state = np.zeros((count, 3), dtype=np.int64)
        self.histograms = np.zeros((count, 4, kernel.BINS))
        self.windows = np.zeros((count, 2, windows, kernel.WINDOW_BINS), dtype=np.float32)
        self.totals = np.zeros((count, kernel.TOTALS))
        self.trace = np.zeros((2, count, self.steps), dtype=np.int32)
        self.ready = np.zeros((count, self.tick))
        self.readies: list[int] = []
        self.held: dict[int, tuple[float, int, int]] = {}
        """The lanes whose replicas and nodes can no longer change, as they are."""
        self.bills: list[tuple[list[float], list[int], list[int], float]] = []
        """Per sync: each lane's cost rate (USD an hour), GPUs billed, replicas ready, and
        the seconds until the next sync."""
        for i, lane in enumerate(self.lanes):  # settled at the first second's load
            load = rates[i, 0] * lane.tier.service_seconds
            lane.scale(-3600.0, lane.settled(load))
            lane.nodes = [Node(-3600.0, node.spot) for node in lane.nodes]
            lane.pods = [-3600.0] * len(lane.pods)
            self.state[i, kernel.RUNNING] = min(round(load), int(len(lane.pods) * admit[i]))

    def _arrivals(self, rates: NDArray[np.float64], dt: float, counts: bool) -> NDArray[np.int64]:
        """A lane's arrivals per step: Poisson at the rates, or the counts as given (each
        second's count spread over its steps at random, where steps are shorter)."""
        if not counts:
            return self.rng.poisson(rates * dt).astype(np.int64)
        per_second = max(1, round(1 / dt))
        given = rates[::per_second].astype(np.int64)
        if per_second == 1:
            return given
        spread = self.rng.multinomial(given, [1 / per_second] * per_second)
        return spread.reshape(-1).astype(np.int64)[: rates.shape[0]]

    def control(self, step: int) -> None:
        """A sync: interruptions, the controllers, pods and nodes, the bill; then the
        replicas ready in each step up to the next sync."""
        now, span = step * self.dt, min(self.tick, self.steps - step) * self.dt
        until = now + (self.tick - 1) * self.dt
        state = self.state.tolist()
        costs, gpus, readies, pending = [], [], [], []
        for i, lane in enumerate(self.lanes):
            if i in self.held:  # static peak on its own nodes, every pod ready: as it was
                cost, gpu, ready = self.held[i]
                costs.append(cost)
                gpus.append(gpu)
                readies.append(ready)
                continue
            running, _, queue = state[i]
            ready = lane.ready_pods(now)
            if lane.nodes and (lost := lane.interrupt(now, self.rng, self.tick * self.dt)):
                back = int(running * min(1.0, lost / max(ready, 1)) * lane.tier.unfinished())
                running -= back
                self.state[i, kernel.RUNNING] = running
                kernel.requeue(i, back, now, (self.state, self.ring), self.totals)
                queue = int(self.state[i, kernel.SIZE])
                ready = lane.ready_pods(now)
            lane.scale(now, lane.controller(now, len(lane.pods), queue, running, float(ready)))
            costs.append(lane.node_cost_rate() * 3600.0)
            gpus.append(len(lane.nodes) * lane.tier.gpus_per_node)
            pods = lane.pods
            ready = lane.ready_pods(now)
            readies.append(ready)
            if ready < len(pods) and pods[ready] <= until:
                pending.append(i)
            else:
                lane.max_replicas = max(lane.max_replicas, ready)
                if lane.fixed and ready == len(pods) == lane.target:
                    self.held[i] = (costs[-1], gpus[-1], ready)
        if pending or readies != self.readies:
            self.ready[:] = np.array(readies, dtype=np.float64)[:, None]
            self.readies = readies
        if pending:
            self.readies = []  # the rows below differ within the sync
            times = now + np.arange(self.tick) * self.dt
            for i in pending:
                lane = self.lanes[i]
                self.ready[i] = np.searchsorted(lane.pods, times, side="right")
                lane.max_replicas = max(lane.max_replicas, int(self.ready[i, -1]))
        self.bills.append((costs, gpus, readies, span))

    def advance(self, step: int) -> None:
        """The steps up to the next sync, every lane (``kernel.advance``)."""
        kernel.advance(
            self.rng, step, min(step + self.tick, self.steps), self.dt, self.window_steps,
            self.arrivals, self.ready, self.tables, self.settings, self.state, self.ring,
            self.histograms, self.windows, self.totals, self.trace,
        )  # fmt: skip


def simulate(
    lanes: Sequence[Lane],
    rates: NDArray[np.float64],
    *,
    dt: float = 1.0,
    seed: int = 0,
    progress: Callable[[float], None] | None = None,
    draw: Callable[[Lane], Hashable] | None = None,
    counts: bool = False,
) -> Run:
    """Replay ``rates`` (interactions a second, per lane and step) through the lanes. Lanes
    with the same ``draw`` key (by default, the same tier model) share their arrivals. With
    ``counts`` the rates are whole arrivals per second, replayed as given."""
    engine = _Engine(lanes, rates, dt, seed, draw or _by_tier, counts)
    for step in range(0, engine.steps, engine.tick):
        engine.control(step)
        engine.advance(step)
        if progress is not None:
            progress(step / engine.steps)
    if progress is not None:
        progress(1.0)
    return _recorded(engine)


def _recorded(engine: _Engine) -> Run:
    """The run's totals, and its series by minute for the report and the plot."""
    if engine.totals[:, kernel.DROPPED].any():  # queue_room sizes the ring never to fill
        raise RuntimeError("the simulator's queue ring overflowed: its size is a bug")
    dt, count, steps = engine.dt, len(engine.lanes), engine.steps
    per_minute = max(1, round(60 / dt))
    minutes = math.ceil(steps / per_minute)
    pad = minutes * per_minute - steps

    def by_minute(values: NDArray[Any], how: str) -> NDArray[np.float64]:
        padded = np.pad(values, ((0, 0), (0, pad))) if pad else values
        shaped = padded.reshape(count, minutes, per_minute)
        if how == "max":
            return np.asarray(shaped.max(axis=2), dtype=np.float64)
        summed = shaped.sum(axis=2, dtype=np.float64)
        return np.asarray(summed / per_minute if how == "mean" else summed, dtype=np.float64)

    costs, gpus, readies = (np.array([bill[k] for bill in engine.bills], dtype=np.float64).T
                            for k in range(3))  # fmt: skip
    spans = np.array([bill[3] for bill in engine.bills])
    ticks_per_minute = max(1, round(60 / (engine.tick * dt)))
    queued, running = engine.trace[kernel.QUEUED_AT], engine.trace[kernel.RUNNING_AT]
    series = {
        "arrivals": by_minute(engine.arrivals, "sum"),
        "queue": by_minute(queued, "max"),
        "demand": by_minute(running, "mean") + by_minute(queued, "mean"),
    }
    for key, values in (("replicas", readies), ("gpus", gpus), ("cost", costs)):
        series[key] = values[:, ::ticks_per_minute][:, :minutes]  # a sync's, for its minute
    return Run(
        lanes=engine.lanes,
        dt=dt,
        steps=steps,
        arrivals=engine.arrivals.sum(axis=1),
        totals=engine.totals,
        histograms=engine.histograms,
        windows=engine.windows,
        window_seconds=engine.window_steps * dt,
        cost=costs @ spans / 3600.0,
        gpu_seconds=gpus @ spans,
        series=series,
    )
