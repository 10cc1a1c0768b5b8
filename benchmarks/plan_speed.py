"""How long `agentfleet plan` takes, beside the floor of importing the SDKs it uses.

    .venv/bin/python benchmarks/plan_speed.py [--runs N]

Prints, for the prod stack and for generated stacks of 1, 10, 50, 100 and 500 tiers, the
median wall time of `agentfleet plan --json` as a process, its ratio to the floor (a process
that only imports the SDK modules the plan loads: pydantic, pulumi, pulumi_policy and the
pulumi-aws and pulumi-kubernetes submodules the components use), and the time per tier.

The command loads with the garbage collector paused (infra/launch.py), which the plain
floor does not; so the floor is also timed with the collector paused, and each plan's
ratio to that stricter floor is printed beside the first. Never part of the test run.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
# Every SDK module the plan loads. pulumi-aws and pulumi-kubernetes load submodules lazily:
# `import pulumi_aws.ec2` binds a stub that runs nothing until an attribute is read, so the
# floor reads one class of each (before 2026-12 it did not, and measured stubs).
SDK_CLASSES = (
    ("pulumi_aws.autoscaling", "Tag"), ("pulumi_aws.budgets", "Budget"),
    ("pulumi_aws.cloudwatch", "MetricAlarm"), ("pulumi_aws.ec2", "LaunchTemplate"),
    ("pulumi_aws.eks", "NodeGroup"), ("pulumi_aws.iam", "Role"),
    ("pulumi_aws.lb", "LoadBalancer"), ("pulumi_aws.sns", "Topic"), ("pulumi_aws.sqs", "Queue"),
    ("pulumi_kubernetes.apiextensions", "CustomResource"),
    ("pulumi_kubernetes.apps.v1", "Deployment"), ("pulumi_kubernetes.core.v1", "Service"),
    ("pulumi_kubernetes.meta.v1", "ObjectMetaArgs"),
    ("pulumi_kubernetes.policy.v1", "PodDisruptionBudget"),
    ("pulumi_kubernetes.helm.v3", "Release"), ("pulumi_kubernetes.provider", "Provider"),
)  # fmt: skip
FLOOR = "import importlib, pydantic, pulumi, pulumi_policy\n" + "".join(
    f"importlib.import_module({module!r}).{name}\n" for module, name in SDK_CLASSES
)
TIER_SHAPES = (
    {"gpu": "h100-pcie", "latencyClass": "ttft-first", "userFacing": True,
     "expectedConcurrency": 200},
    {"gpu": "a100-80gb", "latencyClass": "throughput-first", "userFacing": False,
     "expectedConcurrency": 600},
    {"gpu": "l40s", "latencyClass": "throughput-first", "userFacing": False,
     "expectedConcurrency": 500},
)  # fmt: skip


def median_seconds(command: list[str], runs: int) -> float:
    timings = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
        timings.append(time.perf_counter() - start)
        if result.returncode not in (0, 1):
            sys.exit(f"{' '.join(command)} failed:\n{result.stderr.decode()[-2000:]}")
    return statistics.median(timings)


def generated_stack(tiers: int, directory: Path) -> Path:
    """The prod stack's cluster and fleet settings with ``tiers`` tiers."""
    document = yaml.safe_load((ROOT / "stacks" / "Pulumi.prod.yaml").read_text())
    fleet: dict[str, Any] = document["config"]["agentfleet:fleet"]
    fleet["tiers"] = {
        f"tier-{index:03d}": {
            **copy.deepcopy(TIER_SHAPES[index % len(TIER_SHAPES)]),
            "model": "Qwen/Qwen2.5-7B-Instruct",
        }
        for index in range(tiers)
    }
    path = directory / f"Pulumi.tiers-{tiers}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs per figure (median)")
    parser.add_argument("--tiers", type=int, nargs="*", default=[1, 10, 50, 100, 500])
    parser.add_argument("--big-runs", type=int, default=1, help="runs for stacks over 100 tiers")
    parser.add_argument(
        "--first-run", action="store_true",
        help="also set up a fresh clone (python3 tasks.py setup, not timed) and time its first "
        "and second `agentfleet plan --stack prod`",
    )  # fmt: skip
    args = parser.parse_args()
    if args.first_run:
        first_run()
    agentfleet = str(Path(sys.executable).parent / "agentfleet")
    floor = median_seconds([sys.executable, "-c", FLOOR], args.runs)
    paused = median_seconds([sys.executable, "-c", "import gc; gc.disable()\n" + FLOOR], args.runs)
    print(
        f"floor (import the SDKs): {floor:.2f} s; with the collector paused: {paused:.2f} s; "
        f"medians of {args.runs}"
    )
    print(f"{'stack':>14}  {'tiers':>5}  {'resources':>9}  {'plan (s)':>8}  {'x floor':>7}  "
          f"{'x paused':>8}  {'s/tier':>6}  {'marginal s/tier':>15}")  # fmt: skip
    previous: tuple[int, float] | None = None
    with tempfile.TemporaryDirectory() as scratch:
        cases = [("prod", 3, ["--stack", "prod"])] + [
            (f"{n} tiers", n, ["--config", str(generated_stack(n, Path(scratch)))])
            for n in args.tiers
        ]
        for label, tiers, source in cases:
            command = [agentfleet, "plan", *source, "--json"]
            output = subprocess.run(command, cwd=ROOT, capture_output=True, check=False)
            resources = len(yaml.safe_load(output.stdout)["resources"])
            seconds = median_seconds(command, args.runs if tiers <= 100 else args.big_runs)
            marginal = ""
            if label != "prod" and previous is not None and tiers > previous[0]:
                marginal = f"{(seconds - previous[1]) / (tiers - previous[0]):.3f}"
            if label != "prod":
                previous = (tiers, seconds)
            print(f"{label:>14}  {tiers:>5}  {resources:>9}  {seconds:>8.2f}  "
                  f"{seconds / floor:>7.2f}  {seconds / paused:>8.2f}  {seconds / tiers:>6.3f}  "
                  f"{marginal:>15}")  # fmt: skip


def first_run() -> None:
    """The first plan after a fresh set-up beside the second: byte-compiled at set-up, the
    first pays no compiling (set-up itself is not timed)."""
    with tempfile.TemporaryDirectory() as scratch:
        clone = Path(scratch) / "fresh"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
        subprocess.run([sys.executable, "tasks.py", "setup"], cwd=clone, check=True,
                       capture_output=True)  # fmt: skip
        agentfleet = str(clone / ".venv" / "bin" / "agentfleet")
        timings = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run([agentfleet, "plan", "--stack", "prod", "--json"], cwd=clone,
                           capture_output=True, check=False)  # fmt: skip
            timings.append(time.perf_counter() - start)
        print(
            f"fresh set-up: first plan {timings[0]:.2f} s, second {timings[1]:.2f} s "
            f"({timings[0] / timings[1]:.2f}x)"
        )


if __name__ == "__main__":
    main()
