"""When a KEDA cron trigger's window is open, minute by minute: a start and an end
expression (``infra.config.cron``: as robfig/cron parses and fires them) in an IANA time
zone.

KEDA 2.18's cron scaler (``GetMetricsAndActivity`` in pkg/scalers/cron_scaler.go) asks,
whenever it polls, for the next start and the next end after now, and is active when the
next end comes no later than the next start. For a start and an end that take turns that
is "from a start to the next end"; when they do not, it is what KEDA does: with a start
on weekdays only and an end every day, the window stays open from Friday's start to
Sunday's end (kedacore/keda issue #4677). Where a schedule has no next firing, robfig
gives the zero time, which KEDA compares as the earliest time of all."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

from infra.config.cron import parse_cron

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
"""The simulated week starts on a Monday, 00:00 UTC."""
_ZERO_TIME = -np.inf


def _next_firings(
    expression: str, zone: ZoneInfo, moments: NDArray[np.float64]
) -> NDArray[np.float64]:
    """For each moment (seconds since the Unix epoch), the schedule's first firing after it."""
    schedule = parse_cron(expression)
    first = datetime.fromtimestamp(moments[0], UTC)
    last = datetime.fromtimestamp(moments[-1], UTC)
    firings = [moment.timestamp() for moment in schedule.fire_times(zone, first, last)]
    beyond = schedule.next_fire(zone, last)
    firings.append(_ZERO_TIME if beyond is None else beyond.timestamp())
    found = np.asarray(firings, dtype=np.float64)
    return found[np.searchsorted(found[:-1], moments, side="right")]


def window_open(
    start: str, end: str, timezone: str, minutes: int, since: datetime = EPOCH
) -> NDArray[np.bool_]:
    """Whether the window is open at the start of each minute from ``since`` (the
    simulation's ``EPOCH`` unless told), as KEDA's cron scaler would say at that moment."""
    zone = ZoneInfo(timezone)
    moments = since.timestamp() + 60.0 * np.arange(minutes, dtype=np.float64)
    next_start = _next_firings(start, zone, moments)
    next_end = _next_firings(end, zone, moments)
    between = (moments > next_start) & (moments < next_end)
    either = (moments > next_start) | (moments < next_end)
    return np.where(next_start < next_end, between, either)
