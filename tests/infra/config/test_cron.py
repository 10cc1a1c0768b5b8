"""One cron implementation (infra.config.cron) for the stack's checks and the simulator, held
to robfig/cron v3.0.1's own test tables (the parser KEDA 2.18's cron scaler uses, as
``cron.NewParser(Minute | Hour | Dom | Month | Dow)``) and to KEDA's cron scaler's window.

robfig's TestNext runs a six-field parser (seconds first); its cases whose seconds field is
0 are written here in five fields, and those with other seconds are left out. Its times
without a zone are in the test machine's local zone: here UTC. A case whose spec has a
``TZ=`` prefix takes the zone from it (KEDA gives the zone as the trigger's timezone)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from facts.autoscaling import Rules, ScaledObject, Trigger
from infra.config.cron import parse_cron
from infra.config.fields import Cron
from infra.simulation.cron import EPOCH, window_open
from infra.simulation.engine import queue_depth
from infra.simulation.fleet import CronWindow
from infra.simulation.run import cron_for
from tests.infra.simulation.support import fixed_fleet

CRON: TypeAdapter[str] = TypeAdapter(Cron)
EVERY_MINUTE = "* * * * *"
NY = "America/New_York"


def refusal(expression: str) -> str | None:
    """Why the stack's checks refuse the expression, or None."""
    try:
        CRON.validate_python(expression)
    except ValidationError as error:
        return str(error.errors()[0]["msg"]).removeprefix("Value error, ")
    return None


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def at(text: str) -> datetime:
    """A time with its offset, as robfig's tables write them (2012-03-11T00:00:00-0500)."""
    return datetime.fromisoformat(text).astimezone(UTC)


# (expression, whether robfig's parser (KEDA's options) accepts it, our refusal or None).
VALIDATION: list[tuple[str, bool, str | None]] = [
    # robfig/cron v3 spec_test.go TestErrors
    ("xyz", False, "'xyz' is not a cron expression: five fields"),
    ("60 0 * * *", False, "minute: 60 is outside 0-59"),
    ("0 60 * * *", False, "hour: 60 is outside 0-23"),
    ("0 0 * * XYZ", False, "day of week: 'XYZ' is not a number or a day name (SUN-SAT)"),
    # parser_test.go TestRange, each range in a field of its own
    ("5 * * * *", True, None),
    ("5-5 * * * *", True, None),
    ("5-7/2 * * * *", True, None),
    ("5-7/1 * * * *", True, None),
    ("*/2 * * * *", True, None),
    ("5--5 * * * *", False, "minute: '5--5' has more than one '-'"),
    ("0 0 * jan-x *", False, "month: 'x' is not a number or a month name (JAN-DEC)"),
    ("2-x * * * *", False, "minute: 'x' is not a number"),
    ("*/-12 * * * *", False, "minute: the step of '*/-12' must be a positive number"),
    ("*//2 * * * *", False, "minute: '*//2' has more than one '/'"),
    ("0 0 0 * *", False, "day of month: 0 is outside 1-31"),
    ("0 0 * * 7", False, "day of week: 7 is outside 0-6 (Sunday is 0 or SUN)"),
    ("0 0 * * 5-3", False, "day of week: the range '5-3' runs backwards"),
    ("*/0 * * * *", False, "minute: the step of '*/0' must be a positive number"),
    # parser_test.go TestParseScheduleErrors, TestStandardSpecSchedule, TestNoDescriptorParser
    ("5 j * * *", False, "hour: 'j' is not a number"),
    ("* * * *", False, "'* * * *' is not a cron expression: five fields"),
    ("", False, "'' is not a cron expression: five fields"),
    ("@every 5m", False, "'@every 5m' is not a cron expression: five fields"),
    ("@every 1m", False, "'@every 1m' is not a cron expression: five fields"),
    ("@unrecognized", False, "'@unrecognized' is not a cron expression: five fields"),
    # parser_test.go TestParseSchedule: robfig takes a zone prefix; the window's timezone here
    ("CRON_TZ=UTC  5 * * * *", True, "'CRON_TZ=UTC  5 * * * *': no CRON_TZ= or TZ= prefix"),
    # spec_test.go TestActivation's predefined schedules: KEDA's parser has no descriptors
    ("@hourly", False, "'@hourly' is not a cron expression: five fields"),
    ("@daily", False, "'@daily' is not a cron expression: five fields"),
    ("@monthly", False, "'@monthly' is not a cron expression: five fields"),
    # parser.go's grammar: what other crons take and robfig does not, and the reverse
    ("0 0 0 * * *", False, "'0 0 0 * * *' is not a cron expression: five fields"),
    ("0 0 L * *", False, "day of month: 'L' is not a number"),
    ("0 0 15W * *", False, "day of month: '15W' is not a number"),
    ("0 0 * * MON#2", False, "day of week: 'MON#2' is not a number or a day name"),
    ("0 0 * * 5L", False, "day of week: '5L' is not a number or a day name"),
    ("H 0 * * *", False, "minute: 'H' is not a number"),
    ("? ? ? ? ?", True, None),
    ("+5 007 * * *", True, None),
    ("0  8\t* * * ", True, None),
    ("1,,2 * * * *", True, None),
    ("*/100 * * * *", True, None),
    ("59/15 * * * *", True, None),
    ("0 0 * * sun-SAT", True, None),
    # robfig reads "*-5" as "*" and "," as no value at all (it never fires): refused here
    ("*-5 * * * *", True, "minute: '*-5': a range cannot start with '*'"),
    ("0 0 , * *", True, "day of month: ',' names no value"),
    # spec_test.go TestNext's unsatisfiable cases: robfig parses them, KEDA's window would
    # then never close (a start that never fires) or never open
    ("0 0 30 Feb ?", True, "'0 0 30 Feb ?' never fires: no day 30 in Feb"),
    ("0 0 31 Apr,Jun ?", True, "'0 0 31 Apr,Jun ?' never fires: no day 31 in Apr, Jun"),
    ("0 0 29 Feb ?", True, None),
]


