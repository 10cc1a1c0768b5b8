"""The simulator: each (tier, strategy) pair is a lane; all lanes advance together, one
step (``dt`` seconds, one by default) at a time, vectorised over lanes.

In each step of each lane:
- arrivals are Poisson at the trace's rate (drawn for the whole run up front);
- each busy session ends with probability 1 - exp(-dt / serviceSeconds) (exponential
  holds), drawn as one binomial;
- freed sessions take the queue's oldest interactions first (FIFO), then the step's new
  arrivals; the rest wait in the queue. An interaction waiting longer than the tier's
  request timeout expires;
- every 15 s the lane's controller (the HPA as KEDA feeds it, an HPA on GPU utilisation,
  or nothing for static peak) sets the replicas; new pods start on free node slots or on
  nodes the cluster autoscaler launches, and serve after the pod start (and node start);
  nodes go once unneeded for 15 minutes; spot nodes are interrupted at a rate, their work
  back in the queue.

Waits come from the queue's two cumulative counts (in, and out by start or expiry): FIFO,
each step's entrants leave when the outgoing count passes theirs, read between steps by
linear interpolation. That keeps the run linear in steps and exact in the totals.
"""

from __future__ import annotations

import bisect
import math
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
from infra.simulation.fleet import (
    AUTOSCALER_SCAN_SECONDS,
    SCALE_DOWN_UNNEEDED_SECONDS,
    TierModel,
)

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
    """(now, current replicas, queue, busy, capacity) -> desired replicas."""
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

    def ready_pods(self, now: float) -> int:
        return bisect.bisect_right(self.pods, now)

    def node_cost_rate(self) -> float:
        """USD a second for the nodes billed now (launched, ready or not)."""
        tier = self.tier
        spot = sum(node.spot for node in self.nodes) if tier.spot_price is not None else 0
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
            self.nodes.append(Node(now + AUTOSCALER_SCAN_SECONDS + tier.node_start_seconds, spot))

    def scale(self, now: float, desired: int) -> None:
        """Pods to ``desired``: new ones on free node slots or on new nodes; removed ones
        newest first. Nodes unneeded for 15 minutes go."""
        tier = self.tier
        self.target = desired
        per_node = tier.replicas_per_node
        if desired > len(self.pods):
            room = (tier.node_max + tier.burst_max) * per_node
            wanted = min(desired, room)
            needed_nodes = math.ceil(wanted / per_node)
            if needed_nodes > len(self.nodes):
                self._launch(now, needed_nodes - len(self.nodes))
            slots = sorted(node.ready_at for node in self.nodes for _ in range(per_node))
            taken = len(self.pods)
            for slot in slots[taken:wanted]:
                bisect.insort(self.pods, max(now, slot) + tier.pod_start_seconds)
        elif desired < len(self.pods):
            del self.pods[max(desired, 0) :]
        self.max_replicas = max(self.max_replicas, self.ready_pods(now))
        needed = max(tier.node_min, math.ceil(len(self.pods) / per_node))
        if len(self.nodes) > needed:
            if self.unneeded_since is None:
                self.unneeded_since = now
            elif now - self.unneeded_since >= SCALE_DOWN_UNNEEDED_SECONDS:
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

    def desired(now: float, current: int, queue: int, busy: int, capacity: float) -> int:
        # Workers hold up to --max-num-seqs a replica: the queue's head waits inside vLLM
        # (in flight for SQS, num_requests_waiting for the Prometheus trigger).
        replicas = capacity / tier.sessions_per_replica
        inside = min(queue, int(replicas * tier.held_per_replica))
        load = Load(
            visible=queue - inside,
            in_flight=busy + inside,
            vllm_waiting=float(inside),
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

    def desired(now: float, current: int, queue: int, busy: int, capacity: float) -> int:
        collected = DCGM_COLLECT_SECONDS * math.floor(now / DCGM_COLLECT_SECONDS)
        samples.setdefault(
            collected, tier.utilisation_sum(busy, capacity / tier.sessions_per_replica)
        )
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
    """What a run recorded, per lane: cumulative queue counts per step (for the waits),
    totals, and per-minute series (for the report and the plot)."""

    lanes: list[Lane]
    dt: float
    steps: int
    entered: NDArray[np.int64]
    """Cumulative interactions that entered the queue, per lane and step."""
    left: NDArray[np.int64]
    """Cumulative interactions that left it (started, or expired), per lane and step."""
    arrivals: NDArray[np.int64]
    direct: NDArray[np.int64]
    expired: NDArray[np.int64]
    cost: NDArray[np.float64]
    gpu_seconds: NDArray[np.float64]
    queue_area: NDArray[np.float64]
    """Sum over steps of the queue (x dt: queue-seconds), for Little's law."""
    series: dict[str, NDArray[np.float64]]
    """Per lane and minute: arrivals, replicas serving, GPUs billed, the queue's peak and
    the cost rate (USD an hour)."""


def _by_tier(lane: Lane) -> Hashable:
    return id(lane.tier)


class _Engine:
    """The lanes' state, advanced a step at a time (vectorised over lanes)."""

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
        self.arrivals = np.stack([drawn[first[draw(lane)]] for lane in lanes])
        hold = np.array([lane.tier.service_seconds for lane in lanes])
        # A session admitted in a step ends in a later one, with this chance each step: a
        # geometric hold of mean dt / p = serviceSeconds, as the exponential's mean.
        self.p_done = np.minimum(1.0, dt / hold)
        self.sessions = np.array([lane.tier.sessions_per_replica for lane in lanes])
        self.timeout = np.array(
            [max(1, round(lane.tier.request_timeout_seconds / dt)) for lane in lanes]
        )
        self.index = np.arange(count)

        def zeros() -> NDArray[np.int64]:
            return np.zeros(count, dtype=np.int64)

        self.busy, self.queue, self.total_in, self.total_out = zeros(), zeros(), zeros(), zeros()
        self.direct, self.expired = zeros(), zeros()
        self.entered = np.zeros((count, self.steps), dtype=np.int64)
        self.left = np.zeros((count, self.steps), dtype=np.int64)
        self.queued_at = np.zeros((count, self.steps), dtype=np.int32)
        self.capacity = np.zeros(count)
        self.sessions_now = np.zeros(count, dtype=np.int64)
        """The sessions the ready replicas hold, whole."""
        self.cost, self.gpu_seconds = np.zeros(count), np.zeros(count)
        self.cost_rate, self.gpus = np.zeros(count), np.zeros(count)
        self.next_ready = np.full(count, -math.inf)
        self.tick = max(1, round(SYNC_SECONDS / dt))
        ticks = math.ceil(self.steps / self.tick)
        self.at_tick = {k: np.zeros((count, ticks)) for k in ("replicas", "gpus", "cost")}
        for i, lane in enumerate(self.lanes):  # settled at the first second's load
            load = rates[i, 0] * lane.tier.service_seconds
            lane.scale(-3600.0, lane.settled(load))
            lane.nodes = [Node(-3600.0, node.spot) for node in lane.nodes]
            lane.pods = [-3600.0] * len(lane.pods)
            self.busy[i] = min(round(load), int(len(lane.pods) * self.sessions[i]))

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
        """Every 15 s: interruptions, the controllers, pods and nodes, the bill."""
        now, seconds = step * self.dt, self.tick * self.dt
        for i, lane in enumerate(self.lanes):
            current = len(lane.pods)
            lost = lane.interrupt(now, self.rng, seconds) if lane.nodes else 0
            if lost and self.capacity[i] > 0:
                back = int(self.busy[i] * min(1.0, lost * self.sessions[i] / self.capacity[i]))
                self.busy[i] -= back
                self.queue[i] += back
                self.total_in[i] += back
            queue, busy = int(self.queue[i]), int(self.busy[i])
            lane.scale(now, lane.controller(now, current, queue, busy, self.capacity[i]))
            self.cost_rate[i] = lane.node_cost_rate()
            self.gpus[i] = len(lane.nodes) * lane.tier.gpus_per_node
            self.next_ready[i] = -math.inf
        span = min(self.tick, self.steps - step) * self.dt
        self.cost += self.cost_rate * span
        self.gpu_seconds += self.gpus * span
        column = step // self.tick
        self.at_tick["gpus"][:, column] = self.gpus
        self.at_tick["cost"][:, column] = self.cost_rate * 3600.0

    def refresh(self, now: float, step: int) -> None:
        """Capacity of the lanes whose pods became ready since."""
        for i in np.flatnonzero(self.next_ready <= now):
            lane = self.lanes[i]
            ready = lane.ready_pods(now)
            self.capacity[i] = ready * self.sessions[i]
            self.sessions_now[i] = int(self.capacity[i])
            pending = lane.pods[ready:]
            self.next_ready[i] = pending[0] if pending else math.inf
            lane.max_replicas = max(lane.max_replicas, ready)
        self.at_tick["replicas"][:, step // self.tick] = self.capacity / self.sessions

    def advance(self, step: int) -> None:
        """One step of every lane: holds end, the queue expires and is served FIFO, then
        the step's arrivals start or queue."""
        busy, queue = self.busy, self.queue
        busy -= self.rng.binomial(busy, self.p_done)
        free = self.sessions_now - busy
        np.maximum(free, 0, out=free)
        now_in = self.arrivals[:, step]
        if queue.any():  # most steps of most runs have none: skip the queue's arithmetic
            back = step - self.timeout
            if back.max() >= 0:
                old = np.where(back >= 0, self.entered[self.index, np.maximum(back, 0)], 0)
                gone = np.minimum(np.maximum(old - self.total_out, 0), queue)
                queue -= gone
                self.total_out += gone
                self.expired += gone
            served = np.minimum(queue, free)
            queue -= served
            free -= served
            self.total_out += served
            busy += served
            first = np.where(queue == 0, np.minimum(now_in, free), 0)
        else:
            first = np.minimum(now_in, free)
        waiting = now_in - first
        queue += waiting
        self.total_in += waiting
        busy += first
        self.direct += first
        self.entered[:, step] = self.total_in
        self.left[:, step] = self.total_out
        self.queued_at[:, step] = queue


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
    for step in range(engine.steps):
        now = step * dt
        if step % engine.tick == 0:
            engine.control(step)
            engine.refresh(now, step)
            if progress is not None:
                progress(step / engine.steps)
        elif (engine.next_ready <= now).any():
            engine.refresh(now, step)
        engine.advance(step)
    if progress is not None:
        progress(1.0)
    return _recorded(engine)


def _recorded(engine: _Engine) -> Run:
    """The run's totals, and its series by minute for the report and the plot."""
    dt, count, steps = engine.dt, len(engine.lanes), engine.steps
    per_minute = max(1, round(60 / dt))
    minutes = math.ceil(steps / per_minute)
    pad = minutes * per_minute - steps

    def by_minute(values: NDArray[Any], how: str) -> NDArray[np.float64]:
        padded = np.pad(values.astype(np.float64), ((0, 0), (0, pad)))
        shaped = padded.reshape(count, minutes, per_minute)
        found: NDArray[np.float64] = shaped.max(axis=2) if how == "max" else shaped.sum(axis=2)
        return found

    ticks_per_minute = max(1, round(60 / (engine.tick * dt)))
    series = {
        "arrivals": by_minute(engine.arrivals, "sum"),
        "queue": by_minute(engine.queued_at, "max"),
    }
    for key, values in engine.at_tick.items():  # a tick's value stands for its minute
        series[key] = values[:, ::ticks_per_minute][:, :minutes]
    return Run(
        lanes=engine.lanes,
        dt=dt,
        steps=steps,
        entered=engine.entered,
        left=engine.left,
        arrivals=engine.arrivals.sum(axis=1),
        direct=engine.direct,
        expired=engine.expired,
        cost=engine.cost,
        gpu_seconds=engine.gpu_seconds,
        queue_area=engine.queued_at.sum(axis=1) * dt,
        series=series,
    )
