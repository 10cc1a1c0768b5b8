"""``agentfleet simulate``: its arguments, and the run (``infra.simulation`` replays the
stack; ``--suggest`` searches its settings)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from infra.arguments import add_source, positive_int, writable_file
from infra.config import ConfigError, stack_file


def add_parser(commands: Any) -> None:
    """The ``simulate`` command's arguments (docs/commands.md)."""
    simulate = commands.add_parser(
        "simulate",
        help="replay a day or a week of traffic through the fleet, second by second",
        description="Replay load through the stack's tiers and autoscaling as the program "
        "declares them, second by second, under the stack's queue-depth scaling, GPU "
        "utilisation scaling and static peak, and report SLA attainment, waits, time to "
        "first token, replicas and cost.",
        allow_abbrev=False,
    )
    add_source(simulate)
    simulate.add_argument(
        "--trace", default="diurnal", metavar="diurnal|flat|FILE.csv", help="the load"
    )
    simulate.add_argument(
        "--trace-counts",
        action="store_true",
        help="the CSV trace holds whole interactions arriving in each second (replayed as "
        "given) instead of rates per second (arrivals drawn at random)",
    )
    length = simulate.add_mutually_exclusive_group()
    length.add_argument("--days", type=positive_int, metavar="N", help="days (default 1)")
    length.add_argument("--hours", type=positive_int, metavar="N", help="hours")
    simulate.add_argument("--seed", type=int, default=0, metavar="N", help="random seed")
    simulate.add_argument(
        "--strategies",
        default="queue-depth,gpu-utilization,static-peak",
        metavar="LIST",
        help="comma-separated: queue-depth, gpu-utilization, static-peak",
    )
    simulate.add_argument(
        "--cold-start",
        type=positive_int,
        metavar="SECONDS",
        help="a new GPU node's start to its first replica serving (default: node start and "
        "image pull, then the model's weights)",
    )
    simulate.add_argument(
        "--timezone",
        metavar="ZONE",
        help="the users' time zone for the diurnal trace's business hours (default: the "
        "stack's scheduled windows' zone, else UTC)",
    )
    simulate.add_argument(
        "--step",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="the simulation step: 1 (default), or 0.5, 0.25, 0.2, 0.1 or 0.05; waits are "
        "exact at any step, a shorter one follows a replica's speed as its batch changes more "
        "finely, that many times slower",
    )
    simulate.add_argument(
        "--provisioners",
        metavar="LIST",
        help="comma-separated cluster-autoscaler, karpenter: simulate the stack with each "
        "provisioning its GPU nodes (cluster.nodeProvisioner) and report each beside the "
        "other (default: the stack's own)",
    )
    simulate.add_argument("--json", action="store_true", help="print one JSON object")
    simulate.add_argument("--plot", metavar="FILE.png", type=Path, help="draw the run")
    simulate.add_argument(
        "--suggest",
        action="store_true",
        help="search each tier's floor, backlog threshold and scale windows for the cheapest "
        "settings that meet the SLA goal on the trace; print them as stack-file YAML",
    )
    simulate.add_argument(
        "--sla-goal",
        type=float,
        default=99.0,
        metavar="PERCENT",
        help="with --suggest: the share of interactions that must meet their tier's "
        "time-to-first-token target (default 99)",
    )


def run(args: argparse.Namespace) -> int:
    from infra.config import read_stack_file
    from infra.simulation import report as simulation_report
    from infra.simulation.run import simulate_stack

    writable_file(args.plot, "--plot")
    path = stack_file(args.stack) if args.stack else args.config
    name = args.stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    seconds = args.hours * 3600 if args.hours else (args.days or 1) * 86_400
    if args.trace not in ("diurnal", "flat") and not (args.days or args.hours):
        seconds = None  # the file's own length
    progress = _progress_bar() if sys.stderr.isatty() and not args.json else None
    _say_if_slow()
    options: dict[str, Any] = {
        "trace": args.trace,
        "seconds": seconds,
        "seed": args.seed,
        "cold_start_seconds": args.cold_start,
        "step_seconds": _step(args.step),
        "timezone": _zone(args.timezone),
        "trace_counts": args.trace_counts,
    }
    if args.suggest:
        return _suggest(name, read_stack_file(path), args, options, progress)
    if args.provisioners is not None:
        return _by_provisioner(name, read_stack_file(path), args, options, progress)
    simulation = simulate_stack(
        name,
        read_stack_file(path),
        strategies=_listed(args.strategies),
        progress=progress,
        **options,
    )
    if args.plot:
        simulation_report.plot(simulation, args.plot)
    if args.json:
        print(json.dumps(simulation_report.simulation_json(simulation), indent=2))
    else:
        print(simulation_report.simulation_text(simulation))
        if args.plot:
            print(f"wrote {args.plot}")
    return 0


