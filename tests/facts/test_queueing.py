"""Erlang's delay formula against its closed forms and against a queue simulated
arrival by arrival (an M/M/s queue, first come first served)."""

from __future__ import annotations

import heapq
import math
import random

import pytest

from facts import queueing


@pytest.mark.parametrize("offered", [0.1, 0.5, 0.9])
def test_one_server_waits_with_the_utilisation(offered: float) -> None:
    """M/M/1: an arrival waits with probability rho."""
    assert queueing.erlang_c(1, offered) == pytest.approx(offered)


@pytest.mark.parametrize("offered", [0.2, 1.0, 1.8])
def test_two_servers_match_the_closed_form(offered: float) -> None:
    """M/M/2: P(wait) = a^2 / (2 + a)."""
    assert queueing.erlang_c(2, offered) == pytest.approx(offered**2 / (2 + offered))


def test_a_full_or_empty_system() -> None:
    assert queueing.erlang_c(5, 5.0) == 1.0
    assert queueing.erlang_c(5, 0.0) == 0.0
    assert queueing.wait_beyond(5, 6.0, 3.0, 100.0) == 1.0


def test_thousands_of_servers_stay_finite() -> None:
    chance = queueing.erlang_c(7000, 6900.0)
    assert 0.0 < chance < 1.0


def simulated_wait_beyond(servers: int, offered: float, hold: float, wait: float) -> float:
    """The share of arrivals that waited longer than ``wait`` in a simulated M/M/s queue."""
    rng = random.Random(7)  # noqa: S311 - a seeded simulation, not a secret
    free_at = [0.0] * servers  # when each server next frees, as a heap
    now, longer, arrivals = 0.0, 0, 200_000
    for _ in range(arrivals):
        now += rng.expovariate(offered / hold)
        earliest = heapq.heappop(free_at)
        start = max(now, earliest)
        longer += start - now > wait
        heapq.heappush(free_at, start + rng.expovariate(1 / hold))
    return longer / arrivals


@pytest.mark.parametrize(("servers", "offered", "wait"), [(8, 6.0, 0.0), (20, 18.0, 0.5)])
def test_the_formula_matches_a_simulated_queue(servers: int, offered: float, wait: float) -> None:
    expected = queueing.wait_beyond(servers, offered, 3.0, wait)
    assert simulated_wait_beyond(servers, offered, 3.0, wait) == pytest.approx(expected, abs=0.01)


def test_max_load_is_where_the_wait_target_is_just_met() -> None:
    load = queueing.max_load(91, 2.98, 0.467)
    assert queueing.wait_beyond(91, load, 2.98, 0.467) == pytest.approx(0.05, abs=1e-4)
    # square-root staffing: the spare sessions grow about as the square root of the size
    spare_small = 16 - queueing.max_load(16, 3.0, 0.2)
    spare_large = 256 - queueing.max_load(256, 3.0, 0.2)
    assert spare_large / spare_small == pytest.approx(math.sqrt(256 / 16), rel=0.35)


def test_noise_is_absorbed_by_a_long_wait_only() -> None:
    assert queueing.noise_allowance(0.5, 360) == pytest.approx(0.1 - 0.5 / 360)
    assert queueing.noise_allowance(60, 360) == 0.0
