"""The ``agentfleet`` command line.

Exit status: 0 success; 1 a mandatory policy finding; 2 invalid input (bad config or bad
arguments), with the reason on standard error and nothing declared.
"""

from __future__ import annotations

import argparse
import gc
import json
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bridge import cli as bridge_cli
from facts import aws_prices
from facts.catalog import CATALOG, known_keys
from infra import perf, prices, report, simulate_command
from infra.arguments import add_source, positive_int
from infra.config import ConfigError, load_stack_file, stack_file
from infra.fitting import FitError
from infra.plan import plan_fleet
from infra.pricing import PricesError, aws_price_list, seed_prices
from infra.sizing import DEFAULT_MIX, MixEntry, per_gpu_hour, size_fleet

if TYPE_CHECKING:
    from infra.offline.preview import Preview

EXIT_OK = 0
EXIT_POLICY = 1
EXIT_INVALID = 2
EXIT_INTERNAL = 3

MIX_ITEM = re.compile(
    r"^(?P<tier>[a-z0-9]([a-z0-9-]*[a-z0-9])?)=(?P<gpu>[^:]+):(?P<share>[^%]+)%?$"
)


def parse_mix(items: Sequence[str]) -> tuple[MixEntry, ...]:
    """``TIER=GPU:SHARE`` items; shares in percent adding up to 100 (``70`` or ``70%``),
    or fractions adding up to 1 (``0.7``). Raises ValueError with the reason."""
    parsed: list[tuple[str, str, Decimal]] = []
    for item in items:
        match = MIX_ITEM.match(item)
        if not match:
            raise ValueError(f"{item!r} is not TIER=GPU:SHARE (e.g. lightweight=l40s:70)")
        tier, gpu = match["tier"], match["gpu"]
        if gpu not in CATALOG:
            raise ValueError(f"{item!r}: unknown GPU {gpu!r}; known: {known_keys()}")
        try:
            share = Decimal(match["share"])
        except InvalidOperation:
            raise ValueError(f"{item!r}: share {match['share']!r} is not a number") from None
        if not share.is_finite() or share <= 0:
            raise ValueError(f"{item!r}: share must be above 0")
        if any(tier == seen for seen, _, _ in parsed):
            raise ValueError(f"tier {tier!r} appears twice in --mix")
        parsed.append((tier, gpu, share))
    total = sum((share for _, _, share in parsed), Decimal(0))
    if total == 100:
        scale = Fraction(1, 100)
    elif total == 1:
        scale = Fraction(1)
    else:
        raise ValueError(f"shares add up to {total}; they must add up to 100 (percent) or 1")
    return tuple(MixEntry(tier, gpu, Fraction(share) * scale) for tier, gpu, share in parsed)


