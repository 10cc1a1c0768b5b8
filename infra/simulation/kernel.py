"""The simulator's inner loop: every lane's queue and replicas, one step at a time, between
two syncs of the autoscalers. Compiled by numba where it is installed (``agentfleet[fast]``);
the same functions run as plain Python otherwise, or with ``AGENTFLEET_NO_COMPILE=1``, and
draw the same numbers from the same generator either way.

A lane's replicas run ``n`` interactions between them (each replica up to its
``--max-num-seqs``, spread evenly); the SQS queue holds the rest, oldest first. Each running
interaction's remaining work is exponential and the replicas share their engine steps among
what they run (processor sharing), so interactions end at the rate the serving model gives
the lane's concurrency: ``replicas x throughput(n / replicas)``. A step is handled in one of
three ways:

- **uncontended** (nothing queued and every arrival fits): all arrivals start at once; the
  ones running at the step's start end with probability ``1 - exp(-r dt)``, those arriving
  in it (uniformly) with ``1 - (1 - exp(-r dt)) / (r dt)``, ``r`` the per-interaction rate
  at the step's middle concurrency. Exact for a rate that does not depend on the
  concurrency (M/M/c below c), and a step of the Markov chain's law otherwise;
- **saturated** (every place taken, and more queued than can end or expire in the step):
  the ends are Poisson at the full replicas' rate, at uniform times, each taking the
  queue's head; the arrivals join its tail at their uniform times;
- **contended** otherwise: event by event (Gillespie's method): the step's arrivals at
  their uniform times, ends at the current rate, each end taking the queue's head, expiries
  at their timeout.

The last two are exact in continuous time: no step bias in the waits.

Each interaction that starts is recorded with its SQS wait, and with what the serving model
gives the concurrency it joins: its time to first token (wait + vLLM's own wait and its
prefill), its time per output token and its end-to-end time (wait + ``x / throughput(x)``,
``x`` the concurrency a replica then runs: Little's law for the chain, so the mean is the
chain's own). Arrivals that start at once in a step are recorded together, at the step's
mean concurrency (what Poisson arrivals see).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numpy.typing import NDArray

LOW_DECADE = -4
"""Latency histograms start at 0.1 ms; a bin below holds everything shorter (waits of 0)."""
DECADES = 8
PER_DECADE = 200
"""A bin is 1.2% wide: percentiles are read to half that."""
BINS = 1 + DECADES * PER_DECADE
COARSE = 5
"""A window's histogram merges this many bins (the plot's percentiles over time)."""
WINDOW_PER_DECADE = PER_DECADE // COARSE
WINDOW_BINS = 1 + DECADES * WINDOW_PER_DECADE

WAIT, TTFT, TPOT, E2E = range(4)
"""The recorded latencies (histograms over the run)."""
WINDOW_TTFT, WINDOW_E2E = range(2)
"""The latencies recorded per window too."""
THROUGHPUT, FIRST_TOKEN, PER_TOKEN = range(3)
"""A replica's tables by the interactions it runs (``tables[lane, which, k]``)."""
ADMIT, TIMEOUT, SLA = range(3)
"""A lane's settings (``settings[lane, which]``): interactions a replica takes from the
queue, the queue's timeout, the TTFT target."""
RUNNING, HEAD, SIZE = range(3)
"""A lane's state (``state[lane, which]``): interactions running, the queue's ring."""
QUEUED_AT, RUNNING_AT = range(2)
"""Per step (``trace[which, lane, step]``): the queue and the running at the step's end."""
STARTED, EXPIRED, MET, WAIT_SUM, E2E_SUM, QUEUE_AREA, DROPPED = range(7)
"""Per-lane totals: interactions started, expired in the queue, meeting the TTFT target;
sums of their waits and end-to-end times; queue x seconds; dropped by a full queue ring
(never, for a ring sized by ``engine.queue_room``)."""
TOTALS = 7

