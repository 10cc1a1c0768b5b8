"""The batch a tier's replicas are planned for, from the serving model (``facts.serving``) and
the tier's targets. Plain functions over plain data, no Pulumi.

A tier states what its users need: the time to first token (``slaTtftSeconds``) and the time
an interaction takes (``serviceSeconds``), for interactions of ``inputTokens`` in and
``outputTokens`` out. Its demand is ``expectedConcurrency`` interactions in flight at
``serviceSeconds`` each: ``expectedConcurrency / serviceSeconds`` new interactions a second.

- A ttft-first tier runs the largest batch whose TTFT and interaction time meet the targets
  (``latency``-bound), unless the KV cache (``kv``) or a pin (``pin``) holds it lower.
- A throughput-first tier trades per-stream speed for throughput within its request timeout
  (or within ``serviceSeconds`` when the stack sets it): it runs the smallest batch that
  reaches 90% of the most a replica can serve with interactions inside that limit and TTFT
  inside its target (``compute``- or ``memory``-bound), or what the KV cache or a pin allows.
- ``concurrencyPerGpu`` pins the batch; one the replica cannot serve within the targets is
  refused on that key. A pinned ``maxNumSeqs`` caps the batch at the 1.5x of checklist C2.
- Without a model the serving model can size, or on a part it does not know, the catalog's
  interactions per GPU hold, at ``serviceSeconds`` an interaction (``catalog``).

The tier's interactions then take the batch's time, not ``serviceSeconds``: at its demand
``expectedConcurrency x interaction time / serviceSeconds`` are in flight (Little's law), and
the planner sizes the tier for those (``Serving.pace``).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, replace
from decimal import Decimal
from fractions import Fraction
from typing import Literal

from facts import defaults, mig, parts
from facts.catalog import Gpu, InstanceType
from facts.checklist import MAX_NUM_SEQS_MIN_RATIO
from facts.models import Model
from facts.parts import Part
from facts.serving import Point, Promise, Replica, Workload
from facts.vllm_memory import Budget
from infra.config import TierConfig

Bound = Literal["latency", "kv", "compute", "memory", "catalog", "pin"]
KNEE = 0.90
"""A throughput-first tier runs the smallest batch within this share of its best throughput."""
MOST_SEQUENCES = 4096
"""The largest batch searched: far beyond any KV cache of the shipped models at 950 tokens."""


class PhysicsError(ValueError):
    """A tier whose replica cannot meet its targets; ``key`` is the tier key to blame."""

    def __init__(self, key: str, reason: str, shortfall: float) -> None:
        super().__init__(reason)
        self.key = key
        self.shortfall = shortfall
        """How far the shape it describes is from the targets (its worst ratio to one): of
        several shapes that miss, the nearest says why."""


@dataclass(frozen=True)
class Targets:
    """What a tier's users need of one interaction."""

    ttft_seconds: float
    interaction_seconds: float
    """The longest interaction allowed: serviceSeconds (ttft-first, or throughput-first when
    the stack sets it), else the request timeout."""
    service_seconds: Decimal
    """The pace the demand is counted at."""
    throughput_first: bool
    interaction_key: str = "serviceSeconds"
    """The tier key that set ``interaction_seconds``."""
    pinned_sessions: int | None = None
    """Sessions a replica is pinned to (concurrencyPerGpu x its GPUs)."""
    max_sessions: int | None = None
    """The cap a pinned maxNumSeqs sets."""


@dataclass(frozen=True)
class Serving:
    """One replica at its planned batch."""

    sessions: int
    bound: Bound
    point: Point | None
    """The serving model's figures at the batch; None for the catalog's figure."""
    replica: Replica | None
    """The replica the serving model ran; None for the catalog's figure."""
    service_seconds: Decimal
    """The pace the tier's demand is counted at (``serviceSeconds``)."""

    @property
    def part(self) -> Part | None:
        return None if self.replica is None else self.replica.part

    @property
    def interaction_seconds(self) -> float | None:
        return None if self.point is None else self.point.e2e_seconds

    @property
    def pace(self) -> Fraction:
        """Interaction time over ``serviceSeconds``: the tier's interactions in flight per
        interaction of its expected concurrency (1 for the catalog's figure)."""
        if self.point is None:
            return Fraction(1)
        millis = max(1, round(self.point.e2e_seconds * 1000))
        return Fraction(millis, 1000) / Fraction(self.service_seconds)


