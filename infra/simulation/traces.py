"""Traffic to replay: new interactions per second for each tier, second by second.

- ``diurnal``: the seed's business-hours pattern. Weekdays ramp up from 07:00 to a plateau
  at the tier's expected concurrency from 09:00 to 17:00 and down by 19:00; nights sit at
  a tenth of the peak ("10x traffic during business hours and near-zero overnight"),
  weekends at a quarter of the weekday peak by day. Seeded noise (each five minutes within
  ±10%) and bursts (a few a weekday of up to +50% for 5-15 minutes) ride on top.
- ``flat``: the peak throughout.
- a CSV file: ``second,<tier>,<tier>...``; each row the arrival rate of each tier from that
  second on (a step function).

Concurrency becomes an arrival rate by Little's law: rate = concurrency / serviceSeconds.
The simulated week starts on a Monday at 00:00 UTC; business hours are those of a time zone
(by default the stack's own scheduled windows', else UTC).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from infra.config import ConfigError

DAY = 86_400
NIGHT_SHARE = 0.1
WEEKEND_SHARE = 0.25
NOISE = 0.1
NOISE_SECONDS = 300
MAX_CSV_BYTES = 64 * 2**20

Rates = dict[str, NDArray[np.float64]]


def _weekday_shape(seconds: NDArray[np.float64]) -> NDArray[np.float64]:
    """Share of the peak at each second of a weekday: night, ramps, plateau."""
    hours = seconds / 3600.0
    up = np.clip((hours - 7.0) / 2.0, 0.0, 1.0)
    down = np.clip((19.0 - hours) / 2.0, 0.0, 1.0)
    day = np.minimum(up, down)
    smooth = 0.5 - 0.5 * np.cos(np.pi * day)
    return NIGHT_SHARE + (1.0 - NIGHT_SHARE) * smooth


def local_seconds(seconds: int, timezone: str) -> NDArray[np.float64]:
    """Each second of the run on the wall clock of ``timezone`` (the run starts on a Monday,
    00:00 UTC; daylight saving is applied hour by hour)."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from infra.simulation.cron import EPOCH

    zone = ZoneInfo(timezone)
    hours = math.ceil(seconds / 3600)
    offsets = np.array(
        [
            (EPOCH + timedelta(hours=h)).astimezone(zone).utcoffset().total_seconds()  # type: ignore[union-attr]
            for h in range(hours)
        ]
    )
    shifted: NDArray[np.float64] = np.arange(seconds, dtype=np.float64)
    shifted += np.repeat(offsets, 3600)[:seconds]
    return shifted


def diurnal(peaks: Mapping[str, float], seconds: int, seed: int, timezone: str = "UTC") -> Rates:
    """The business-hours pattern for each tier, peaking at its rate (interactions/s), on
    the wall clock of ``timezone``."""
    rng = np.random.default_rng(seed)
    t = (
        local_seconds(seconds, timezone)
        if timezone != "UTC"
        else np.arange(seconds, dtype=np.float64)
    )
    day = (t // DAY).astype(np.int64)
    shape = _weekday_shape(t % DAY)
    weekend = (day % 7) >= 5
    shape = np.where(weekend, np.minimum(shape, WEEKEND_SHARE), shape)
    rates: Rates = {}
    for tier, peak in peaks.items():
        windows = math.ceil(seconds / NOISE_SECONDS)
        noise = 1.0 + rng.uniform(-NOISE, NOISE, windows)
        tier_shape = shape * np.repeat(noise, NOISE_SECONDS)[:seconds]
        for start_day in range(math.ceil(seconds / DAY)):
            if start_day % 7 >= 5:
                continue
            for _ in range(int(rng.integers(2, 5))):
                begin = start_day * DAY + int(rng.uniform(9, 17) * 3600)
                length = int(rng.uniform(300, 900))
                tier_shape[begin : begin + length] *= 1.0 + rng.uniform(0.2, 0.5)
        rates[tier] = peak * tier_shape
    return rates


def flat(peaks: Mapping[str, float], seconds: int) -> Rates:
    return {tier: np.full(seconds, peak, dtype=np.float64) for tier, peak in peaks.items()}


def _bad(path: Path, line: int, reason: str) -> ConfigError:
    return ConfigError([(f"{path}:{line}", reason)])


def read_csv(
    path: Path, tiers: Sequence[str], seconds: int | None, counts: bool = False
) -> tuple[Rates, int]:
    """A trace file: the rates of each named tier as a step function; tiers the file does
    not name get none. Returns the rates and the seconds they cover (``seconds``, or the
    last row's second plus one). Raises ConfigError naming the line.

    With ``counts`` each row is the interactions that arrive in that one second (whole
    numbers, seconds without a row have none), replayed as given rather than drawn."""
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise _bad(path, 0, f"over {MAX_CSV_BYTES // 2**20} MB")
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError([(str(path), f"cannot read the trace: {error.strerror}")]) from None
    except UnicodeDecodeError:
        raise _bad(path, 1, "not UTF-8 text") from None
    rows = list(csv.reader(text.splitlines()))
    if not rows or not rows[0] or rows[0][0].strip() != "second":
        raise _bad(path, 1, "the header must be second,<tier>,<tier>...")
    header = [name.strip() for name in rows[0][1:]]
    for name in header:
        if name not in tiers:
            raise _bad(path, 1, f"no tier {name!r} in the stack ({', '.join(tiers)})")
    if len(set(header)) != len(header):
        raise _bad(path, 1, "a tier appears twice")
    steps: list[tuple[int, list[float]]] = []
    for line, row in enumerate(rows[1:], start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(header) + 1:
            raise _bad(path, line, f"{len(row)} fields; the header has {len(header) + 1}")
        try:
            second = int(row[0])
            values = [float(cell) for cell in row[1:]]
        except ValueError:
            raise _bad(path, line, "second must be a whole number, rates numbers") from None
        if second < 0 or (steps and second <= steps[-1][0]) or (not steps and second != 0):
            raise _bad(path, line, "seconds start at 0 and increase")
        if any(not math.isfinite(v) or v < 0 or v > 1e6 for v in values):
            raise _bad(path, line, "rates are interactions per second, 0 to 1,000,000")
        if counts and any(v != int(v) for v in values):
            raise _bad(path, line, "counts are whole interactions arriving in that second")
        steps.append((second, values))
    if not steps:
        raise _bad(path, 2, "no rows")
    total = seconds if seconds is not None else steps[-1][0] + 1
    rates: Rates = {name: np.zeros(total) for name in header}
    for index, (second, values) in enumerate(steps):
        end = steps[index + 1][0] if index + 1 < len(steps) else total
        if counts:
            end = min(second + 1, total)
        for name, value in zip(header, values, strict=True):
            rates[name][second:end] = value
    return rates, total