Second = tuple[int, float, float, float, int]
"""One step of one lane: the lane, the step's start and length, the replicas ready, the
latency window it falls in."""
Times = NDArray[np.float64]
Queue = tuple[NDArray[np.int64], NDArray[np.float64]]
"""A lane's queue: its state (``RUNNING``, ``HEAD``, ``SIZE``) and its ring of entry times."""
Books = tuple[
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float64],
    NDArray[np.float32],
    NDArray[np.float64],
]
"""What the steps read and write: the tables, the settings, the latency histograms (over
the run, and by window) and the totals."""

Function = TypeVar("Function", bound=Callable[..., Any])


def _compiler() -> Callable[[Function], Function]:
    if os.environ.get("AGENTFLEET_NO_COMPILE"):
        return lambda function: function
    try:
        from numba import njit
    except ImportError:  # the optional extra is not installed: plain Python
        return lambda function: function
    return cast(Callable[[Function], Function], njit(cache=True))


compiled = _compiler()


@compiled
def _bin(value: float) -> int:
    if value <= 0.0:
        return 0
    index = math.floor((math.log10(value) - LOW_DECADE) * PER_DECADE) + 1
    return min(max(index, 0), BINS - 1)


@compiled
def _coarse(index: int) -> int:
    return 0 if index == 0 else (index - 1) // COARSE + 1


@compiled
def _at(table: NDArray[np.float64], x: float) -> float:
    """A per-replica table (by whole concurrency 0..K, padded) read at ``x``, linearly."""
    top = table.shape[0] - 1
    if x >= top:
        return float(table[top])
    k = int(x)
    part = x - k
    return float(table[k] * (1.0 - part) + table[k + 1] * part)


@compiled
def _per_replica(running: float, ready: float, admit: float) -> float:
    """What each replica runs: spread over the ready ones, or while none is ready, over
    the draining ones that still hold them."""
    if ready > 0.0:
        return running / ready
    return running / max(1.0, math.ceil(running / admit))


@compiled
def _rate(running: float, ready: float, admit: float, throughput: NDArray[np.float64]) -> float:
    """Interactions a second ending across the lane."""
    if running <= 0.0:
        return 0.0
    x = _per_replica(running, ready, admit)
    return running / x * _at(throughput, x)


@compiled
def _record(
    lane: int,
    waits: NDArray[np.float64],
    count: int,
    running: float,
    weight: float,
    ready: float,
    window: int,
    books: Books,
) -> None:
    """Interactions start after the ``count`` waits (each ``weight`` of them), ``running``
    then running: their latencies, as the serving model gives that concurrency."""
    tables, settings, hist, window_hist, totals = books
    x = _per_replica(running, ready, settings[lane, ADMIT])
    first_token = _at(tables[lane, FIRST_TOKEN], x)
    per_token = _at(tables[lane, PER_TOKEN], x)
    rate = _at(tables[lane, THROUGHPUT], x)
    service = x / rate if rate > 0.0 else first_token
    hist[lane, TPOT, _bin(per_token)] += weight * count
    for k in range(count):
        wait = waits[k]
        ttft, e2e = wait + first_token, wait + service
        at = _bin(ttft)
        hist[lane, WAIT, _bin(wait)] += weight
        hist[lane, TTFT, at] += weight
        window_hist[lane, WINDOW_TTFT, window, _coarse(at)] += weight
        at = _bin(e2e)
        hist[lane, E2E, at] += weight
        window_hist[lane, WINDOW_E2E, window, _coarse(at)] += weight
        if ttft <= settings[lane, SLA]:
            totals[lane, MET] += weight
        totals[lane, WAIT_SUM] += weight * wait
        totals[lane, E2E_SUM] += weight * e2e
    totals[lane, STARTED] += weight * count


@compiled
def _uniform_times(
    rng: np.random.Generator, count: int, start: float, span: float, out: NDArray[np.float64]
) -> None:
    """``count`` uniform times in [start, start + span), in order (normalised exponential
    spacings: no sort)."""
    total = 0.0
    for k in range(count + 1):
        total += rng.standard_exponential()
        if k < count:
            out[k] = total
    for k in range(count):
        out[k] = start + span * out[k] / total