PROVISIONERS = ("cluster-autoscaler", "karpenter")


def _by_provisioner(
    name: str,
    values: dict[str, Any],
    args: argparse.Namespace,
    options: dict[str, Any],
    progress: Callable[[float], None] | None,
) -> int:
    """The stack under each provisioner, one simulation each, reported side by side."""
    from infra.simulation import report as simulation_report
    from infra.simulation.run import simulate_stack

    chosen = _listed(args.provisioners)
    unknown = [p for p in chosen if p not in PROVISIONERS]
    if unknown or not chosen:
        known = ", ".join(PROVISIONERS)
        raise ConfigError([("--provisioners", f"want some of {known}; got {args.provisioners!r}")])
    if args.plot:
        raise ConfigError([("--provisioners", "takes no --plot (one run each)")])
    runs = {}
    for provisioner in dict.fromkeys(chosen):
        cluster = {**values.get("agentfleet:cluster", {}), "nodeProvisioner": provisioner}
        runs[provisioner] = simulate_stack(
            name,
            {**values, "agentfleet:cluster": cluster},
            strategies=_listed(args.strategies),
            progress=progress,
            **options,
        )
    if args.json:
        print(json.dumps(simulation_report.provisioners_json(runs), indent=2))
    else:
        print(simulation_report.provisioners_text(runs))
    return 0


def _say_if_slow() -> None:
    """Without numba the simulator's inner loop runs as plain Python: say how to speed it."""
    import os

    from infra.simulation import kernel

    if not kernel.COMPILED and not os.environ.get("AGENTFLEET_NO_COMPILE"):
        print("agentfleet simulate: numba is not installed, so the simulation runs as plain "
              "Python; pip install 'agentfleet[fast]' makes it about 25 times faster",
              file=sys.stderr)  # fmt: skip


def _suggest(
    name: str,
    values: dict[str, Any],
    args: argparse.Namespace,
    options: dict[str, Any],
    progress: Callable[[float], None] | None,
) -> int:
    from infra.simulation import report as simulation_report
    from infra.simulation.suggest import advise

    if not 0 < args.sla_goal <= 100:
        raise ConfigError([("--sla-goal", f"{args.sla_goal:g} is not a percentage above 0")])
    if args.plot or options["step_seconds"] != 1.0:
        raise ConfigError([("--suggest", "takes neither --plot nor --step")])
    goal = args.sla_goal / 100
    found = advise(name, values, goal=goal, progress=progress, **options)
    if args.json:
        print(json.dumps(simulation_report.suggestion_json(found, goal), indent=2))
    else:
        print(simulation_report.suggestion_text(found, goal, name))
    return 0


def _listed(value: str) -> list[str]:
    """A comma-separated argument's items."""
    return [item.strip() for item in value.split(",") if item.strip()]


def _step(value: float) -> float:
    allowed = (1.0, 0.5, 0.25, 0.2, 0.1, 0.05)
    if value not in allowed:
        shown = ", ".join(f"{a:g}" for a in allowed)
        raise ConfigError([("--step", f"{value:g} s is not one of {shown}")])
    return value


def _zone(value: str | None) -> str | None:
    if value is None:
        return None
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError([("--timezone", f"unknown time zone {value!r} (IANA names)")]) from None
    return value


def _progress_bar() -> Callable[[float], None]:
    """A one-line bar on standard error (a terminal only)."""

    def show(done: float) -> None:
        filled = int(done * 30)
        end = "\n" if done >= 1 else ""
        print(f"\rsimulating [{'#' * filled}{'.' * (30 - filled)}] {done:4.0%}", end=end,
              file=sys.stderr, flush=True)  # fmt: skip

    return show