@pytest.mark.parametrize(("expression", "robfig", "reason"), VALIDATION)
def test_expressions_are_checked_as_robfig_parses_them(
    expression: str, robfig: bool, reason: str | None
) -> None:
    found = refusal(expression)
    if reason is None:
        assert robfig, "accepted here, refused by KEDA"
        assert found is None, found
    else:
        assert found is not None, "refused here, accepted by the check"
        assert found.startswith(reason), found


# robfig/cron v3 spec_test.go TestActivation (the standard parser, five fields): whether the
# schedule fires at the time (its Next from a second before is that time).
ACTIVATION: list[tuple[str, str, bool]] = [
    # Every fifteen minutes.
    ("2012-07-09 15:00", "0/15 * * * *", True),
    ("2012-07-09 15:45", "0/15 * * * *", True),
    ("2012-07-09 15:40", "0/15 * * * *", False),
    # Every fifteen minutes, starting at 5 minutes.
    ("2012-07-09 15:05", "5/15 * * * *", True),
    ("2012-07-09 15:20", "5/15 * * * *", True),
    ("2012-07-09 15:50", "5/15 * * * *", True),
    # Named months
    ("2012-07-15 15:00", "0/15 * * Jul *", True),
    ("2012-07-15 15:00", "0/15 * * Jun *", False),
    # Everything set.
    ("2012-07-15 08:30", "30 08 ? Jul Sun", True),
    ("2012-07-15 08:30", "30 08 15 Jul ?", True),
    ("2012-07-16 08:30", "30 08 ? Jul Sun", False),
    ("2012-07-16 08:30", "30 08 15 Jul ?", False),
    # Test interaction of DOW and DOM. If both are restricted, then only one needs to match.
    ("2012-07-15 00:00", "* * 1,15 * Sun", True),
    ("2012-06-15 00:00", "* * 1,15 * Sun", True),
    ("2012-08-01 00:00", "* * 1,15 * Sun", True),
    ("2012-07-15 00:00", "* * */10 * Sun", True),  # robfig's "verifies #70"
    # However, if one has a star, then both need to match.
    ("2012-07-15 00:00", "* * * * Mon", False),
    ("2012-07-09 00:00", "* * 1,15 * *", False),
    ("2012-07-15 00:00", "* * 1,15 * *", True),
    ("2012-07-15 00:00", "* * */2 * Sun", True),
]


