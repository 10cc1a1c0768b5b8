"""Queueing theory for a replica's sessions: how much load a replica of ``s`` sessions takes
before interactions wait longer than its time-to-first-token target allows, and the traffic
a tier's headroom must absorb besides. Standard library only.

A replica is an M/M/s queue (Erlang's delay system): interactions arrive at random (Poisson),
each holds one of its ``s`` sessions for an exponentially distributed time with mean ``T``
(the planned interaction time), and the rest wait. With ``a`` sessions' worth of offered load
(arrival rate x T, in Erlangs; the load KEDA counts in flight):

- the chance an arrival waits at all is Erlang's C formula, computed from Erlang's B by its
  recursion ``B(0) = 1, B(k) = a B(k-1) / (k + a B(k-1))`` and
  ``C = s B / (s - a (1 - B))`` (stable for thousands of servers);
- the chance it waits longer than ``t`` is ``C exp(-(s - a) t / T)``.

So ``max_load`` is the most offered load a replica takes while at most 5% of interactions
wait longer than their budget (the P95 the TTFT alert watches): for a short budget it is
Erlang C itself (square-root staffing: a large replica runs closer to full than a small
one); for a budget of many interaction times, nearly every session.

Traffic beside the Poisson arrivals (the seed's pattern, which the simulator replays):
its rate wanders within ``NOISE`` of the trend over five-minute windows and bursts up to
``BURST`` above it for 5-15 minutes a few times a weekday. A surge the tier has no spare
sessions for grows a backlog until the autoscaler's new nodes serve, ``REACTION`` seconds
and more; the backlog of a surge ``x`` above capacity, drained at the tier's rate, makes an
interaction wait about ``x`` times that long. So a tier holds as spare the part of the noise
its wait budget cannot take: ``max(0, NOISE - budget / reaction)``, all of it for a 0.5 s
target, none for a 60 s one. Bursts go to the ceiling.
"""

from __future__ import annotations

import math

NOISE = 0.10
"""The rate's wander about its trend, each five-minute window within this share."""
NOISE_SECONDS = 300
BURST = 0.50
"""The largest burst above the trend (5-15 minutes, a few a weekday)."""
COLD_START_SECONDS = 300
"""A new GPU node serving: 2-5 minutes (instance, image pull, CUDA, weights); the slower."""
WAIT_QUANTILE = 0.95
"""Interactions whose wait must fit the budget: the P95 of the TTFT alert (M1)."""


def erlang_b(servers: int, offered: float) -> float:
    """Erlang's B: the chance all ``servers`` are busy in the loss system with ``offered``
    Erlangs (the recursion, exact and stable)."""
    blocked = 1.0
    for k in range(1, servers + 1):
        blocked = offered * blocked / (k + offered * blocked)
    return blocked


def erlang_c(servers: int, offered: float) -> float:
    """Erlang's C: the chance an arrival waits, with ``servers`` and ``offered`` Erlangs
    (1 when the load is at or above the servers: the queue grows without bound)."""
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    blocked = erlang_b(servers, offered)
    return servers * blocked / (servers - offered * (1.0 - blocked))


def wait_beyond(servers: int, offered: float, hold_seconds: float, wait_seconds: float) -> float:
    """The chance an arrival waits longer than ``wait_seconds`` (M/M/s, mean holding time
    ``hold_seconds``)."""
    if offered >= servers:
        return 1.0
    rate = (servers - offered) / hold_seconds
    return erlang_c(servers, offered) * math.exp(-rate * wait_seconds)


def max_load(
    servers: int, hold_seconds: float, wait_seconds: float, quantile: float = WAIT_QUANTILE
) -> float:
    """The most offered load (Erlangs) ``servers`` take with the ``quantile`` of arrivals
    waiting at most ``wait_seconds``: the chance of a longer wait rises with the load, so a
    bisection finds it (to a millionth of a server)."""
    allowed = 1.0 - quantile
    low, high = 0.0, float(servers)
    while high - low > 1e-6 * servers:
        middle = (low + high) / 2
        if wait_beyond(servers, middle, hold_seconds, wait_seconds) <= allowed:
            low = middle
        else:
            high = middle
    return low


def noise_allowance(wait_seconds: float, reaction_seconds: float) -> float:
    """The share of spare sessions a tier keeps for its traffic's noise: the part its wait
    budget cannot absorb while the autoscaler reacts (``reaction_seconds``)."""
    return max(0.0, NOISE - wait_seconds / reaction_seconds)