def _add_plan(commands: Any) -> None:
    """The ``plan`` command's arguments (docs/commands.md)."""
    plan = commands.add_parser(
        "plan",
        help="the offline preview: build the stack and run the policy pack over it",
        description="Build the stack's whole resource graph under Pulumi's mocks (no cloud "
        "account, no Pulumi CLI), run the agentfleet-production policy pack over it through "
        "the analyzer protocol, and print tiers, resources, cost and findings. Exit 1 on a "
        "mandatory finding, 2 on invalid input.",
        allow_abbrev=False,
    )
    add_source(plan)
    plan.add_argument("--json", action="store_true", help="print one JSON object")
    plan.add_argument(
        "--render",
        metavar="DIR",
        type=Path,
        help="write every Kubernetes object as YAML into DIR/<tier>/<kind>-<name>.yaml",
    )
    plan.add_argument(
        "--simulate",
        action="store_true",
        help="add a simulated day (diurnal trace, the stack's own scaling): SLA met and "
        "cost per tier",
    )
    plan.add_argument(
        "--policy-config",
        metavar="FILE",
        type=Path,
        help="a policy-pack config file (the format of pulumi --policy-pack-config)",
    )
    plan.add_argument(
        "--sarif",
        metavar="FILE",
        type=Path,
        help="write the findings as SARIF 2.1.0 (code scanning), each at its stack key's line",
    )
    plan.add_argument(
        "--baseline",
        metavar="FILE",
        type=Path,
        help="another stack file (the target branch's): report the cost, resource and "
        "finding changes against it",
    )
    plan.add_argument(
        "--summary",
        metavar="FILE",
        type=Path,
        help="write the plan (against --baseline, if given) as Markdown, for a pull-request "
        "comment or a CI job summary",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agentfleet",
        description="Plan, size and check a GPU inference fleet for AI agents on AWS EKS.",
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    size = commands.add_parser(
        "size",
        help="right-size the fleet for N concurrent interactions",
        description="GPUs and cost per hour for N concurrent interactions, split over tiers "
        "by a mix (default: 70% l40s, 25% a100-80gb, 5% h100-pcie) at the seed's catalog prices "
        "(--prices aws: AWS's), at full occupancy.",
        allow_abbrev=False,
    )
    size.add_argument(
        "--concurrency",
        type=positive_int,
        nargs="+",
        required=True,
        metavar="N",
        help="concurrent interactions; several give several scenarios",
    )
    size.add_argument(
        "--mix",
        nargs="+",
        action="extend",
        metavar="TIER=GPU:SHARE",
        help="tier mix, e.g. lightweight=l40s:70 mid-tier=a100-80gb:25 orchestrator=h100-pcie:5",
    )
    size.add_argument(
        "--model",
        nargs="+",
        action="extend",
        metavar="TIER=MODEL",
        help="a model of the shipped table a tier serves (e.g. mid-tier="
        "Qwen/Qwen2.5-32B-Instruct): that tier is sized by what its KV cache holds too, "
        "with the tensor parallelism that serves the most sessions a GPU",
    )
    size.add_argument("--prices", choices=("seed", "aws"), default="seed",
                      help="seed: the catalog's GPU-cloud prices (default); aws: AWS's "
                      "on-demand price of each GPU's default instance type, per GPU")  # fmt: skip
    size.add_argument("--region", default="us-east-1", help="AWS region for --prices aws")
    size.add_argument("--json", action="store_true", help="print one JSON object")
    size.set_defaults(parser=size)

    validate = commands.add_parser(
        "validate",
        help="validate a stack's configuration and print the resolved tier plan",
        description="Validate a stack file and print each tier with the planner's defaults "
        "filled in (instances, replicas, --max-num-seqs, prices). Exit 2 on invalid config.",
        allow_abbrev=False,
    )
    add_source(validate)
    validate.add_argument("--json", action="store_true", help="print one JSON object")

    _add_plan(commands)
    simulate_command.add_parser(commands)
    perf.add_parser(commands)
    prices.add_parser(commands)

    worker = commands.add_parser(
        "worker",
        help="move a tier's requests from its SQS queue to vLLM (the pod's sidecar)",
        description=bridge_cli.WORKER_DESCRIPTION,
        allow_abbrev=False,
    )
    bridge_cli.add_worker_arguments(worker)

    submit = commands.add_parser(
        "submit",
        help="send a request to a tier's queue, and optionally wait for its reply",
        description="Send one OpenAI-compatible request to a tier's SQS queue. With --wait, "
        "wait for the reply on --reply-to and print it: exit 0 on an ok reply, 1 on an "
        "error reply or none in time.",
        allow_abbrev=False,
    )
    bridge_cli.add_submit_arguments(submit)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command != "plan":
        resume_collection()
    try:
        if args.command == "size":
            return _size(args.parser, args)
        if args.command == "plan":
            return _plan(args)
        if args.command == "simulate":
            return simulate_command.run(args)
        if args.command == "perf":
            return perf.run(args)
        if args.command == "prices":
            return prices.run(args)
        if args.command == "worker":
            return bridge_cli.worker(args)
        if args.command == "submit":
            return bridge_cli.submit(args)
        return _validate(args)
    except ConfigError as error:
        print(f"agentfleet: invalid configuration\n{error}", file=sys.stderr)
        return EXIT_INVALID
    except Exception as error:  # anything else is a bug: say so, in one line
        reason = " ".join(f"{type(error).__name__}: {error}".split())[:500]
        print(
            f"agentfleet: internal error (a bug, not your input): {reason}. Please report it "
            "with the command and the stack file.",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def resume_collection() -> None:
    """Turn garbage collection back on if the command started with it paused
    (``infra.launch``), freezing what is loaded by now: nothing of it is garbage, and a
    frozen object is never scanned again."""
    if not gc.isenabled():
        gc.freeze()
        gc.enable()


def with_models(mix: Sequence[MixEntry], items: Sequence[str]) -> tuple[MixEntry, ...]:
    """The mix with each ``TIER=MODEL`` item's model on its tier. Raises ValueError."""
    chosen: dict[str, str] = {}
    for item in items:
        tier, equals, model = item.partition("=")
        if not equals or not tier or not model:
            raise ValueError(
                f"{item!r} is not TIER=MODEL (e.g. mid-tier=Qwen/Qwen2.5-32B-Instruct)"
            )
        if tier not in {entry.tier for entry in mix}:
            raise ValueError(
                f"{item!r}: no tier {tier!r} in the mix ({', '.join(e.tier for e in mix)})"
            )
        if tier in chosen:
            raise ValueError(f"tier {tier!r} appears twice in --model")
        chosen[tier] = model
    return tuple(replace(entry, model=chosen.get(entry.tier)) for entry in mix)


def _size(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    try:
        mix = parse_mix(args.mix) if args.mix else DEFAULT_MIX
    except ValueError as error:
        parser.error(f"argument --mix: {error}")
    prices = aws_price_list(args.region) if args.prices == "aws" else seed_prices()
    try:
        for entry in mix:  # every GPU of the mix has a price there
            per_gpu_hour(prices, CATALOG[entry.gpu])
    except PricesError as error:
        parser.error(f"argument --region: {error}; regions: {', '.join(aws_prices.ON_DEMAND)}")
    try:
        mix = with_models(mix, args.model or ())
        scenarios = [size_fleet(concurrency, mix, prices) for concurrency in args.concurrency]
    except (ValueError, FitError) as error:
        parser.error(f"argument --model: {error}")
    if args.json:
        print(json.dumps(report.sizing_json(scenarios, prices), indent=2))
    else:
        print(report.sizing_text(scenarios, prices))
    return EXIT_OK


def _validate(args: argparse.Namespace) -> int:
    path = stack_file(args.stack) if args.stack else args.config
    name = args.stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    plan = plan_fleet(load_stack_file(path))
    if args.json:
        print(json.dumps(report.fleet_json(name, plan), indent=2))
    else:
        print(report.fleet_text(name, plan))
    return EXIT_OK


def _plan(args: argparse.Namespace) -> int:
    from infra.config import read_stack_file
    from infra.offline.policy_client import PolicyConfigError
    from infra.offline.preview import preview, render

    path = stack_file(args.stack) if args.stack else args.config
    name = args.stack or path.name.removeprefix("Pulumi.").removesuffix(".yaml")
    values = read_stack_file(path)
    base_values = None
    if args.baseline:
        with _naming_the_baseline(args.baseline):
            base_values = read_stack_file(args.baseline)
    overrides = _policy_config(args.policy_config) if args.policy_config else None
    try:
        result = preview(name, values, overrides)
        # The baseline under this stack's name, so that the same resource has the same URN.
        base = None
        if base_values is not None:
            with _naming_the_baseline(args.baseline):
                base = preview(name, base_values, overrides)
    except PolicyConfigError as error:
        print(f"agentfleet: invalid policy config {args.policy_config}: {error}", file=sys.stderr)
        return EXIT_INVALID
    finally:
        resume_collection()  # paused by infra.launch while the SDKs load and the program runs
    comparison = None
    if base is not None:
        from infra.review import compare

        comparison = compare(base, result)
    _write_review(args, path, result, comparison)
    if args.render:
        written = render(result, args.render)
        if not args.json:
            print(f"wrote {len(written)} Kubernetes objects under {args.render}")
    simulated = _simulated_day(result) if args.simulate else None
    if args.json:
        shown = report.preview_json(result)
        if comparison is not None:
            from infra import review

            shown["steps"] = review.compared_steps(comparison)
            shown["changeSummary"] = review.change_summary(comparison)
            shown["baseline"] = review.baseline_json(comparison)
        if simulated is not None:
            shown["simulation"] = simulated[0]
        print(json.dumps(shown, indent=2))
    else:
        print(report.preview_text(result))
        if comparison is not None:
            from infra.review import baseline_text

            print("\n" + baseline_text(comparison))
        if simulated is not None:
            print("\n" + simulated[1])
    return EXIT_POLICY if result.mandatory else EXIT_OK


@contextmanager
def _naming_the_baseline(path: Path) -> Iterator[None]:
    """The baseline's config problems, each named by the option and the file."""
    try:
        yield
    except ConfigError as error:
        raise ConfigError(
            [(f"--baseline {path}: {where}", reason) for where, reason in error.problems]
        ) from None


def _write_review(args: argparse.Namespace, path: Path, result: Preview, comparison: Any) -> None:
    """The --sarif and --summary files, if asked for."""
    from infra import review
    from infra.config.stackfile import read_document

    if args.sarif:
        log = review.sarif(result, path, read_document(path).lines)
        _write(args.sarif, "--sarif", json.dumps(log, indent=2) + "\n")
    if args.summary:
        _write(args.summary, "--summary", review.summary_markdown(result, comparison))


def _write(path: Path, option: str, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise ConfigError([(option, f"cannot write {path}: {error.strerror}")]) from None


def _simulated_day(result: Preview) -> tuple[dict[str, Any], str]:
    """One simulated day of the stack's own scaling, as JSON and as a line per tier: the
    plan and the objects the preview declared, replayed."""
    from infra.simulation import report as simulation_report
    from infra.simulation.run import simulate_declared

    simulation = simulate_declared(
        result.stack, result.plan, result.registrations, seconds=86_400, strategies=["queue-depth"]
    )
    lines = ["simulated day (diurnal trace, the stack's own scaling; agentfleet simulate):"]
    lines += [
        f"  {s.tier}: SLA met {s.sla_attainment:.1%}, TTFT p95 {s.ttft_p95:.2f} s, "
        f"{s.max_replicas} replicas at most, ${s.cost:,.2f} for the day"
        for s in simulation.of("queue-depth")
    ]
    return simulation_report.simulation_json(simulation), "\n".join(lines)


def _policy_config(path: Path) -> dict[str, object]:
    """A policy-pack config file: JSON mapping policy names (or "all") to an enforcement
    level or an object of enforcementLevel and properties."""
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(
            [(str(path), f"cannot read the policy config: {error.strerror}")]
        ) from None
    except ValueError as error:
        raise ConfigError([(str(path), f"not valid JSON: {error}")]) from None
    if not isinstance(loaded, dict):
        raise ConfigError([(str(path), "a policy config maps policy names to settings")])
    return loaded


if __name__ == "__main__":  # the installed command is infra.launch:run
    sys.exit(main())
