"""The load a simulation replays: the diurnal trace in the users' time zone, and trace
files validated like a stack file (a bad line named, exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from infra.cli import main
from infra.config import ConfigError
from infra.simulation.traces import diurnal, read_csv


def test_the_diurnal_trace_peaks_by_day_and_sleeps_by_night() -> None:
    week = diurnal({"t": 100.0}, 7 * 86_400, seed=1)["t"]

    def hour(day: int, h: int) -> float:
        return float(week[day * 86_400 + h * 3600 : day * 86_400 + (h + 1) * 3600].mean())

    assert hour(0, 12) == pytest.approx(100, rel=0.25)  # Monday noon, noise and bursts on top
    assert hour(0, 3) == pytest.approx(10, rel=0.15)  # the night trough, a tenth
    assert hour(5, 12) == pytest.approx(25, rel=0.15)  # Saturday
    assert np.array_equal(week, diurnal({"t": 100.0}, 7 * 86_400, seed=1)["t"])


@pytest.mark.parametrize(
    ("text", "where", "reason"),
    [
        ("time,assistant\n0,1\n", ":1", "the header must be second,<tier>,<tier>..."),
        ("second,nobody\n0,1\n", ":1", "no tier 'nobody' in the stack (assistant)"),
        ("second,assistant\n0,1\n0,2\n", ":3", "seconds start at 0 and increase"),
        ("second,assistant\n5,1\n", ":2", "seconds start at 0 and increase"),
        ("second,assistant\n0,-1\n", ":2", "rates are interactions per second, 0 to 1,000,000"),
        ("second,assistant\n0,1,2\n", ":2", "3 fields; the header has 2"),
        ("second,assistant\n0,nan\n", ":2", "rates are interactions per second, 0 to 1,000,000"),
    ],
)
def test_a_bad_trace_names_its_line(tmp_path: Path, text: str, where: str, reason: str) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        read_csv(path, ["assistant"], None)
    ((at, said),) = raised.value.problems
    assert (at, said) == (f"{path}{where}", reason)


def test_a_trace_file_is_a_step_function_and_exits_2_when_bad(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("second,assistant\n0,2\n1800,20\n", encoding="utf-8")
    rates, seconds = read_csv(path, ["assistant"], 3600)
    assert seconds == 3600
    assert (rates["assistant"][:1800] == 2).all()
    assert (rates["assistant"][1800:] == 20).all()
    status = main(["simulate", "--stack", "dev", "--trace", str(path), "--hours", "1", "--json"])
    assert status == 0
    interactions = json.loads(capsys.readouterr().out)["strategies"]["static-peak"]["tiers"][0]
    assert interactions["interactions"] == pytest.approx(1800 * 2 + 1800 * 20, rel=0.02)
    path.write_text("second,assistant\n0,1\n0,2\n", encoding="utf-8")
    assert main(["simulate", "--stack", "dev", "--trace", str(path)]) == 2
    assert f"{path}:3: seconds start at 0 and increase" in capsys.readouterr().err


def test_business_hours_follow_the_users_time_zone() -> None:
    """New York's noon is 17:00 UTC in January; at 12:00 UTC it is 07:00 there, night."""
    week = diurnal({"t": 100.0}, 86_400, seed=1, timezone="America/New_York")["t"]
    assert week[17 * 3600 : 18 * 3600].mean() == pytest.approx(100, rel=0.25)
    assert week[11 * 3600 : 12 * 3600].mean() == pytest.approx(10, rel=0.15)


def test_a_trace_of_counts_is_replayed_as_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--trace-counts: each row is the interactions arriving in that second, replayed as
    given (no second Poisson draw): a run counts exactly the file's total, at one-second
    steps and at tenths of a second alike; a second without a row has none."""
    path = tmp_path / "counts.csv"
    rows = "".join(f"{second},{second % 7}\n" for second in range(0, 600, 2))
    path.write_text("second,assistant\n" + rows, encoding="utf-8")
    rates, seconds = read_csv(path, ["assistant"], None, counts=True)
    assert seconds == 599
    assert rates["assistant"][1] == 0 and rates["assistant"][4] == 4  # noqa: PT018
    total = sum(second % 7 for second in range(0, 600, 2))
    for step in ("1", "0.1"):
        argv = ["simulate", "--stack", "dev", "--trace", str(path), "--trace-counts",
                "--strategies", "static-peak", "--step", step, "--json"]  # fmt: skip
        assert main(argv) == 0
        tier = json.loads(capsys.readouterr().out)["strategies"]["static-peak"]["tiers"][0]
        assert tier["interactions"] == total, step
    path.write_text("second,assistant\n0,1.5\n", encoding="utf-8")
    assert main(["simulate", "--stack", "dev", "--trace", str(path), "--trace-counts"]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2: counts are whole interactions arriving in that second" in err
    assert main(["simulate", "--stack", "dev", "--trace-counts"]) == 2
    assert "--trace-counts: replays a CSV trace of counts, not diurnal" in capsys.readouterr().err
