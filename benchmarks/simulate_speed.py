"""How much faster than real time `agentfleet simulate` replays the prod stack.

    .venv/bin/python benchmarks/simulate_speed.py [--days N] [--seed N] [--runs N] [--profile]

Simulates the prod stack's diurnal trace, all three strategies, at one-second resolution,
and prints, for each run, the wall time of the replay (after the program and the trace are
built) and of the whole command, each as a speed-up over real time; and whether the inner
loop ran compiled (numba, the fast extra) or as plain Python. The first run of a process
also loads the compiled loop from numba's cache (or compiles it, the first time after a
change). ``--profile`` adds where the last replay's time went (cProfile, by own time).
Never part of the test run.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import platform
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.config import read_stack_file  # noqa: E402
from infra.simulation import kernel  # noqa: E402
from infra.simulation.run import declare, simulate_declared  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    seconds = args.days * 86_400
    loop = "compiled (numba)" if kernel.COMPILED else "plain Python"
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, one core; inner loop {loop}")  # fmt: skip
    print(f"prod, {args.days} day(s) at 1 s steps, 3 tiers x 3 strategies")
    values = read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml")
    replays = []
    for run in range(1, args.runs + 1):
        started = time.perf_counter()
        plan, registrations = declare("prod", values)
        profiler = cProfile.Profile() if args.profile and run == args.runs else None
        if profiler is not None:
            profiler.enable()
        simulation = simulate_declared("prod", plan, registrations, seconds=seconds,
                                       seed=args.seed)  # fmt: skip
        if profiler is not None:
            profiler.disable()
        total = time.perf_counter() - started
        replay = simulation.replay_seconds
        replays.append(replay)
        print(f"  run {run}: replay {replay:6.1f} s  {seconds / replay:9,.0f}x real time;"
              f"  command {total:6.1f} s  {seconds / total:9,.0f}x")  # fmt: skip
    best = min(replays)
    print(f"best replay {best:.1f} s: {seconds / best:,.0f}x real time")
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(12)
        print(out.getvalue())


if __name__ == "__main__":
    main()
