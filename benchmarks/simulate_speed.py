"""How much faster than real time `agentfleet simulate` replays the prod stack.

    .venv/bin/python benchmarks/simulate_speed.py [--days N] [--seed N]

Simulates the prod stack's diurnal trace, all three strategies, at one-second resolution,
and prints the wall time of the replay (after the program and the trace are built) and
of the whole command, and each as a speed-up over real time. Never part of the test run.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from infra.config import read_stack_file  # noqa: E402
from infra.simulation.run import simulate_stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    seconds = args.days * 86_400
    started = time.perf_counter()
    simulation = simulate_stack(
        "prod", read_stack_file(ROOT / "stacks" / "Pulumi.prod.yaml"), seconds=seconds,
        seed=args.seed,
    )  # fmt: skip
    total = time.perf_counter() - started
    replay = simulation.replay_seconds
    lanes = len(simulation.run.lanes)
    print(f"machine: {platform.machine()}, {platform.python_implementation()} "
          f"{platform.python_version()}, one core")  # fmt: skip
    print(f"prod, {args.days} day(s) at 1 s steps, {lanes} lanes (3 tiers x 3 strategies)")
    print(f"  replay  {replay:8.1f} s   {seconds / replay:10,.0f}x real time")
    print(f"  command {total:8.1f} s   {seconds / total:10,.0f}x real time")


if __name__ == "__main__":
    main()
