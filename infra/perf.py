"""``agentfleet perf``: one vLLM replica's curve, from the serving model (``facts.serving``).

For a model on a GPU, at each concurrency (a closed loop of that many users, as
``vllm bench serve --max-concurrency`` drives it): time to first token, time per output
token, end-to-end time, output tokens a second, interactions a second, and which bound
holds. The replica is the one the planner would build: the part the instance type carries,
the smallest tensor-parallel degree that holds the model and one interaction (unless
``--gpus-per-replica`` says), vLLM's memory budget and step token budget for the device.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from facts import models, parts
from facts.catalog import CATALOG, Gpu, InstanceType, known_keys
from facts.models import Model
from facts.serving import Point, Replica, Workload
from facts.vllm_memory import DEFAULT_GPU_MEMORY_UTILIZATION, Budget, budget
from infra.arguments import positive_int, writable_file
from infra.config import ConfigError
from infra.fitting import FitError, named_model, stepped
from infra.report import table

DEFAULT_CONCURRENCY = (1, 2, 4, 8, 16, 32, 64, 128, 256)
BOUND_COLOURS = {"memory": "tab:blue", "compute": "tab:orange", "kv": "tab:red"}


def add_parser(commands: Any) -> None:
    perf = commands.add_parser(
        "perf",
        help="one vLLM replica's latency and throughput curve, from the serving model",
        description="For MODEL on GPU, at each concurrency: TTFT, time per output token, "
        "end-to-end time, tokens/s and interactions/s of one replica, and the bound "
        "(memory bandwidth, compute, KV cache). docs/serving-physics.md says how.",
        allow_abbrev=False,
    )
    perf.add_argument(
        "--model",
        required=True,
        help="a model of the shipped table, or a local directory with its config.json",
    )
    perf.add_argument("--gpu", required=True, help=f"catalog key: {known_keys()}")
    perf.add_argument(
        "--gpus-per-replica",
        type=positive_int,
        metavar="N",
        help="tensor parallelism; default: the fewest GPUs that hold the model",
    )
    perf.add_argument(
        "--instance-type",
        metavar="TYPE",
        help="the instance type (its part is modelled); default: the GPU's",
    )
    perf.add_argument("--input-tokens", type=positive_int, default=600, metavar="N")
    perf.add_argument("--output-tokens", type=positive_int, default=350, metavar="N")
    perf.add_argument(
        "--concurrency",
        type=positive_int,
        nargs="+",
        metavar="N",
        default=list(DEFAULT_CONCURRENCY),
        help="running sequences (users)",
    )
    perf.add_argument("--json", action="store_true", help="print one JSON object")
    perf.add_argument(
        "--plot", type=Path, metavar="FILE.png", help="draw latency against throughput"
    )


@dataclass(frozen=True)
class Curve:
    gpu: Gpu
    instance: InstanceType
    replica: Replica
    budget: Budget
    workload: Workload
    points: tuple[Point, ...]

    @property
    def max_sessions(self) -> int | None:
        return self.replica.max_sessions(self.workload)


def _model(name: str) -> Model:
    try:
        model = named_model(name)
    except FitError as error:
        raise ConfigError([("--model", str(error))]) from None
    if model is None:
        raise ConfigError(
            [
                (
                    "--model",
                    f"{name} is not in the model table ({', '.join(models.MODELS)}) "
                    "and not a local directory with a config.json",
                )
            ]
        )
    return model


def _instances(gpu: Gpu, instance_type: str | None) -> list[InstanceType]:
    if instance_type is None:
        default = gpu.instance_type(gpu.default_instance_type)
        return [
            default,
            *sorted(
                (i for i in gpu.instance_types if i != default), key=lambda i: (i.gpus, i.name)
            ),
        ]
    if instance_type not in gpu.instance_type_names:
        raise ConfigError(
            [
                (
                    "--instance-type",
                    f"{instance_type} does not carry {gpu.key} GPUs; choose one "
                    f"of {', '.join(gpu.instance_type_names)}",
                )
            ]
        )
    return [gpu.instance_type(instance_type)]


def _shape(
    model: Model, gpu: Gpu, instance_type: str | None, degree: int | None, tokens: int
) -> tuple[InstanceType, int, Budget]:
    """The instance and tensor-parallel degree: the one asked for, or the fewest GPUs that
    hold the model and one interaction (on the default instance type first)."""
    instances = _instances(gpu, instance_type)
    if degree and not any(instance.gpus % degree == 0 for instance in instances):
        sizes = ", ".join(f"{i.name}'s {i.gpus}" for i in instances)
        raise ConfigError([("--gpus-per-replica", f"{degree} GPUs a replica divide none of "
                            f"{sizes}")])  # fmt: skip
    reasons = []
    for instance in instances:
        divisors = [d for d in range(1, instance.gpus + 1) if instance.gpus % d == 0]
        degrees = divisors if degree is None else [d for d in divisors if d == degree]
        for tp in degrees:
            if not model.splits_over(tp):
                reasons.append(f"vLLM cannot split {model.name} over {tp} GPUs")
                continue
            memory = budget(model, gpu.memory_gib, gpu.gpu_class, tp)
            if memory.fits_weights and (model.embedding or memory.kv_tokens >= tokens):
                return instance, tp, memory
            reasons.append(
                f"{model.name} does not fit {tp} x {gpu.gpu_class} with room for one "
                f"interaction of {tokens} tokens"
            )
    key = "--gpus-per-replica" if degree else "--gpu"
    raise ConfigError([(key, reasons[0])])


def curve(args: argparse.Namespace) -> Curve:
    if args.gpu not in CATALOG:
        raise ConfigError([("--gpu", f"unknown GPU {args.gpu!r}; known: {known_keys()}")])
    gpu, model = CATALOG[args.gpu], _model(args.model)
    workload = Workload(args.input_tokens, 0 if model.embedding else args.output_tokens)
    if model.embedding and args.input_tokens > model.max_positions:
        raise ConfigError(
            [
                (
                    "--input-tokens",
                    f"{model.name} reads at most {model.max_positions} tokens a request",
                )
            ]
        )
    if not model.embedding and args.input_tokens + args.output_tokens > model.max_positions:
        raise ConfigError(
            [
                (
                    "--input-tokens",
                    f"{args.input_tokens} + {args.output_tokens} "
                    f"tokens exceed {model.name}'s context ({model.max_positions})",
                )
            ]
        )
    instance, tp, memory = _shape(
        model, gpu, args.instance_type, args.gpus_per_replica, workload.kv_tokens
    )
    memory = stepped(
        memory, workload, (gpu.memory_gib, gpu.gpu_class, DEFAULT_GPU_MEMORY_UTILIZATION)
    )
    part = parts.part(instance.part)
    if part is None:
        raise ConfigError(
            [("--gpu", f"the serving model has no figures for the GPU of {instance.name}")]
        )
    replica = Replica(
        model,
        part,
        tp,
        memory.batched_tokens,
        memory.kv_tokens if not model.embedding else None,
    )
    points = tuple(replica.curve(sorted(set(args.concurrency)), workload))
    return Curve(gpu, instance, replica, memory, workload, points)


def _point_json(point: Point) -> dict[str, Any]:
    return {
        "concurrency": point.concurrency,
        "ttftSeconds": round(point.ttft_seconds, 4),
        "tpotSeconds": round(point.tpot_seconds, 5),
        "e2eSeconds": round(point.e2e_seconds, 3),
        "outputTokensPerSecond": round(point.output_tokens_per_second, 1),
        "interactionsPerSecond": round(point.interactions_per_second, 3),
        "bound": point.bound,
    }


def curve_json(found: Curve) -> dict[str, Any]:
    replica = found.replica
    return {
        "model": replica.model.name,
        "gpu": found.gpu.key,
        "part": replica.part.name,
        "instanceType": found.instance.name,
        "gpusPerReplica": replica.tensor_parallel,
        "inputTokens": found.workload.input_tokens,
        "outputTokens": found.workload.output_tokens,
        "kvTokens": None if replica.kv_tokens is None else replica.kv_tokens,
        "maxSessions": found.max_sessions,
        "maxNumBatchedTokens": replica.batched_tokens,
        "points": [_point_json(point) for point in found.points],
    }


def curve_text(found: Curve) -> str:
    replica, work = found.replica, found.workload
    held = (
        "no KV cache (an encoder)"
        if found.max_sessions is None
        else (
            f"its KV cache holds {replica.kv_tokens:,} tokens: {found.max_sessions:,} interactions"
        )
    )
    rows = [
        [
            p.concurrency,
            f"{p.ttft_seconds:.3f}",
            f"{p.tpot_seconds * 1000:.1f}",
            f"{p.e2e_seconds:.2f}",
            f"{p.output_tokens_per_second:,.0f}",
            f"{p.interactions_per_second:,.2f}",
            p.bound,
        ]
        for p in found.points
    ]
    return "\n".join(
        [
            f"{replica.model.name} on {replica.tensor_parallel} x {replica.part.name} "
            f"({found.instance.name}, {found.gpu.key}), {work.input_tokens} tokens in, "
            f"{work.output_tokens} out; {held}",
            table(
                [
                    "concurrency",
                    "TTFT s",
                    "TPOT ms",
                    "e2e s",
                    "tokens/s",
                    "interactions/s",
                    "bound",
                ],
                rows,
            ),
            "  one replica, a closed loop of that many users; the serving model's estimate "
            "(docs/serving-physics.md)",
        ]
    )


def plot(found: Curve, path: Path) -> None:
    """Latency against throughput, one point a concurrency: time per output token against
    output tokens/s, and time to first token against interactions/s."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    replica = found.replica
    figure, (tokens, first) = plt.subplots(1, 2, figsize=(12, 4.8))
    panels = (
        (
            tokens,
            [p.output_tokens_per_second for p in found.points],
            [p.tpot_seconds * 1000 for p in found.points],
            "output tokens/s (replica)",
            "time per output token (ms)",
        ),
        (
            first,
            [p.interactions_per_second for p in found.points],
            [p.ttft_seconds for p in found.points],
            "interactions/s (replica)",
            "time to first token (s)",
        ),
    )
    for axes, xs, ys, xlabel, ylabel in panels:
        axes.plot(xs, ys, color="0.6", lw=1, zorder=1)
        for point, x, y in zip(found.points, xs, ys, strict=True):
            axes.scatter([x], [y], color=BOUND_COLOURS[point.bound], zorder=2, s=28)
            axes.annotate(
                str(point.concurrency),
                (x, y),
                textcoords="offset points",
                xytext=(5, 4),
                fontsize=8,
            )
        axes.set_xscale("log")  # concurrency doubles: evenly spaced points
        axes.set_xlabel(f"{xlabel}, log scale")
        axes.set_ylabel(ylabel)
        axes.grid(alpha=0.3)
    first.set_yscale("log")  # a KV-bound queue's wait dwarfs the prefill
    for bound, colour in BOUND_COLOURS.items():
        tokens.scatter([], [], color=colour, label=f"{bound}-bound")
    tokens.legend(title="labels: concurrency", fontsize=8, title_fontsize=8)
    figure.suptitle(
        f"{replica.model.name} on {replica.tensor_parallel} x {replica.part.name} "
        f"({found.instance.name}): {found.workload.input_tokens} tokens in, "
        f"{found.workload.output_tokens} out"
    )
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def run(args: argparse.Namespace) -> int:
    """The command: the curve as JSON or a table, and the plot when asked."""
    writable_file(args.plot, "--plot")
    found = curve(args)
    if args.plot:
        plot(found, args.plot)
    if args.json:
        print(json.dumps(curve_json(found), indent=2))
    else:
        print(curve_text(found))
        if args.plot:
            print(f"wrote {args.plot}")
    return 0
