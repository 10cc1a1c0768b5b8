"""A simulation as people and pipelines read it: a compact table, JSON in the shape
docs/commands.md gives, and a picture (``--plot``) of each tier over time under each
strategy."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from infra.simulation import kernel
from infra.simulation.run import Simulation
from infra.simulation.stats import LaneStats, fleet_sla, p95_by_window
from infra.simulation.suggest import Advice


def _round(value: float, places: int = 3) -> float:
    return round(value, places)


def _tier_json(stats: LaneStats) -> dict[str, Any]:
    return {
        "tier": stats.tier,
        "interactions": stats.interactions,
        "cost": round(stats.cost, 2),
        "gpuHours": _round(stats.gpu_hours, 1),
        "maxReplicas": stats.max_replicas,
        "queueWaitMeanSeconds": _round(stats.queue_wait_mean),
        "queueWaitP50Seconds": _round(stats.queue_wait_p50),
        "queueWaitP95Seconds": _round(stats.queue_wait_p95),
        "queueWaitP99Seconds": _round(stats.queue_wait_p99),
        "ttftP50Seconds": _round(stats.ttft_p50),
        "ttftP95Seconds": _round(stats.ttft_p95),
        "ttftP99Seconds": _round(stats.ttft_p99),
        "tpotP50Seconds": _round(stats.tpot_p50, 4),
        "tpotP95Seconds": _round(stats.tpot_p95, 4),
        "tpotP99Seconds": _round(stats.tpot_p99, 4),
        "e2eMeanSeconds": _round(stats.e2e_mean),
        "e2eP50Seconds": _round(stats.e2e_p50),
        "e2eP95Seconds": _round(stats.e2e_p95),
        "e2eP99Seconds": _round(stats.e2e_p99),
        "slaAttainment": _round(stats.sla_attainment, 4),
        "expired": stats.expired,
    }


def _fleet(stats: list[LaneStats]) -> tuple[float, float, float]:
    return sum(s.cost for s in stats), sum(s.gpu_hours for s in stats), fleet_sla(stats)


def simulation_json(simulation: Simulation) -> dict[str, Any]:
    strategies = {}
    for strategy in simulation.strategies:
        stats = simulation.of(strategy)
        cost, gpu_hours, attainment = _fleet(stats)
        strategies[strategy] = {
            "cost": round(cost, 2),
            "gpuHours": _round(gpu_hours, 1),
            "slaAttainment": _round(attainment, 4),
            "tiers": [_tier_json(s) for s in stats],
        }
    return {"stack": simulation.stack, "seconds": simulation.seconds, "strategies": strategies}


def provisioners_json(runs: Mapping[str, Simulation]) -> dict[str, Any]:
    """Each provisioner's simulation of one stack, as ``simulation_json`` gives it."""
    first = next(iter(runs.values()))
    return {
        "stack": first.stack,
        "seconds": first.seconds,
        "provisioners": {name: simulation_json(run)["strategies"] for name, run in runs.items()},
    }


def provisioners_text(runs: Mapping[str, Simulation]) -> str:
    """One table: each strategy and tier under each provisioner, side by side; then each
    provisioner's own report."""
    from infra.report import table

    first = next(iter(runs.values()))
    lines = [
        f"stack {first.stack}: {duration(first.seconds)} simulated under {' and '.join(runs)}",
        "",
    ]
    headers = ["strategy", "tier"]
    for name in runs:
        headers += [f"{name}: SLA met", "cost $"]
    rows: list[list[object]] = []
    for strategy in first.strategies:
        each = [run.of(strategy) for run in runs.values()]
        for index, tier in enumerate(first.of(strategy)):
            row: list[object] = [strategy, tier.tier]
            for stats in each:
                row += [f"{stats[index].sla_attainment:.1%}", f"{stats[index].cost:,.2f}"]
            rows.append(row)
        row = [strategy, "fleet"]
        for stats in each:
            cost, _, attainment = _fleet(stats)
            row += [f"{attainment:.1%}", f"{cost:,.2f}"]
        rows.append(row)
    lines.append(table(headers, rows))
    for name, run in runs.items():
        lines += ["", f"--- {name} ---", simulation_text(run)]
    return "\n".join(lines)


