"""A simulation's picture: drawn, and each window's TTFT p95 read from the interactions
that started in it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from infra.cli import main
from infra.simulation import kernel
from infra.simulation.engine import Lane, simulate, static_peak
from infra.simulation.fleet import PREFILL_SECONDS
from infra.simulation.stats import p95_by_window
from tests.infra.simulation.support import fixed_fleet


def test_the_plot_is_drawn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    picture = tmp_path / "run.png"
    assert main(["simulate", "--stack", "dev", "--hours", "2", "--plot", str(picture)]) == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {picture}" in capsys.readouterr().out


def test_the_plot_reads_each_windows_ttft_p95_from_its_own_interactions() -> None:
    """A fixed fleet of 10 sessions: a quiet quarter hour, one that opens with a minute at
    three times its capacity (its backlog gone minutes later), one where nobody comes. Only
    the busy minute's arrivals wait; the others start at once and see the prefill alone;
    the empty window has no percentile."""
    tier = fixed_fleet(10)
    rate = np.concatenate([np.full(900, 0.5), np.full(60, 10.0), np.full(1740, 0.0)])
    run = simulate([Lane(tier, "static-peak", static_peak(tier))], rate[None, :], seed=3)
    p95 = p95_by_window(run, 0, kernel.WINDOW_TTFT)
    assert run.window_seconds == 900
    assert p95[0] == pytest.approx(PREFILL_SECONDS, rel=0.06)  # a window bin is 5.9% wide
    assert p95[1] > 10  # 600 arrive, 10 at a time for 3 s: most wait tens of seconds
    assert np.isnan(p95[2])  # nobody arrived


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (86_400, "24 hours"),
        (7 * 86_400, "7 days"),
        (2 * 3600 + 55 * 60, "2 hours 55 minutes"),  # not "2.91667 hours"
        (3600, "1 hour"),
        (90, "1 minute 30 seconds"),
    ],
)
def test_a_runs_length_is_said_as_people_say_it(seconds: int, said: str) -> None:
    from infra.simulation.report import duration

    assert duration(seconds) == said


def test_each_strategy_is_drawn_in_its_own_line_style() -> None:
    """Strategies that hold the same replicas (the utilisation HPA at the ceiling, static
    peak) still show apart."""
    from infra.simulation.engine import STRATEGIES
    from infra.simulation.report import STYLES

    assert sorted(STYLES) == sorted(STRATEGIES)
    assert len(set(STYLES.values())) == len(STRATEGIES)


def test_the_picture_shades_the_scheduled_windows_in_the_users_zone() -> None:
    """prod's weekday window, 07:00-19:00 New York, is 12:00-24:00 UTC on the simulated
    Monday (5 January 2026, standard time: UTC-5), and again on Tuesday."""
    from infra.simulation.fleet import fleet_models
    from infra.simulation.report import scheduled_spans, utc_offset_hours
    from infra.simulation.run import declare
    from tests.helpers import stack_values

    plan, registrations = declare("prod", stack_values("prod"))
    orchestrator = {m.name: m for m in fleet_models(plan, registrations)}["orchestrator"]
    assert scheduled_spans(orchestrator, 2 * 1440) == [(12.0, 24.0), (36.0, 48.0)]
    assert utc_offset_hours("America/New_York") == -5
    assert utc_offset_hours("UTC") == 0