@pytest.mark.parametrize(("time", "spec", "fires"), ACTIVATION)
def test_robfigs_activation_table(time: str, spec: str, fires: bool) -> None:
    """The check accepts it; it fires at the time or not; and a simulated window from each
    minute to the spec's firings (``* * * * *`` to the spec: KEDA holds it open in the minute
    before each end) is open in the minute before."""
    moment = utc(time)
    assert refusal(spec) is None
    found = parse_cron(spec).next_fire(ZoneInfo("UTC"), moment - timedelta(seconds=1))
    assert (found == moment) is fires
    before = window_open(EVERY_MINUTE, spec, "UTC", 1, since=moment - timedelta(minutes=1))
    assert bool(before[0]) is fires


# robfig/cron v3 spec_test.go TestNext and TestNextWithTz: (zone, from, spec, next or None).
NEXT: list[tuple[str, datetime, str, datetime | None]] = [
    # Simple cases
    ("UTC", utc("2012-07-09 14:45"), "0/15 * * * *", utc("2012-07-09 15:00")),
    ("UTC", utc("2012-07-09 14:59"), "0/15 * * * *", utc("2012-07-09 15:00")),
    ("UTC", utc("2012-07-09 14:59:59"), "0/15 * * * *", utc("2012-07-09 15:00")),
    # Wrap around hours
    ("UTC", utc("2012-07-09 15:45"), "20-35/15 * * * *", utc("2012-07-09 16:20")),
    # Wrap around days
    ("UTC", utc("2012-07-09 23:46"), "*/15 * * * *", utc("2012-07-10 00:00")),
    ("UTC", utc("2012-07-09 23:45"), "20-35/15 * * * *", utc("2012-07-10 00:20")),
    # Wrap around months (the second and third: day of month OR day of week)
    ("UTC", utc("2012-07-09 23:35"), "0 0 9 Apr-Oct ?", utc("2012-08-09 00:00")),
    ("UTC", utc("2012-07-09 23:35"), "0 0 */5 Apr,Aug,Oct Mon", utc("2012-08-01 00:00")),
    ("UTC", utc("2012-07-09 23:35"), "0 0 */5 Oct Mon", utc("2012-10-01 00:00")),
    # Wrap around years
    ("UTC", utc("2012-07-09 23:35"), "0 0 * Feb Mon", utc("2013-02-04 00:00")),
    ("UTC", utc("2012-07-09 23:35"), "0 0 * Feb Mon/2", utc("2013-02-01 00:00")),
    # Wrap around minute, hour, day, month, and year
    ("UTC", utc("2012-12-31 23:59:45"), "* * * * *", utc("2013-01-01 00:00")),
    # Leap year
    ("UTC", utc("2012-07-09 23:35"), "0 0 29 Feb ?", utc("2016-02-29 00:00")),
    # Daylight savings time 2am EST (-5) -> 3am EDT (-4)
    (NY, at("2012-03-11T00:00:00-05:00"), "30 2 11 Mar ?", at("2013-03-11T02:30:00-04:00")),
    # hourly job
    (NY, at("2012-03-11T00:00:00-05:00"), "0 * * * ?", at("2012-03-11T01:00:00-05:00")),
    (NY, at("2012-03-11T01:00:00-05:00"), "0 * * * ?", at("2012-03-11T03:00:00-04:00")),
    (NY, at("2012-03-11T03:00:00-04:00"), "0 * * * ?", at("2012-03-11T04:00:00-04:00")),
    (NY, at("2012-03-11T04:00:00-04:00"), "0 * * * ?", at("2012-03-11T05:00:00-04:00")),
    # 1am nightly job
    (NY, at("2012-03-11T00:00:00-05:00"), "0 1 * * ?", at("2012-03-11T01:00:00-05:00")),
    (NY, at("2012-03-11T01:00:00-05:00"), "0 1 * * ?", at("2012-03-12T01:00:00-04:00")),
    # 2am nightly job (skipped)
    (NY, at("2012-03-11T00:00:00-05:00"), "0 2 * * ?", at("2012-03-12T02:00:00-04:00")),
    # Daylight savings time 2am EDT (-4) => 1am EST (-5)
    (NY, at("2012-11-04T00:00:00-04:00"), "30 2 04 Nov ?", at("2012-11-04T02:30:00-05:00")),
    (NY, at("2012-11-04T01:45:00-04:00"), "30 1 04 Nov ?", at("2012-11-04T01:30:00-05:00")),
    # hourly job
    (NY, at("2012-11-04T00:00:00-04:00"), "0 * * * ?", at("2012-11-04T01:00:00-04:00")),
    (NY, at("2012-11-04T01:00:00-04:00"), "0 * * * ?", at("2012-11-04T01:00:00-05:00")),
    (NY, at("2012-11-04T01:00:00-05:00"), "0 * * * ?", at("2012-11-04T02:00:00-05:00")),
    # 1am nightly job (runs twice)
    (NY, at("2012-11-04T00:00:00-04:00"), "0 1 * * ?", at("2012-11-04T01:00:00-04:00")),
    (NY, at("2012-11-04T01:00:00-04:00"), "0 1 * * ?", at("2012-11-04T01:00:00-05:00")),
    (NY, at("2012-11-04T01:00:00-05:00"), "0 1 * * ?", at("2012-11-05T01:00:00-05:00")),
    # 2am nightly job
    (NY, at("2012-11-04T00:00:00-04:00"), "0 2 * * ?", at("2012-11-04T02:00:00-05:00")),
    (NY, at("2012-11-04T02:00:00-05:00"), "0 2 * * ?", at("2012-11-05T02:00:00-05:00")),
    # 3am nightly job
    (NY, at("2012-11-04T00:00:00-04:00"), "0 3 * * ?", at("2012-11-04T03:00:00-05:00")),
    (NY, at("2012-11-04T03:00:00-05:00"), "0 3 * * ?", at("2012-11-05T03:00:00-05:00")),
    # Unsatisfiable
    ("UTC", utc("2012-07-09 23:35"), "0 0 30 Feb ?", None),
    ("UTC", utc("2012-07-09 23:35"), "0 0 31 Apr ?", None),
    # Monthly job
    (NY, at("2012-11-04T00:00:00-04:00"), "0 3 3 * ?", at("2012-12-03T03:00:00-05:00")),
    # Test the scenario of DST resulting in midnight not being a valid time (robfig #157)
    (
        "America/Sao_Paulo",
        at("2018-10-17T05:00:00-04:00"),
        "0 9 10 * ?",
        at("2018-11-10T06:00:00-05:00"),
    ),
    (
        "America/Sao_Paulo",
        at("2018-02-14T05:00:00-05:00"),
        "0 9 22 * ?",
        at("2018-02-22T07:00:00-05:00"),
    ),
    # TestNextWithTz (times at +05:30: India's zone)
    ("Asia/Kolkata", at("2016-01-03T13:09:03+05:30"), "14 14 * * *", at("2016-01-03T14:14+05:30")),
    ("Asia/Kolkata", at("2016-01-03T04:09:03+05:30"), "14 14 * * ?", at("2016-01-03T14:14+05:30")),
    ("Asia/Kolkata", at("2016-01-03T14:09:03+05:30"), "14 14 * * *", at("2016-01-03T14:14+05:30")),
    ("Asia/Kolkata", at("2016-01-03T14:00:00+05:30"), "14 14 * * ?", at("2016-01-03T14:14+05:30")),
]
# Where croniter on its own reads an expression otherwise (or refuses it): what robfig
# v3.0.1's Next gives (parser.go getRange: '?' is '*' in any field, a star keeps its mark
# with a step of 1 only, 5-5 is 5; spec.go dayMatches ORs the two day fields when neither
# has the mark), from Sunday 15 July 2012, 00:00.
ROBFIG_NOT_CRONITER: list[tuple[str, list[str]]] = [
    ("0 0 */1 * SUN", ["2012-07-22 00:00", "2012-07-29 00:00", "2012-08-05 00:00"]),
    ("0 0 1-31 * */2", ["2012-07-16 00:00", "2012-07-17 00:00", "2012-07-18 00:00"]),
    ("? 0 * * *", ["2012-07-15 00:01", "2012-07-15 00:02", "2012-07-15 00:03"]),
    ("5-5 0 * * *", ["2012-07-15 00:05", "2012-07-16 00:05", "2012-07-17 00:05"]),
]


