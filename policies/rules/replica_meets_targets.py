"""Serving physics: a vLLM Deployment's replica can serve the sessions it is sized for within
the targets it declares, on the GPUs it asks for, or users see slower tokens and later first
tokens than the tier promised (and the autoscaler, counting sessions, never adds a replica)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts import mig, parts
from facts.catalog import CATALOG
from facts.labels import GPU, SERVING, SESSIONS_PER_REPLICA
from facts.serving import Promise, Replica
from facts.vllm_memory import budget
from policies.building import PolicyMeta, Report, policy
from policies.properties import number, pod_meta
from policies.serving import Served, served_by

META = PolicyMeta(
    name="replica-meets-targets",
    item="serving",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.concurrencyPerGpu",
        "agentfleet:fleet.tiers.<tier>.serviceSeconds",
        "agentfleet:fleet.tiers.<tier>.slaTtftSeconds",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="A vLLM Deployment's replica serves the sessions it is sized for (its "
    "agentfleet.io/sessions-per-replica annotation) within the targets it declares (its "
    "agentfleet.io/serving annotation: the time to first token and the time an interaction "
    "may take), as the serving model computes them for its model and GPUs, and its KV cache "
    "holds them.",
    remediation="Size replicas for fewer sessions (lower concurrencyPerGpu or unset it), "
    "give each replica more GPUs or a faster GPU, serve a smaller model, or relax the "
    "targets (serviceSeconds, slaTtftSeconds).",
)


def _replica(server: Served, promise: Promise) -> Replica:
    """The replica the Deployment runs, as the serving model sees it: the promised part (a
    MIG slice of it where the pod asks for one), vLLM's memory budget and step size."""
    assert server.model is not None
    assert server.device_gib is not None
    assert server.gpu_class is not None
    part = parts.PARTS[promise.part]
    if server.slice is not None:
        shape = server.slice
        part = part.slice(shape.compute, mig.COMPUTE_SLICES, shape.width, mig.MEMORY_SLICES)
    memory = budget(
        server.model,
        server.device_gib,
        server.gpu_class,
        server.tensor_parallel,
        server.utilization,
        server.batched_tokens,
    )
    return Replica(
        model=server.model,
        part=part,
        tensor_parallel=server.tensor_parallel,
        batched_tokens=memory.batched_tokens,
        kv_tokens=None if server.model.embedding else memory.kv_tokens,
    )


def _parts_of(gpu_key: object) -> set[str]:
    """The parts the instance types of a catalog GPU carry; none for another key."""
    if not isinstance(gpu_key, str) or gpu_key not in CATALOG:
        return set()
    return {i.part for i in CATALOG[gpu_key].instance_types if i.part is not None}


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    servers = served_by(args)
    annotations = pod_meta(args.props, "annotations")
    text, sessions = annotations.get(SERVING), number(annotations.get(SESSIONS_PER_REPLICA))
    if not isinstance(text, str) or not sessions:
        args.not_applicable("declares no serving targets or sessions per replica")
        return
    try:
        promise = Promise.from_json(text)
    except ValueError as error:
        report(f"its {SERVING} annotation is not a serving promise ({error})")
        return
    if promise.part not in parts.PARTS:
        report(f"its {SERVING} annotation names an unknown GPU part {promise.part!r}")
        return
    carried = _parts_of(annotations.get(GPU))
    if carried and promise.part not in carried:
        report(
            f"its {SERVING} annotation names the GPU part {promise.part}; the instance types "
            f"of its GPU ({annotations.get(GPU)}) carry {', '.join(sorted(carried))}"
        )
        return
    for server in servers:
        if server.model is None or server.device_gib is None or server.gpu_class is None:
            continue  # model-shape-known says why
        if not server.model.splits_over(server.tensor_parallel):
            continue  # model-fits-gpu says why
        replica = _replica(server, promise)
        if replica.kv_tokens is not None and replica.kv_tokens <= 0:
            continue  # model-fits-gpu says why
        point = replica.point(int(sessions), promise.workload)
        if promise.met_by(point):
            continue
        held = (
            ""
            if point.bound != "kv"
            else (f"; its KV cache holds {replica.max_sessions(promise.workload)} of them")
        )
        report(
            f"container {server.container}: {server.model.name} on {server.tensor_parallel} x "
            f"{replica.part.name} at its {int(sessions)} sessions: TTFT "
            f"{point.ttft_seconds:.2f} s, {point.e2e_seconds:.2f} s an interaction of "
            f"{promise.input_tokens} tokens in and {promise.output_tokens} out{held}; it "
            f"declares TTFT {promise.ttft_seconds:g} s and {promise.interaction_seconds:g} s"
        )


POLICY = policy(META, check)