def simulation_text(simulation: Simulation) -> str:
    """Two tables: what each strategy met and cost per tier; then its latencies."""
    from infra.report import table

    length = duration(simulation.seconds)
    lines = [f"stack {simulation.stack}: {length} simulated, second by second", ""]
    rows: list[list[object]] = []
    latencies: list[list[object]] = []
    for strategy in simulation.strategies:
        stats = simulation.of(strategy)
        for s in stats:
            met = f"{s.sla_attainment:.1%}"
            rows.append([strategy, s.tier, met, f"{s.queue_wait_p95:.1f}", s.max_replicas,
                         f"{s.gpu_hours:,.0f}", f"{s.cost:,.2f}", s.expired])  # fmt: skip
            ttft, tpot, e2e = (s.ttft_p50, s.ttft_p95, s.ttft_p99), (s.tpot_p50, s.tpot_p95,
                               s.tpot_p99), (s.e2e_p50, s.e2e_p95, s.e2e_p99)  # fmt: skip
            latencies.append([strategy, s.tier, *(f"{v:.2f}" for v in ttft),
                              *(f"{1000 * v:.1f}" for v in tpot),
                              *(f"{v:.1f}" for v in e2e)])  # fmt: skip
        cost, gpu_hours, attainment = _fleet(stats)
        expired = sum(s.expired for s in stats)
        rows.append([strategy, "fleet", f"{attainment:.1%}", "", "", f"{gpu_hours:,.0f}",
                     f"{cost:,.2f}", expired])  # fmt: skip
    headers = ["strategy", "tier", "SLA met", "wait p95 s", "max replicas", "GPU-hours",
               "cost $", "expired"]  # fmt: skip
    lines += [table(headers, rows), "", "latencies of the interactions that started:", ""]
    headers = ["strategy", "tier", "TTFT p50 s", "p95", "p99", "TPOT p50 ms", "p95", "p99",
               "end-to-end p50 s", "p95", "p99"]  # fmt: skip
    lines.append(table(headers, latencies))
    return "\n".join(lines)


def duration(seconds: int) -> str:
    """A run's length as people say it: 7 days, 24 hours, 2 hours 55 minutes, 90 seconds
    as 1 minute 30 seconds."""
    if seconds >= 2 * 86_400 and seconds % 86_400 == 0:
        return f"{seconds // 86_400} days"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    parts = ((hours, "hour"), (minutes, "minute"), (secs, "second"))
    said = [f"{count} {unit}{'s' if count != 1 else ''}" for count, unit in parts if count]
    return " ".join(said) or "0 seconds"


def scheduled_spans(tier: Any, minutes: int) -> list[tuple[float, float]]:
    """The hours (from the run's start) during which any of the tier's scheduled windows
    holds it at its predicted peak, as (start, end) pairs."""
    import numpy as np

    from infra.simulation.cron import window_open

    held = np.zeros(minutes, dtype=bool)
    for window in tier.cron:
        held |= window_open(window.start, window.end, window.timezone, minutes)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], held.astype(np.int8), [0]])))
    return [(float(a) / 60, float(b) / 60) for a, b in zip(edges[::2], edges[1::2], strict=True)]


def utc_offset_hours(timezone: str) -> float:
    """The zone's offset from UTC at the run's start (the simulated Monday)."""
    from zoneinfo import ZoneInfo

    from infra.simulation.cron import EPOCH

    offset = EPOCH.astimezone(ZoneInfo(timezone)).utcoffset()
    return 0.0 if offset is None else offset.total_seconds() / 3600


STYLES = {"queue-depth": "-", "gpu-utilization": "--", "static-peak": ":"}
"""Line styles by strategy, so one drawn over another still shows."""
SHORT = {"queue-depth": "queue", "gpu-utilization": "util", "static-peak": "static"}