@pytest.mark.parametrize(("spec", "firings"), ROBFIG_NOT_CRONITER)
def test_stars_steps_and_ranges_read_as_robfig_reads_them(spec: str, firings: list[str]) -> None:
    schedule, zone = parse_cron(spec), ZoneInfo("UTC")
    found = schedule.fire_times(zone, utc("2012-07-15 00:00"), utc(firings[-1]))
    assert found == [utc(firing) for firing in firings]


SHORT = 3 * 24 * 60
"""Minutes of a span the simulator is checked over whole; of a longer one, its ends."""


@pytest.mark.parametrize(("zone", "start", "spec", "expected"), NEXT)
def test_robfigs_next_table(
    zone: str, start: datetime, spec: str, expected: datetime | None
) -> None:
    """robfig's Next; the check accepts the spec unless it never fires; and in the simulator
    a window from each minute to the spec's firings is open only in the minute before each
    firing (KEDA: the next end no later than the next start)."""
    schedule = parse_cron(spec)
    assert schedule.next_fire(ZoneInfo(zone), start) == expected
    assert (refusal(spec) is None) is (expected is not None)
    since = start.replace(second=0)
    if expected is None:
        assert not window_open(EVERY_MINUTE, spec, zone, SHORT, since=since).any()
        return
    minutes = int((expected - since).total_seconds()) // 60
    if minutes <= SHORT:
        found = window_open(EVERY_MINUTE, spec, zone, minutes, since=since)
        assert np.flatnonzero(found).tolist() == [minutes - 1]
    else:
        ends = window_open(EVERY_MINUTE, spec, zone, 2, since=expected - timedelta(minutes=2))
        assert ends.tolist() == [False, True]
        assert not window_open(EVERY_MINUTE, spec, zone, 1, since=since)[0]