def replica(
    model: Model | None,
    device: Budget | None,
    gpu: Gpu,
    instance: InstanceType,
    tensor_parallel: int,
    profile: str | None = None,
) -> Replica | None:
    """The serving model's replica of a shape; None when it cannot be modelled (an unknown
    model, or a part the facts do not record)."""
    part = parts.part(instance.part)
    if model is None or device is None or part is None:
        return None
    if profile is not None:
        shape = mig.model_for(gpu.key).profiles[profile]
        part = part.slice(shape.compute, mig.COMPUTE_SLICES, shape.width, mig.MEMORY_SLICES)
    return Replica(
        model=model,
        part=part,
        tensor_parallel=tensor_parallel,
        batched_tokens=device.batched_tokens,
        kv_tokens=device.kv_tokens,
    )


def workload_for(model: Model, demand: Demand) -> Workload:
    """The interaction a replica serves: an encoder's request is its input alone, at most
    its context."""
    if model.embedding:
        return Workload(min(demand.input_tokens, model.max_positions), 0)
    return Workload(demand.input_tokens, demand.output_tokens, demand.session_tokens)


def _meets(point: Point, targets: Targets) -> bool:
    return (
        point.ttft_seconds <= targets.ttft_seconds
        and point.e2e_seconds <= targets.interaction_seconds
    )


def _shortfall(point: Point, targets: Targets) -> float:
    return max(
        point.ttft_seconds / targets.ttft_seconds,
        point.e2e_seconds / targets.interaction_seconds,
    )


def _largest(replica: Replica, workload: Workload, targets: Targets, cap: int) -> int:
    """The largest batch up to ``cap`` that meets the targets; 0 when none does."""
    low, high = 0, cap
    while low < high:
        middle = (low + high + 1) // 2
        if _meets(replica.point(middle, workload), targets):
            low = middle
        else:
            high = middle - 1
    return low


def _knee(replica: Replica, workload: Workload, most: int) -> int:
    """The smallest batch whose throughput is within ``KNEE`` of the batch ``most``'s."""
    best = replica.point(most, workload).interactions_per_second
    low, high = 1, most
    while low < high:
        middle = (low + high) // 2
        if replica.point(middle, workload).interactions_per_second >= KNEE * best:
            high = middle
        else:
            low = middle + 1
    return low


def _describe(replica: Replica, point: Point, workload: Workload) -> str:
    return (
        f"{replica.model.name} on {replica.tensor_parallel} x {replica.part.name} at "
        f"{point.concurrency} session{'s' if point.concurrency > 1 else ''}: "
        f"TTFT {point.ttft_seconds:.2f} s, "
        f"{workload.output_tokens} token{'s' if workload.output_tokens > 1 else ''} out at "
        f"{point.tpot_seconds * 1000:.1f} ms each, "
        f"{point.e2e_seconds:.1f} s an interaction"
    )


@functools.lru_cache(maxsize=4096)
def plan_serving(replica: Replica, workload: Workload, targets: Targets) -> Serving:
    """The batch one replica is planned for, and what bound it. A pin beyond the KV cache
    is the caller's to cap (``serve_shape``). Pure, so remembered: the instance types of a
    GPU mostly run the same replica (five g6e sizes carry one L40S each)."""
    if targets.pinned_sessions is not None:
        point = replica.point(targets.pinned_sessions, workload)
        if not _meets(point, targets):
            raise PhysicsError(
                "concurrencyPerGpu",
                f"{_describe(replica, point, workload)}; the tier's targets are TTFT "
                f"{targets.ttft_seconds:g} s and {targets.interaction_seconds:g} s an "
                "interaction: lower concurrencyPerGpu or unset it",
                _shortfall(point, targets),
            )
        return Serving(targets.pinned_sessions, "pin", point, replica, targets.service_seconds)
    kv = replica.max_sessions(workload)
    cap = min(kv if kv is not None else MOST_SEQUENCES, MOST_SEQUENCES)
    if targets.max_sessions is not None:
        cap = min(cap, targets.max_sessions)
    largest = _largest(replica, workload, targets, cap)
    if largest == 0:
        one = replica.point(1, workload)
        key = (
            "slaTtftSeconds" if one.ttft_seconds > targets.ttft_seconds else targets.interaction_key
        )
        raise PhysicsError(
            key,
            f"{_describe(replica, one, workload)}; the tier's targets are TTFT "
            f"{targets.ttft_seconds:g} s and {targets.interaction_seconds:g} s an interaction: "
            f"raise {key} or choose a faster GPU, more GPUs a replica (gpusPerReplica) or a "
            "smaller model",
            _shortfall(one, targets),
        )
    sessions, found = largest, _cap_bound(largest, cap, kv, targets)
    if targets.throughput_first:
        sessions = _knee(replica, workload, largest)
        if sessions < largest:
            found = replica.point(sessions, workload).bound
    point = replica.point(sessions, workload)
    return Serving(sessions, found, point, replica, targets.service_seconds)