@compiled
def _expire(
    lane: int, now: float, settings: NDArray[np.float64], queue: Queue, totals: NDArray[np.float64]
) -> None:
    state, ring = queue
    room = ring.shape[1]
    while state[lane, SIZE] > 0 and ring[lane, state[lane, HEAD]] <= now - settings[lane, TIMEOUT]:
        state[lane, HEAD] = (state[lane, HEAD] + 1) % room
        state[lane, SIZE] -= 1
        totals[lane, EXPIRED] += 1.0


@compiled
def _pop(lane: int, now: float, queue: Queue) -> float:
    """The queue's head leaves at ``now``: its wait."""
    state, ring = queue
    waited = float(now - ring[lane, state[lane, HEAD]])
    state[lane, HEAD] = (state[lane, HEAD] + 1) % ring.shape[1]
    state[lane, SIZE] -= 1
    return waited


@compiled
def requeue(lane: int, count: int, now: float, queue: Queue, totals: NDArray[np.float64]) -> None:
    """``count`` interactions join the queue's tail at ``now`` (new, or handed back by a
    replica that is gone)."""
    state, ring = queue
    room = ring.shape[1]
    for _ in range(count):
        if state[lane, SIZE] == room:
            totals[lane, DROPPED] += 1.0
            continue
        ring[lane, (state[lane, HEAD] + state[lane, SIZE]) % room] = now
        state[lane, SIZE] += 1


@compiled
def _expiring(lane: int, until: float, settings: NDArray[np.float64], queue: Queue) -> int:
    """How many of the queue's head reach their timeout by ``until``."""
    state, ring = queue
    room, head, size = ring.shape[1], state[lane, HEAD], state[lane, SIZE]
    found = 0
    while found < size and ring[lane, (head + found) % room] <= until - settings[lane, TIMEOUT]:
        found += 1
    return found


@compiled
def advance(
    rng: np.random.Generator,
    first_step: int,
    last_step: int,
    dt: float,
    window_steps: int,
    arrivals: NDArray[np.int64],
    ready: NDArray[np.float64],
    tables: NDArray[np.float64],
    settings: NDArray[np.float64],
    state: NDArray[np.int64],
    ring: NDArray[np.float64],
    hist: NDArray[np.float64],
    window_hist: NDArray[np.float32],
    totals: NDArray[np.float64],
    trace: NDArray[np.int32],
) -> None:
    """Steps ``first_step`` up to ``last_step`` of every lane; ``ready[lane, k]`` is the
    replicas ready in the chunk's k-th step."""
    most = int(arrivals[:, first_step:last_step].max()) if last_step > first_step else 0
    times = np.empty(max(most, 1) + 1)
    nothing, waits = np.zeros(1), np.zeros(1)
    queue, books = (state, ring), (tables, settings, hist, window_hist, totals)
    for lane in range(arrivals.shape[0]):
        throughput, admit = tables[lane, THROUGHPUT], settings[lane, ADMIT]
        for step in range(first_step, last_step):
            replicas = ready[lane, step - first_step]
            capacity = int(replicas * admit)
            came = int(arrivals[lane, step])
            window = step // window_steps
            start = step * dt
            running = state[lane, RUNNING]
            if state[lane, SIZE] == 0 and running + came <= capacity:
                # uncontended: every arrival starts at once
                middle = running + came / 2.0
                each = _rate(middle, replicas, admit, throughput) / middle * dt if middle else 0.0
                ended = 0
                if each > 0.0 and running > 0:
                    ended += rng.binomial(running, -math.expm1(-each))
                if each > 0.0 and came > 0:
                    ended += rng.binomial(came, 1.0 + math.expm1(-each) / each)
                if came > 0:  # arrivals see the step's mean concurrency, and join it
                    seen = running + (came - ended + 1) / 2.0
                    _record(lane, nothing, 1, seen, float(came), replicas, window, books)
                state[lane, RUNNING] = running + came - ended
            else:
                _expire(lane, start, settings, queue, totals)
                while state[lane, SIZE] > 0 and state[lane, RUNNING] < capacity:
                    state[lane, RUNNING] += 1
                    waits[0] = _pop(lane, start, queue)
                    _record(
                        lane, waits, 1, float(state[lane, RUNNING]), 1.0, replicas, window, books
                    )
                running = state[lane, RUNNING]
                full = _rate(float(running), replicas, admit, throughput) * dt
                # saturated when the queue outlasts the step's ends but for a chance below
                # 1e-20 (ten deviations of their Poisson count): deciding on the count drawn
                # would favour steps with few ends
                second = (lane, start, dt, replicas, window)
                if (
                    running == capacity
                    and full > 0.0
                    and full + 10.0 * math.sqrt(full) + 10.0
                    < (state[lane, SIZE] - _expiring(lane, start + dt, settings, queue))
                ):
                    ends = min(rng.poisson(full), state[lane, SIZE])
                    _saturated(second, rng, ends, came, times, queue, books)
                else:
                    _contended(second, rng, came, capacity, times, queue, books)
                _expire(lane, start + dt, settings, queue, totals)
            totals[lane, QUEUE_AREA] += state[lane, SIZE] * dt
            trace[QUEUED_AT, lane, step] = state[lane, SIZE]
            trace[RUNNING_AT, lane, step] = state[lane, RUNNING]


