"""How long right-sizing takes as the fleet grows, and the command's start-up.

    .venv/bin/python benchmarks/size_speed.py

Prints the median of several runs of `size_fleet` for 10^3 ... 10^15 concurrent
interactions (the arithmetic is exact integers and Decimals, so it should not grow with
the number), and of `agentfleet size --concurrency 1000 10000` as a process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

from infra.sizing import size_fleet

RUNS = 7


def median_seconds(action: object, runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def main() -> None:
    print(f"{'concurrency':>22}  {'size_fleet (us)':>15}  {'GPUs':>22}")
    for exponent in (3, 4, 5, 6, 9, 12, 15):
        concurrency = 10**exponent
        seconds = median_seconds(lambda n=concurrency: [size_fleet(n) for _ in range(100)])
        print(
            f"{concurrency:>22,}  {seconds * 1e6 / 100:>15.1f}  {size_fleet(concurrency).gpus:>22,}"
        )
    script = Path(sys.executable).parent / "agentfleet"
    seconds = median_seconds(
        lambda: subprocess.run(
            [str(script), "size", "--concurrency", "1000", "10000"],
            check=True,
            stdout=subprocess.DEVNULL,
        ),
        runs=5,
    )
    print(f"\nagentfleet size --concurrency 1000 10000 (process): {seconds * 1000:.0f} ms median")


if __name__ == "__main__":
    main()