def opening_and_closing(flags: np.ndarray, since: datetime, zone: str) -> list[str]:
    """Each minute at which the window opens or closes, on the zone's clock."""
    changes = np.flatnonzero(np.diff(flags.astype(np.int8))) + 1
    return [
        (since + timedelta(minutes=int(m))).astimezone(ZoneInfo(zone)).strftime("%a %d %H:%M %Z")
        for m in changes
    ]


def test_the_day_of_month_or_the_day_of_week_opens_the_window() -> None:
    """``0 9 1 * MON`` to ``0 18 1 * MON``: on the 1st and on Mondays (the simulated month
    starts on Monday 5 January 2026; 1 February is a Sunday), not only on a Monday the 1st."""
    found = window_open("0 9 1 * MON", "0 18 1 * MON", "UTC", 28 * 24 * 60)
    assert opening_and_closing(found, EPOCH, "UTC") == [
        f"{day} 09:00 UTC" if hour == 9 else f"{day} 18:00 UTC"
        for day in ("Mon 05", "Mon 12", "Mon 19", "Mon 26", "Sun 01")
        for hour in (9, 18)
    ]


def test_0_9_1_mon_pre_scales_the_simulated_tier_on_the_1st_and_on_mondays() -> None:
    """A tier whose cron trigger (6 replicas) runs ``0 9 1 * MON`` to ``0 18 1 * MON``: its
    queue-depth controller asks for more than the floor at 10:00 on Mondays and on Sunday
    1 February, with no queue; not on a Tuesday, nor on a Monday evening."""
    rules = (Rules.from_spec(None, up=True), Rules.from_spec(None, up=False))
    tier = replace(
        fixed_fleet(100),
        scaled=ScaledObject(1, 10, (Trigger("peak", "cron", 6.0),), *rules),
        cron=(CronWindow("peak", "0 9 1 * MON", "0 18 1 * MON", "UTC"),),
    )
    open_now = cron_for(tier, 28 * 24 * 3600)

    def replicas(when: str) -> int:
        now = (utc(when) - EPOCH).total_seconds()
        return queue_depth(tier, open_now)(now, 1, 0, 0, 100.0)

    on = ["2026-01-05 10:00", "2026-01-12 10:00", "2026-01-26 10:00", "2026-02-01 10:00"]
    off = ["2026-01-13 10:00", "2026-01-12 19:00", "2026-01-31 10:00"]
    assert all(replicas(when) > 1 for when in on), [replicas(when) for when in on]
    assert [replicas(when) for when in off] == [1, 1, 1]


