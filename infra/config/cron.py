"""Cron expressions as KEDA's cron trigger reads and fires them, for the stack's checks and
the simulator alike.

KEDA 2.18's cron scaler parses ``start`` and ``end`` with robfig/cron v3.0.1's
``cron.NewParser(Minute | Hour | Dom | Month | Dow)`` and asks each schedule for its next
firing after now, on the wall clock of the trigger's time zone. That parser takes exactly:

- five fields separated by whitespace: minute 0-59, hour 0-23, day of month 1-31, month
  1-12 or JAN-DEC, day of week 0-6 or SUN-SAT (names in any case; no 7 for Sunday);
- in each field a comma-separated list of ``*`` or ``?`` (alike, in any field), ``N``,
  ``N-M`` or either of those with ``/STEP``; ``N/STEP`` runs from N to the field's end;
- nothing else: no seconds field, no ``@daily`` or ``@every`` (KEDA leaves out robfig's
  ``Descriptor`` option), no ``L``, ``W``, ``#`` or ``H``, no backwards range such as 5-2.

What it fires on:

- robfig's day rule (``dayMatches`` in spec.go): when the day of month or the day of week
  is a star (``*`` or ``?``, with no step or a step of 1), a day must match both; when
  both are restricted, either will do: ``0 9 1 * MON`` fires on the 1st and on Mondays;
- daylight saving time as robfig's ``Next`` walks real time: a wall-clock time that a
  spring-forward skips never fires that day; one that a fall-back repeats fires twice.
  (In zones whose clocks change at midnight or by half an hour, America/Havana or
  Australia/Lord_Howe, robfig's walk itself slips by a day or half an hour around a
  change; this module keeps to the wall clock there.)

croniter finds the hours each schedule fires in, given each field's values rather than the
expression as written (on its own it refuses ``?`` outside the day fields, reads ``5-5`` as
the whole field, and its ``day_or`` reads ``*/1`` as a restricted day and ``1-31`` beside a
``*/2`` as a star, the reverse of robfig); this module adds the minutes, robfig's day rule
and the daylight saving rule above.

Refused here although robfig's parser takes them: a ``CRON_TZ=`` or ``TZ=`` prefix (the
window's ``timezone`` says the zone), ``*-N`` (robfig drops the ``-N``), and what never
fires, for which KEDA would hold a window open (a start that never fires) or never open it:
a field of commas only (``parse_cron``), a day of month in none of the months
(``never_fires``: ``0 0 30 2 *``).
"""

from __future__ import annotations

import calendar
import heapq
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter_range

NAMES = ("minute", "hour", "day of month", "month", "day of week")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_BOUNDS: tuple[tuple[int, int, dict[str, int]], ...] = (
    (0, 59, {}),
    (0, 23, {}),
    (1, 31, {}),
    (1, 12, {name: number + 1 for number, name in enumerate(_MONTHS)}),
    (0, 6, {name: number for number, name in enumerate(_DAYS)}),
)
_KINDS = ("a number", "a number", "a number", "a number or a month name (JAN-DEC)",
          "a number or a day name (SUN-SAT)")  # fmt: skip