def plot(simulation: Simulation, path: Path) -> None:
    """Per tier (rows): arrivals; demand (running and waiting) against capacity (sessions x
    replicas serving) by strategy; TTFT p95 and end-to-end p95 of each 15 minutes against
    the tier's targets; the cost rate and the cost so far. Over time in hours, UTC, with
    the users' zone's offset. Each strategy has its own colour and line style; each row's
    first title gives each strategy's SLA met and cost; the hours a scheduled window holds
    the tier at its peak are shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    run, tiers = simulation.run, simulation.tiers
    panels = ("arrivals a minute", "demand (solid) and capacity (thin), interactions",
              "TTFT p95 s (red: target)", "end-to-end p95 s (red: target)", "cost $/h",
              "cost so far $")  # fmt: skip
    figure, axes = plt.subplots(len(tiers), len(panels), figsize=(4.5 * len(panels),
                                3 * len(tiers)), squeeze=False)  # fmt: skip
    minutes = run.series["arrivals"].shape[1]
    hours = np.arange(minutes) / 60.0
    windows = run.windows.shape[2]
    window_hours = (np.arange(windows) + 0.5) * run.window_seconds / 3600.0
    zone = next((w.timezone for tier in tiers for w in tier.cron), "UTC")
    offset = utc_offset_hours(zone)
    clock = "hours (UTC)" if zone == "UTC" else f"hours (UTC; {zone} {offset:+g} h)"
    for row, tier in enumerate(tiers):
        for index, lane in enumerate(run.lanes):
            if lane.tier.name != tier.name:
                continue
            style = {"label": lane.strategy, "lw": 1.1, "ls": STYLES.get(lane.strategy, "-")}
            if lane.strategy == simulation.strategies[0]:
                axes[row][0].plot(hours, run.series["arrivals"][index], color="black", lw=0.6)
            line = axes[row][1].plot(hours, run.series["demand"][index], **style)[0]
            capacity = run.series["replicas"][index] * tier.sessions_per_replica
            axes[row][1].plot(hours, capacity, color=line.get_color(), lw=0.5,
                              ls=style["ls"])  # fmt: skip
            for column, which in ((2, kernel.WINDOW_TTFT), (3, kernel.WINDOW_E2E)):
                axes[row][column].plot(window_hours, p95_by_window(run, index, which), **style)
            cost_rate = run.series["cost"][index]
            axes[row][4].plot(hours, cost_rate, **style)
            axes[row][5].plot(hours, np.cumsum(cost_rate) / 60.0, **style)
        axes[row][2].axhline(tier.sla_ttft_seconds, color="red", lw=0.8)
        if tier.sla_interaction_seconds:
            axes[row][3].axhline(tier.sla_interaction_seconds, color="red", lw=0.8)
        for column in (2, 3):
            axes[row][column].set_yscale("log")
        outcome = " · ".join(
            f"{SHORT.get(s.strategy, s.strategy)} {s.sla_attainment:.1%} ${s.cost:,.0f}"
            for s in simulation.stats
            if s.tier == tier.name
        )
        spans = scheduled_spans(tier, minutes)
        for column, title in enumerate(panels):
            axis = axes[row][column]
            axis.set_title(f"{tier.name}: {title}", fontsize=9)
            axis.set_xlabel(clock)
            for start, end in spans:  # shaded: held at the predicted peak by its schedule
                axis.axvspan(start, end, color="0.9", zorder=0)
            drawn = [np.nanmax(line.get_ydata()) for line in axis.lines
                     if len(line.get_ydata()) and not np.isnan(line.get_ydata()).all()]  # fmt: skip
            if column not in (2, 3) and drawn and max(drawn) <= 0:  # all zero: 0 to 1
                axis.set_ylim(0, 1)
        axes[row][0].set_title(
            f"{tier.name}: arrivals a minute\nSLA met, cost: {outcome}", fontsize=8
        )
        axes[row][1].legend(fontsize=7)
    if zone != "UTC":
        _users_hours(axes[0], zone, offset)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def _users_hours(axes: Any, zone: str, offset: float) -> None:
    """The hour of the day in the users' zone along the top of ``axes``."""
    from matplotlib.ticker import FuncFormatter

    for axis in axes:
        top = axis.secondary_xaxis("top", functions=(lambda h: h + offset, lambda h: h - offset))
        top.xaxis.set_major_formatter(FuncFormatter(lambda h, _: f"{h % 24:g}"))
        top.set_xlabel(f"hour of the day ({zone})", fontsize=7)
        top.tick_params(labelsize=7)


def _settings_yaml(advice: Advice) -> list[str]:
    keys = advice.settings.stack_keys()
    lines = [f"      {advice.tier}:", f"        minInstances: {keys['minInstances']}",
             "        scaling:"]  # fmt: skip
    lines += [f"          {key}: {value}" for key, value in keys["scaling"].items()]
    return lines


def suggestion_text(found: Sequence[Advice], goal: float, stack: str) -> str:
    """The suggested settings as stack-file YAML, each tier with what it changes."""
    lines = [
        f"# agentfleet simulate --suggest: for each tier of {stack}, the cheapest floor, backlog",
        f"# threshold and scale windows that met {goal:.1%} of interactions within the tier's",
        "# time-to-first-token target on this trace, simulated again as declared:",
    ]
    for advice in found:
        before, after = advice.before, advice.after
        verdict = "" if advice.met_goal else f" (no setting tried met {goal:.1%})"
        lines.append(
            f"#   {advice.tier}: SLA met {before.sla_attainment:.2%} -> "
            f"{after.sla_attainment:.2%}, ${before.cost:,.2f} -> ${after.cost:,.2f}{verdict}"
        )
    lines += ["config:", "  agentfleet:fleet:", "    tiers:"]
    for advice in found:
        lines += _settings_yaml(advice)
    return "\n".join(lines)


def _outcome(stats: LaneStats) -> dict[str, float]:
    return {"slaAttainment": _round(stats.sla_attainment, 4), "cost": round(stats.cost, 2)}


def suggestion_json(found: Sequence[Advice], goal: float) -> dict[str, Any]:
    return {
        "slaGoal": goal,
        "tiers": [
            {
                "tier": a.tier,
                "metGoal": a.met_goal,
                "current": a.current.stack_keys(),
                "suggested": a.settings.stack_keys(),
                "before": _outcome(a.before),
                "after": _outcome(a.after),
            }
            for a in found
        ],
    }