@dataclass(frozen=True)
class Demand:
    """What a tier asks of each replica: its targets, its interactions' tokens, its pin."""

    targets: Targets
    input_tokens: int
    output_tokens: int
    per_gpu: int | None = None
    """``concurrencyPerGpu``, when the stack pins it."""
    session_tokens: int = 0
    """KV tokens one interaction keeps (``sessionTokens``)."""

    @property
    def kv_tokens(self) -> int:
        """KV cache one interaction keeps: its own tokens, or more when it carries turns."""
        return max(self.session_tokens, self.input_tokens + self.output_tokens)


def demand_of(tier: TierConfig) -> Demand:
    """A tier's demand as its config states it (defaults resolved)."""
    sla = tier.sla_ttft_seconds or Decimal(defaults.SLA_TTFT_SECONDS[tier.latency_class])
    throughput_first = tier.latency_class == "throughput-first"
    timeout = throughput_first and "service_seconds" not in tier.model_fields_set
    return Demand(
        Targets(
            ttft_seconds=float(sla),
            interaction_seconds=float(
                tier.request_timeout_seconds if timeout else tier.service_seconds
            ),
            service_seconds=tier.service_seconds,
            throughput_first=throughput_first,
            interaction_key="requestTimeoutSeconds" if timeout else "serviceSeconds",
            max_sessions=max_sessions_of(tier.max_num_seqs),
        ),
        tier.input_tokens,
        tier.output_tokens,
        tier.concurrency_per_gpu,
        tier.session_tokens,
    )


def default_demand(gpu: Gpu, model: str) -> Demand:
    """The demand of a stack's tier of the GPU's latency class serving ``model`` that sets no
    other key (``agentfleet size``): the defaults a stack gets."""
    return demand_of(
        TierConfig(
            gpu=gpu.key,
            latency_class=gpu.latency_class,
            user_facing=False,
            model=model,
            expected_concurrency=1,
        )
    )


def serve_shape(
    model: Model | None,
    device: Budget | None,
    gpu: Gpu,
    instance: InstanceType,
    tensor_parallel: int,
    profile: str | None,
    catalog: int,
    demand: Demand,
) -> Serving:
    """The planned batch of one replica shape. ``catalog`` is the catalog's sessions for the
    shape; the pin, when set, is ``concurrencyPerGpu`` scaled the same way. Where the
    serving model cannot run, the catalog's (or the pin's) sessions hold, capped by the KV
    cache when the model's memory is known."""
    pinned = None
    if demand.per_gpu is not None:
        pinned = catalog  # the caller scales the pin like the catalog figure
    kv = None
    if model is not None and device is not None and not model.embedding:
        kv = device.sessions(demand.kv_tokens)
    pace = demand.targets.service_seconds
    modelled = replica(model, device, gpu, instance, tensor_parallel, profile)
    if modelled is None:
        sessions = catalog if kv is None else min(catalog, kv)
        bound: Bound = "pin" if pinned is not None else "catalog"
        return Serving(sessions, "kv" if sessions < catalog else bound, None, None, pace)
    workload = workload_for(modelled.model, demand)
    if pinned is not None and kv is not None and pinned > kv:  # the pin, as far as it fits
        held = plan_serving(modelled, workload, replace(demand.targets, pinned_sessions=kv))
        return replace(held, bound="kv")
    return plan_serving(modelled, workload, replace(demand.targets, pinned_sessions=pinned))


def promise(tier: TierConfig, serving: Serving) -> Promise | None:
    """What a replica of the tier is planned to deliver, as its pods carry it; None where
    the serving model did not plan it."""
    replica = serving.replica
    if replica is None or serving.point is None:
        return None
    demand = demand_of(tier)
    workload = workload_for(replica.model, demand)
    return Promise(
        part=replica.part.key.split("/")[0],
        ttft_seconds=demand.targets.ttft_seconds,
        interaction_seconds=demand.targets.interaction_seconds,
        input_tokens=workload.input_tokens,
        output_tokens=workload.output_tokens,
        session_tokens=workload.session_tokens,
    )


def _cap_bound(largest: int, cap: int, kv: int | None, targets: Targets) -> Bound:
    if largest < cap:
        return "latency"
    if targets.max_sessions is not None and cap == targets.max_sessions:
        return "pin"
    if kv is not None and cap == kv:
        return "kv"
    return "latency"


def max_sessions_of(max_num_seqs: int | None) -> int | None:
    """The sessions a pinned ``--max-num-seqs`` allows inside C2's band."""
    if max_num_seqs is None:
        return None
    return max(1, math.floor(max_num_seqs / MAX_NUM_SEQS_MIN_RATIO))
