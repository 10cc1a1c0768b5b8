"""How long reading and validating a stack file takes: the shipped prod stack, a 500-tier
fleet, and an alias bomb the reader refuses (nine levels of ten aliases: 10^9 values).

    .venv/bin/python benchmarks/stackfile_speed.py

Prints the median of several runs of each. The tests hold the reader to its bounds (each
node measured once, a bomb refused before any value is built); this says how fast.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

from infra.config import parse_stack_config, read_stack_file
from infra.config.stackfile import StackFileError, parse_document

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def median_seconds(action: Callable[[], object], runs: int = RUNS) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def big_stack(directory: Path, tiers: int) -> Path:
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    fleet = document["config"]["agentfleet:fleet"]["tiers"]
    for index in range(tiers):
        fleet[f"t{index}"] = {**fleet["lightweight"], "expectedConcurrency": 100}
    path = directory / "Pulumi.big.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def bomb() -> bytes:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 10):
        lines.append(f"l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * 10) + "]")
    return "\n".join(lines).encode()


def refuse(raw: bytes) -> None:
    try:
        parse_document(raw)
    except StackFileError:
        return
    sys.exit("the alias bomb was not refused")


def main() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        big = big_stack(Path(scratch), 500)
        cases: list[tuple[str, Callable[[], object]]] = [
            ("prod (3 tiers)", lambda: parse_stack_config(read_stack_file(
                ROOT / "stacks" / "Pulumi.prod.yaml"))),
            ("prod + 500 tiers", lambda: parse_stack_config(read_stack_file(big))),
            ("alias bomb, refused", lambda: refuse(bomb())),
        ]  # fmt: skip
        print(f"{'stack file':<22}  {'read and validated (ms)':>24}")
        for name, action in cases:
            print(f"{name:<22}  {median_seconds(action) * 1000:>24.1f}")


if __name__ == "__main__":
    main()
