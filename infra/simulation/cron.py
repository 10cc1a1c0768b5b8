"""When a KEDA cron trigger's window is open, minute by minute: a start and an end
expression (five fields, as robfig/cron parses them) in an IANA time zone. KEDA's cron
scaler is active between a start firing and the next end firing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from numpy.typing import NDArray

EPOCH = datetime(2026, 1, 5, tzinfo=UTC)
"""The simulated week starts on a Monday, 00:00 UTC."""
_RANGES = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 6))
_NAMES: tuple[dict[str, int], ...] = (
    {},
    {},
    {},
    {
        m: i + 1
        for i, m in enumerate(
            ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
        )
    },
    {d: i for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])},
)


def _value(text: str, field: int) -> int:
    upper = text.upper()
    return _NAMES[field][upper] if upper in _NAMES[field] else int(text)


def _field(text: str, field: int) -> frozenset[int]:
    low, high = _RANGES[field]
    found: set[int] = set()
    for part in text.split(","):
        body, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if body in ("*", "?"):
            start, end = low, high
        elif "-" in body:
            first, last = body.split("-", 1)
            start, end = _value(first, field), _value(last, field)
        else:
            start = _value(body, field)
            end = high if step_text else start
        found.update(range(start, end + 1, step))
    if field == 4 and 7 in found:
        found.add(0)
    return frozenset(found)


def _matches(fields: tuple[frozenset[int], ...], moment: datetime) -> bool:
    minute, hour, dom, month, dow = fields
    weekday = (moment.weekday() + 1) % 7  # cron: Sunday 0
    return (
        moment.minute in minute
        and moment.hour in hour
        and moment.day in dom
        and moment.month in month
        and weekday in dow
    )


def window_open(start: str, end: str, timezone: str, minutes: int) -> NDArray[np.bool_]:
    """Whether the window is open in each minute of the simulation (from ``EPOCH``)."""
    zone = ZoneInfo(timezone)
    starts = tuple(_field(text, i) for i, text in enumerate(start.split()))
    ends = tuple(_field(text, i) for i, text in enumerate(end.split()))
    warmup = 7 * 24 * 60  # a week before, so a window open at the start is known open
    is_open = False
    found = np.zeros(minutes, dtype=bool)
    for index in range(-warmup, minutes):
        moment = (EPOCH + timedelta(minutes=index)).astimezone(zone)
        if _matches(starts, moment):
            is_open = True
        if _matches(ends, moment):
            is_open = False
        if index >= 0:
            found[index] = is_open
    return found