DAY_OF_MONTH, MONTH, DAY_OF_WEEK = 2, 3, 4
FIVE_FIELDS = (
    "is not a cron expression: five fields (minute hour day-of-month month day-of-week) "
    "separated by spaces"
)
# What Go's strings.Fields splits on (unicode.IsSpace), no more: Python's str.split()
# also splits on \x1c-\x1f, which robfig reads as part of a field.
_SPACE = re.compile("[\t\n\v\f\r \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
_INTEGER = re.compile(r"[+-]?[0-9]+")
"""What Go's strconv.Atoi reads: an optional sign and ASCII digits, up to Go's int."""
_GO_INT_MAX = 2**63 - 1
YEARS_AHEAD = 5
"""robfig's ``Next`` gives up (the zero time) after the fifth year after the current one."""
_FOLDS = timedelta(days=1)
"""More than a zone's clock has ever been put back since 1970 (7 hours: Antarctica/Vostok
in 1994): the wall-clock times of a span's instants lie no further outside its ends."""


@dataclass(frozen=True)
class CronField:
    """One field's values, and whether it holds a star (``*`` or ``?``, step 1)."""

    values: frozenset[int]
    star: bool


@dataclass(frozen=True)
class CronSchedule:
    """A parsed expression; ``fire_times`` and ``next_fire`` say when it fires."""

    expression: str
    fields: tuple[CronField, ...]

    @property
    def day_or(self) -> bool:
        """robfig's day rule: either day field will do when neither is a star."""
        return not (self.fields[DAY_OF_MONTH].star or self.fields[DAY_OF_WEEK].star)

    def never_fires(self) -> str | None:
        """Why no day ever matches (the day of month is in none of the months), or None."""
        days, months = self.fields[DAY_OF_MONTH], self.fields[MONTH]
        if self.day_or or days.star or not self.fields[DAY_OF_WEEK].star:
            return None  # a restricted day of week comes round in every month
        longest = max(calendar.monthrange(2024, month)[1] for month in months.values)
        if min(days.values) <= longest:
            return None
        names = ", ".join(_MONTHS[month - 1].title() for month in sorted(months.values))
        return f"never fires: no day {min(days.values)} in {names}"

    def _croniter_expressions(self) -> list[str]:
        """The hours it fires in, as day-of-month-AND-day-of-week expressions for croniter
        (the union of two when either day will do), at minute 0."""
        texts = ["0"]
        for field, (low, high, _) in zip(self.fields[1:], _BOUNDS[1:], strict=True):
            full = field.values == frozenset(range(low, high + 1))
            texts.append("*" if full else ",".join(map(str, sorted(field.values))))
        if not self.day_or:
            return [" ".join(texts)]
        by_date = [*texts[:DAY_OF_WEEK], "*"]
        by_weekday = [*texts[:DAY_OF_MONTH], "*", *texts[MONTH:]]
        return [" ".join(by_date), " ".join(by_weekday)]

    def _wall_times(self, first: datetime, last: datetime) -> Iterator[datetime]:
        """Naive wall-clock times from ``first`` to ``last`` at which the fields match, in
        order, found as they are asked for."""
        minutes = [timedelta(minutes=minute) for minute in sorted(self.fields[0].values)]
        hour = first.replace(minute=0, second=0, microsecond=0)
        hours = heapq.merge(
            *(
                croniter_range(hour, last, expression, ret_type=datetime, day_or=False)
                for expression in self._croniter_expressions()
            )
        )
        for start in hours:
            yield from (start + minute for minute in minutes if first <= start + minute <= last)

    @staticmethod
    def _moments(wall: datetime, zone: ZoneInfo) -> list[datetime]:
        """The instants (UTC) at which ``zone``'s clock shows ``wall``: none in a gap that
        daylight saving skips, two in an hour it repeats (PEP 495: ``fold`` 0 reads a wall
        time with the offset before a change, 1 with the offset after it)."""
        local = wall.replace(tzinfo=zone)
        before, after = local.utcoffset(), local.replace(fold=1).utcoffset()
        assert before is not None
        assert after is not None
        if before < after:
            return []  # the clock jumped forward over it
        return sorted({(wall - offset).replace(tzinfo=UTC) for offset in (before, after)})

    def fire_times(self, zone: ZoneInfo, after: datetime, until: datetime) -> list[datetime]:
        """The instants (UTC) in ``(after, until]`` at which it fires on ``zone``'s clock."""
        after, until = after.astimezone(UTC), until.astimezone(UTC)
        first = after.astimezone(zone).replace(tzinfo=None) - _FOLDS
        last = until.astimezone(zone).replace(tzinfo=None) + _FOLDS
        found: set[datetime] = set()
        for wall in self._wall_times(first, last):
            found.update(m for m in self._moments(wall, zone) if after < m <= until)
        return sorted(found)

    def next_fire(self, zone: ZoneInfo, after: datetime) -> datetime | None:
        """The first firing after ``after`` (robfig's ``Next`` on ``zone``'s clock), or None
        where robfig gives the zero time: none by the end of the fifth year ahead."""
        after = after.astimezone(UTC)
        start = after.astimezone(zone).replace(tzinfo=None)
        limit = datetime(start.year + YEARS_AHEAD + 1, 1, 1) - timedelta(minutes=1)
        best: tuple[datetime, datetime] | None = None  # (instant, wall)
        for wall in self._wall_times(start - _FOLDS, limit):
            if best is not None and wall > best[1] + _FOLDS:
                break  # no later wall-clock time is an earlier instant
            for moment in self._moments(wall, zone):
                if after < moment and (best is None or moment < best[0]):
                    best = (moment, wall)
        return None if best is None else best[0]


def _number(text: str, index: int) -> int:
    named = _BOUNDS[index][2].get(text.lower())
    if named is not None:
        return named
    if not _INTEGER.fullmatch(text):
        raise ValueError(f"{NAMES[index]}: {text!r} is not {_KINDS[index]}")
    return int(text)


def _term(text: str, index: int) -> CronField:
    """One item of a field's list, as robfig's ``getRange`` reads it."""
    what = NAMES[index]
    low, high, _ = _BOUNDS[index]
    span, *steps = text.split("/")
    if len(steps) > 1:
        raise ValueError(f"{what}: {text!r} has more than one '/'")
    bounds = span.split("-")
    star = bounds[0] in ("*", "?")
    if star:
        if len(bounds) > 1:
            raise ValueError(f"{what}: {text!r}: a range cannot start with {bounds[0]!r}")
        start, end = low, high
    elif len(bounds) > 2:
        raise ValueError(f"{what}: {text!r} has more than one '-'")
    else:
        start = _number(bounds[0], index)
        end = _number(bounds[1], index) if len(bounds) == 2 else start
    step = 1
    if steps:
        if not _INTEGER.fullmatch(steps[0]) or not 0 < int(steps[0]) <= _GO_INT_MAX:
            raise ValueError(f"{what}: the step of {text!r} must be a positive number")
        step = int(steps[0])
        end = high if len(bounds) == 1 else end
        star = star and step == 1
    for value in (start, end):
        if not low <= value <= high:
            hint = " (Sunday is 0 or SUN)" if index == DAY_OF_WEEK and value == 7 else ""
            raise ValueError(f"{what}: {value} is outside {low}-{high}{hint}")
    if end < start:
        raise ValueError(f"{what}: the range {span!r} runs backwards")
    return CronField(frozenset(range(start, end + 1, step)), star)


def _field(text: str, index: int) -> CronField:
    """A field: its comma-separated items (robfig skips empty ones)."""
    terms = [_term(item, index) for item in text.split(",") if item]
    if not terms:
        raise ValueError(f"{NAMES[index]}: {text!r} names no value")
    return CronField(
        frozenset().union(*(term.values for term in terms)), any(term.star for term in terms)
    )


def parse_cron(expression: str) -> CronSchedule:
    """An expression as KEDA's cron trigger parses it; ValueError names what is wrong."""
    if expression.startswith(("CRON_TZ=", "TZ=")):
        raise ValueError(
            f"{expression!r}: no CRON_TZ= or TZ= prefix here: the window's timezone says "
            "the zone of both expressions"
        )
    fields = [text for text in _SPACE.split(expression) if text]
    if len(fields) != len(NAMES):
        hint = " (KEDA's cron trigger takes no @ descriptors)" if expression.startswith("@") else ""
        raise ValueError(f"{expression!r} {FIVE_FIELDS}{hint}")
    return CronSchedule(expression, tuple(_field(text, index) for index, text in enumerate(fields)))