@compiled
def _saturated(
    second: Second,
    rng: np.random.Generator,
    ends: int,
    came: int,
    times: Times,
    queue: Queue,
    books: Books,
) -> None:
    """Every place taken and the queue longer than the step can drain: ``ends`` ends at
    uniform times, each handing its place to the queue's head; then the arrivals join."""
    lane, start, dt, replicas, window = second
    state, (_, settings, _, _, totals) = queue[0], books
    waits = np.empty(ends)
    done = np.empty(ends)
    _uniform_times(rng, ends, start, dt, done)
    for k in range(ends):
        _expire(lane, done[k], settings, queue, totals)
        waits[k] = _pop(lane, done[k], queue)
    _record(lane, waits, ends, float(state[lane, RUNNING]), 1.0, replicas, window, books)
    _uniform_times(rng, came, start, dt, times)
    for k in range(came):
        requeue(lane, 1, times[k], queue, totals)


@compiled
def _contended(
    second: Second,
    rng: np.random.Generator,
    came: int,
    capacity: int,
    times: Times,
    queue: Queue,
    books: Books,
) -> None:
    """Event by event: arrivals at their uniform times, ends at the current rate. Those
    that start at once are recorded together, at their mean concurrency."""
    lane, start, dt, replicas, window = second
    state, (tables, settings, _, _, totals) = queue[0], books
    admit, throughput = settings[lane, ADMIT], tables[lane, THROUGHPUT]
    waits = np.zeros(1)
    _uniform_times(rng, came, start, dt, times)
    clock, arrived, direct, direct_running = start, 0, 0, 0.0
    following = times[0] if came > 0 else start + dt
    while True:
        running = state[lane, RUNNING]
        rate = _rate(float(running), replicas, admit, throughput)
        ends = clock + rng.standard_exponential() / rate if rate > 0.0 else math.inf
        if ends < following:
            clock = ends
            state[lane, RUNNING] = running - 1
            if state[lane, SIZE] > 0:
                _expire(lane, clock, settings, queue, totals)
                if state[lane, SIZE] > 0 and running - 1 < capacity:
                    state[lane, RUNNING] = running
                    waits[0] = _pop(lane, clock, queue)
                    _record(lane, waits, 1, float(running), 1.0, replicas, window, books)
        elif arrived < came:
            clock = following
            arrived += 1
            following = times[arrived] if arrived < came else start + dt
            if state[lane, SIZE] == 0 and running < capacity:
                state[lane, RUNNING] = running + 1
                direct += 1
                direct_running += running + 1
            else:
                requeue(lane, 1, clock, queue, totals)
        else:
            break
    if direct:
        waits[0] = 0.0
        _record(lane, waits, 1, direct_running / direct, float(direct), replicas, window, books)


COMPILED = hasattr(advance, "py_func")
"""Whether numba compiled the loop (the benchmark says which it measured)."""