def test_daylight_saving_skips_and_repeats_as_robfig_fires() -> None:
    """New York, 2012: 02:30-02:45 does not happen on 11 March (02:00 became 03:00), and
    01:30-01:45 happens twice on 4 November (02:00 EDT became 01:00 EST)."""
    spring = at("2012-03-10T00:00:00-05:00")
    found = window_open("30 2 * * *", "45 2 * * *", NY, 3 * 24 * 60, since=spring)
    assert opening_and_closing(found, spring, NY) == [
        "Sat 10 02:30 EST", "Sat 10 02:45 EST", "Mon 12 02:30 EDT", "Mon 12 02:45 EDT"
    ]  # fmt: skip
    autumn = at("2012-11-04T00:00:00-04:00")
    found = window_open("30 1 * * *", "45 1 * * *", NY, 24 * 60, since=autumn)
    assert opening_and_closing(found, autumn, NY) == [
        "Sun 04 01:30 EDT", "Sun 04 01:45 EDT", "Sun 04 01:30 EST", "Sun 04 01:45 EST"
    ]  # fmt: skip


def test_the_window_is_open_while_the_next_end_comes_before_the_next_start() -> None:
    """KEDA's cron scaler (GetMetricsAndActivity) compares the next start with the next end:
    a weekday start with a daily end stays open over the weekend until Sunday's end
    (kedacore/keda issue #4677: "keep running till Sunday 22:10")."""
    zone = "Europe/Prague"
    found = window_open("30 6 * * 1-5", "10 22 * * *", zone, 7 * 24 * 60)
    weekdays = ("Mon 05", "Tue 06", "Wed 07", "Thu 08")
    assert opening_and_closing(found, EPOCH, zone) == [
        *(f"{day} {time} CET" for day in weekdays for time in ("06:30", "22:10")),
        "Fri 09 06:30 CET",
        "Sun 11 22:10 CET",
    ]


def test_the_shipped_weekday_windows_open_on_weekdays_in_their_zone() -> None:
    """prod's ``0 7 * * 1-5`` to ``0 19 * * 1-5`` in New York: the simulated week starts on
    Sunday 19:00 there, closed; then open 07:00-19:00 Monday to Friday."""
    found = window_open("0 7 * * 1-5", "0 19 * * 1-5", NY, 7 * 24 * 60)
    assert not found[0]
    assert opening_and_closing(found, EPOCH, NY) == [
        f"{day} {time} EST"
        for day in ("Mon 05", "Tue 06", "Wed 07", "Thu 08", "Fri 09")
        for time in ("07:00", "19:00")
    ]
