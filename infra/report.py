"""Turning plans into what people and pipelines read: aligned tables and JSON objects."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from facts import parts
from facts.catalog import CATALOG
from facts.defaults import OUTPUT_TOKENS
from facts.money import cents, exact
from facts.vllm_memory import GIB
from infra.fitting import ShapeFit
from infra.physics import Serving
from infra.plan import FleetPlan, TierPlan
from infra.pricing import PriceList
from infra.sizing import Scenario, SizedTier
from infra.startup import tier_startup
from infra.summary import (
    burst_json,
    headroom_json,
    money,
    reservation_json,
    serving_json,
    tier_summary,
)

if TYPE_CHECKING:
    from infra.offline.mocks import Registration
    from infra.offline.policy_client import Finding
    from infra.offline.preview import Preview

MICRO = Decimal("0.000001")


def rate(amount: Decimal) -> float:
    """A JSON number for a per-interaction rate, to a millionth of a dollar."""
    return float(amount.quantize(MICRO))


def usd(amount: Decimal) -> str:
    return f"{cents(amount):,.2f}"


def table(header: Sequence[str], rows: Sequence[Sequence[object]], indent: str = "  ") -> str:
    """Columns aligned; text to the left, numbers to the right."""
    cells = [[str(cell) for cell in header]] + [[_cell(cell) for cell in row] for row in rows]
    numeric = [
        all(isinstance(row[i], int | float | Decimal) for row in rows if row[i] != "")
        for i in range(len(header))
    ]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = []
    for row in cells:
        parts = [
            cell.rjust(width) if right else cell.ljust(width)
            for cell, width, right in zip(row, widths, numeric, strict=True)
        ]
        lines.append(indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def _cell(value: object) -> str:
    if isinstance(value, Decimal):
        return usd(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


# --- agentfleet size ------------------------------------------------------------------


def _shape_json(shape: ShapeFit) -> dict[str, Any]:
    """A replica shape's fit: what vLLM's budget leaves for the KV cache and what it holds."""
    device = shape.budget
    return {
        "profile": shape.profile,
        "tensorParallel": shape.tensor_parallel,
        "weightsGiB": None if device is None else round(device.model.weight_bytes / GIB, 1),
        "kvTokensPerReplica": None if device is None else device.kv_tokens,
        "kvSessionsPerReplica": shape.kv_sessions,
        "catalogSessionsPerReplica": shape.catalog_sessions,
        "sessionsPerReplica": shape.sessions,
        "maxModelLen": shape.max_model_len,
        "interactionSeconds": None
        if shape.serving.point is None
        else round(shape.serving.point.e2e_seconds, 4),
        "bound": shape.serving.bound,
    }


def _sized_tier_json(tier: SizedTier) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "tier": tier.tier,
        "gpu": tier.gpu,
        "interactions": tier.interactions,
        "gpus": tier.gpus,
        "costPerHour": money(tier.cost_per_hour),
    }
    if tier.fit is not None and tier.fit.budget is not None:
        shown["model"] = tier.fit.budget.model.name
        shown.update(_shape_json(tier.fit))
    return shown


def scenario_json(scenario: Scenario) -> dict[str, Any]:
    return {
        "concurrency": scenario.concurrency,
        "tiers": [_sized_tier_json(tier) for tier in scenario.tiers],
        "totalGpus": scenario.gpus,
        "totalCostPerHour": money(scenario.cost_per_hour),
        "costPerInteractionHour": rate(scenario.cost_per_interaction_hour),
    }


def sizing_json(scenarios: Sequence[Scenario], prices: PriceList) -> dict[str, Any]:
    return {
        "prices": {"source": prices.source, "region": prices.region, "asOf": prices.as_of},
        "scenarios": [scenario_json(scenario) for scenario in scenarios],
    }


def sizing_text(scenarios: Sequence[Scenario], prices: PriceList) -> str:
    """The scenarios; with AWS's prices, a line saying whose and when (the seed's tables
    print as they always have)."""
    text = "\n\n".join(scenario_text(scenario) for scenario in scenarios)
    if prices.source == "aws":
        text += (
            f"\n\nprices: AWS on-demand in {prices.region} (price list as of {prices.as_of}), "
            "per GPU of each GPU's default instance type"
        )
    return text


def scenario_text(scenario: Scenario) -> str:
    rows: list[list[object]] = [
        [tier.tier, tier.gpu, tier.interactions, tier.gpus, tier.cost_per_hour]
        for tier in scenario.tiers
    ]
    rows.append(["total", "", scenario.concurrency, scenario.gpus, scenario.cost_per_hour])
    lines = [
        f"{scenario.concurrency:,} concurrent interactions",
        table(["tier", "GPU", "interactions", "GPUs", "$/hour"], rows),
        f"  cost per interaction-hour: ${scenario.cost_per_interaction_hour.quantize(MICRO)}",
    ]
    for tier in scenario.tiers:
        if tier.fit is not None and tier.fit.budget is not None:
            lines.append(f"  {tier.tier}: {_fit_sentence(tier.fit)}")
            lines.append(f"    {tier.tier}: {serving_sentence(tier.fit.serving, OUTPUT_TOKENS)}")
    return "\n".join(lines)


def _fit_sentence(shape: ShapeFit) -> str:
    device = shape.budget
    assert device is not None
    where = "1 GPU" if shape.tensor_parallel == 1 else f"{shape.tensor_parallel} GPUs"
    if shape.profile is not None:
        where = f"a {shape.profile} slice"
    held = "" if shape.kv_sessions is None else f" (its KV cache holds {shape.kv_sessions:,})"
    return (
        f"{device.model.name}, {device.model.weight_bytes / GIB:.1f} GiB of weights on {where} "
        f"a replica, {device.kv_tokens:,} KV tokens: {shape.sessions:,} sessions a replica{held}"
    )


def cost_lines(plan: FleetPlan) -> list[str]:
    """The fleet as it runs at the expected concurrency, overnight and at its ceiling, and
    whose prices."""
    budget = "none set" if plan.budget_per_hour is None else f"${usd(plan.budget_per_hour)}/h"
    return [
        f"  fleet: ${usd(plan.cost_per_hour)}/h for {plan.expected_concurrency:,} concurrent "
        f"interactions (the instances the autoscaler holds for them), "
        f"${plan.cost_per_interaction_hour.quantize(MICRO)} per interaction-hour",
        f"  floor (overnight): ${usd(plan.floor_cost_per_hour)}/h; every tier at its ceiling: "
        f"${usd(plan.max_cost_per_hour)}/h; budget: {budget}",
        f"  prices: {plan.prices.describe()}, {plan.region}; a tier's own prices win",
    ]


def headroom_lines(tiers: Sequence[TierPlan]) -> list[str]:
    """How full each tier's replicas run at the expected load, and why."""
    lines = ["headroom (queueing on each replica's sessions; docs/capacity-and-cost.md):"]
    for tier in tiers:
        group = tier.replica_groups[0]
        lines.append(
            f"  {tier.name}: {tier.headroom_share:+.0%}, a replica of {group.sessions_per_replica}"
            f" sessions held at {group.in_flight_target} in flight: {tier.headroom.why()}; the "
            "target may sit up to 10% lower, so the HPA's tolerance never stops a climb short"
        )
    return lines


def reservation_lines(tiers: Sequence[TierPlan]) -> list[str]:
    """Each reservation, billed whole whether its instances run or not."""
    lines = []
    for tier in tiers:
        if tier.reservation is None:
            continue
        config = tier.reservation.config
        kind = "Capacity Block" if config.kind == "capacity-block" else "capacity reservation"
        ends = "" if config.ends_at is None else f", ends {config.ends_at.isoformat()}"
        lines.append(
            f"  {tier.name}: {kind} {config.id}, {config.instances} x {tier.instance.name} "
            f"at ${exact(tier.reservation.price_per_instance_hour)}/h, "
            f"${usd(tier.reservation.cost_per_hour)}/h whether used or not{ends}"
        )
    return lines


def burst_lines(tiers: Sequence[TierPlan]) -> list[str]:
    """Floor and burst apart, for the tiers that burst onto spot."""
    return [
        f"  {tier.name}: on-demand floor {tier.min_instances} instance(s) at "
        f"${usd(tier.floor_cost_per_hour)}/h; bursts onto spot up to "
        f"{tier.burst.max_instances} more, ${usd(tier.burst_max_cost_per_hour)}/h at that ceiling"
        for tier in tiers
        if tier.burst is not None
    ]


def fit_json(tier: TierPlan) -> dict[str, Any]:
    """Will it fit: every value the plan derived from the model's shape."""
    model = tier.fit.model
    return {
        "model": tier.config.model,
        "known": model is not None,
        "parametersBillions": None if model is None else round(model.parameters / 1e9, 3),
        "dtype": None if model is None else model.dtype,
        "sessionTokens": tier.fit.shapes[0].session_tokens,
        "gpuMemoryUtilization": float(tier.config.gpu_memory_utilization),
        "shapes": [_shape_json(shape) for shape in tier.fit.shapes],
        "notes": list(tier.fit.notes),
    }


def fit_lines(tiers: Sequence[TierPlan]) -> list[str]:
    """Will it fit, for a person: one line a replica shape, and why the plan chose it."""
    lines = ["will it fit (vLLM's memory budget; docs/will-it-fit.md):"]
    for tier in tiers:
        for shape in tier.fit.shapes:
            name = tier.name if shape.profile is None else f"{tier.name} {shape.profile}"
            if shape.budget is None:
                lines.append(
                    f"  {name}: {tier.config.model} is not in the model table and has no "
                    "modelProfile: fit not checked"
                )
            else:
                lines.append(f"  {name}: {_fit_sentence(shape)}")
        lines += [f"    {tier.name}: {note}" for note in tier.fit.notes]
    return lines


def startup_lines(tiers: Sequence[TierPlan]) -> list[str]:
    """Time to ready, for a person: a new node and a replica from nothing, and what a node
    update's drain may take at once."""
    lines = ["time to ready (a new node, then a replica on it; docs/operating.md):"]
    for tier in tiers:
        start = tier_startup(tier)
        on_node = tier.replica_groups[0].replicas_per_instance
        budget = start.disruption_budget(on_node)
        source = "S3 (streamed)" if tier.weights_in_s3 else "the Hugging Face Hub"
        lines.append(
            f"  {tier.name}: {start.time_to_ready:.0f} s: node and vLLM image "
            f"{start.node:.0f} s, then {start.weights_gib:.1f} GiB of weights from "
            f"{source} and vLLM's engine start, {start.pod():.0f} s (the startup probe "
            f"allows {start.startup_probe_seconds(on_node)} s); a node update drains "
            f"{on_node} replica{'s' if on_node != 1 else ''} a node, {budget} at once"
        )
    return lines


BOUND_SAYS = {
    "latency": "the largest batch inside the tier's TTFT and interaction targets",
    "kv": "what the KV cache holds",
    "compute": "throughput within 10% of the replica's best; compute-bound",
    "memory": "throughput within 10% of the replica's best; memory-bound",
    "pin": "pinned by the stack",
    "catalog": "the catalog's interactions per GPU (no serving model for it)",
}


def serving_sentence(serving: Serving, output_tokens: int) -> str:
    """One replica at its planned batch, and what bound the batch."""
    sessions = f"{serving.sessions:,} sessions a replica ({BOUND_SAYS[serving.bound]})"
    point = serving.point
    if point is None:
        return f"{sessions}, {float(serving.service_seconds):g} s an interaction (serviceSeconds)"
    if not point.output_tokens_per_second:  # an encoder: one pass a request
        return (
            f"{sessions}; {point.e2e_seconds:.3f} s a request, "
            f"{point.interactions_per_second:,.0f} requests/s a replica"
        )
    return (
        f"{sessions}; TTFT {point.ttft_seconds:.3f} s, {output_tokens} "
        f"token{'s' if output_tokens > 1 else ''} out at "
        f"{point.tpot_seconds * 1000:.1f} ms each, {point.e2e_seconds:.2f} s an interaction, "
        f"{point.output_tokens_per_second:,.0f} tokens/s a replica"
    )


def serving_lines(plan: FleetPlan) -> list[str]:
    """What one replica of each tier's shapes does at its planned batch
    (docs/serving-physics.md), and the part the serving model ran where the catalog's key
    names another."""
    lines = ["serving physics (one replica at its planned batch; docs/serving-physics.md):"]
    for tier in plan.tiers:
        for shape in tier.fit.shapes:
            name = tier.name if shape.profile is None else f"{tier.name} {shape.profile}"
            output = tier.config.output_tokens
            lines.append(f"  {name}: {serving_sentence(shape.serving, output)}")
        gpu, carried = CATALOG[tier.config.gpu], parts.part(tier.instance.part)
        if carried is not None and gpu.part is not None and carried.key != gpu.part:
            lines.append(
                f"    {tier.name}: {tier.instance.name} carries {carried.name}, not the "
                f"{gpu.name} that {gpu.key} names: the serving model runs on {carried.name}, "
                + (
                    f"at {gpu.key}'s price"
                    if plan.prices.source == "seed"
                    else f"at {tier.instance.name}'s price"
                )
            )
    return lines


# --- agentfleet validate --------------------------------------------------------------


def tier_json(tier: TierPlan) -> dict[str, Any]:
    config = tier.config
    return {
        "tier": tier.name,
        "gpu": config.gpu,
        "latencyClass": config.latency_class,
        "userFacing": config.user_facing,
        "capacity": tier.capacity,
        "model": config.model,
        "instanceType": tier.instance.name,
        "gpusPerInstance": tier.instance.gpus,
        "interactions": config.expected_concurrency,
        "gpus": tier.gpus,
        "instances": tier.instances,
        "instancesAtExpected": tier.instances,
        "pricePerInstanceHour": float(tier.price_per_instance_hour),
        "headroom": headroom_json(tier),
        "timeToReadySeconds": round(tier_startup(tier).time_to_ready),
        "minInstances": tier.min_instances,
        "maxInstances": tier.max_instances,
        "mig": dict(config.mig) if config.mig else None,
        "replicaGroups": [
            {
                "profile": group.profile,
                "resource": group.resource,
                "resourceCount": group.resource_count,
                "replicasPerInstance": group.replicas_per_instance,
                "sessionsPerReplica": group.sessions_per_replica,
                "maxNumSeqs": group.max_num_seqs,
            }
            for group in tier.replica_groups
        ],
        "pricePerGpuHour": float(tier.price_per_gpu_hour),
        "costPerHour": money(tier.cost_per_hour),
        "maxCostPerHour": money(tier.max_cost_per_hour),
        "scaling": {
            "queueDepthPerInstance": config.scaling.queue_depth_per_replica,
            "scaleOutSustainSeconds": tier.scale_out_sustain_seconds,
            "scaleInIdleSeconds": config.scaling.scale_in_idle_seconds,
        },
        "healthCheckIntervalSeconds": config.load_balancer.health_check_interval_seconds,
        "floorCostPerHour": money(tier.floor_cost_per_hour),
        "burst": burst_json(tier),
        "reservation": reservation_json(tier),
        "fit": fit_json(tier),
        **serving_json(tier),
    }


def fleet_json(stack: str, plan: FleetPlan) -> dict[str, Any]:
    return {
        "stack": stack,
        "environment": plan.environment,
        "region": plan.region,
        "tiers": [tier_json(tier) for tier in plan.tiers],
        "interactions": plan.expected_concurrency,
        "gpus": plan.gpus,
        "costPerHour": money(plan.cost_per_hour),
        "floorCostPerHour": money(plan.floor_cost_per_hour),
        "maxCostPerHour": money(plan.max_cost_per_hour),
        "costPerInteractionHour": rate(plan.cost_per_interaction_hour),
        "prices": plan.prices.to_json(),
        "budgetPerHourUsd": None if plan.budget_per_hour is None else money(plan.budget_per_hour),
    }


def fleet_text(stack: str, plan: FleetPlan) -> str:
    rows: list[list[object]] = [
        [
            tier.name,
            tier.config.gpu,
            tier.instance.name,
            tier.capacity,
            f"{tier.min_instances}-{tier.max_instances}",
            tier.instances,
            tier.config.expected_concurrency,
            tier.gpus,
            ", ".join(str(group.max_num_seqs) for group in tier.replica_groups),
            tier.cost_per_hour,
        ]
        for tier in plan.tiers
    ]
    rows.append(
        ["total", "", "", "", "", "", plan.expected_concurrency, plan.gpus, "", plan.cost_per_hour]
    )
    return "\n".join(
        [
            f"stack {stack} ({plan.environment}, {plan.region}, cluster {plan.cluster.name})",
            table(
                [
                    "tier",
                    "GPU",
                    "instance",
                    "capacity",
                    "floor-ceiling",
                    "held",
                    "interactions",
                    "GPUs",
                    "max-num-seqs",
                    "$/hour",
                ],
                rows,
            ),
            *cost_lines(plan),
            *burst_lines(plan.tiers),
            *reservation_lines(plan.tiers),
            "",
            *headroom_lines(plan.tiers),
            "",
            *fit_lines(plan.tiers),
            "",
            *startup_lines(plan.tiers),
            "",
            *serving_lines(plan),
        ]
    )


# --- agentfleet plan ------------------------------------------------------------------


def _resource_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1] if urn else "(stack)"


SECRET = "[secret]"  # noqa: S105 - what a secret input is shown as


def shown(value: Any) -> Any:
    """An input as ``pulumi preview --json`` shows it: secrets as ``[secret]``."""
    from pulumi.runtime import rpc  # only the plan has Pulumi loaded; `size` stays light

    def walk(item: Any) -> Any:
        if rpc.is_rpc_secret(item):
            return SECRET
        if isinstance(item, dict):
            return {key: walk(inner) for key, inner in item.items()}
        if isinstance(item, list | tuple):
            return [walk(inner) for inner in item]
        return item

    return walk(value)


def state(registration: Registration) -> dict[str, Any]:
    """A resource's state as a ``pulumi preview --json`` step shows it."""
    return {
        "type": registration.type,
        "urn": registration.urn,
        "custom": registration.custom,
        "parent": registration.parent or "",
        "inputs": shown(registration.inputs),
    }


def step(registration: Registration, op: str = "create") -> dict[str, Any]:
    """One resource as a step of ``pulumi preview --json``."""
    found: dict[str, Any] = {"op": op, "urn": registration.urn}
    if registration.provider:
        found["provider"] = registration.provider
    found["newState"] = state(registration)
    return found


def steps(result: Preview) -> list[dict[str, Any]]:
    """Each resource as a step of ``pulumi preview --json``: every one a create, offline.
    The stack itself is the root of the URNs, not a step."""
    return [step(registration) for registration in result.registrations]


def finding_json(finding: Finding) -> dict[str, str]:
    return {
        "policy": finding.policy,
        "enforcement": finding.enforcement,
        "resource": finding.resource,
        "message": finding.message,
    }


def preview_json(result: Preview) -> dict[str, Any]:
    plan = result.plan
    planned = steps(result)
    return {
        "stack": result.stack,
        "tiers": [tier_summary(tier) for tier in plan.tiers],
        "costPerHour": money(plan.cost_per_hour),
        "floorCostPerHour": money(plan.floor_cost_per_hour),
        "maxCostPerHour": money(plan.max_cost_per_hour),
        "costPerInteractionHour": rate(plan.cost_per_interaction_hour),
        "prices": plan.prices.to_json(),
        "resources": [
            {"type": r.type, "name": r.name, "parent": r.parent or ""} for r in result.registrations
        ],
        "findings": [finding_json(f) for f in result.findings],
        "steps": planned,
        "changeSummary": {"create": len(planned)},
    }


def preview_text(result: Preview) -> str:
    plan = result.plan
    rows: list[list[object]] = [
        [
            tier.name,
            tier.config.gpu,
            tier.instance.name,
            tier.capacity,
            f"{tier.min_instances}-{tier.max_instances}",
            tier.instances,
            tier.gpus,
            tier.cost_per_hour,
        ]
        for tier in plan.tiers
    ]
    rows.append(["total", "", "", "", "", "", plan.gpus, plan.cost_per_hour])
    lines = [
        f"stack {result.stack} ({plan.environment}, {plan.region}, cluster {plan.cluster.name})",
        "",
        table(
            ["tier", "GPU", "instance", "capacity", "floor-ceiling", "held", "GPUs", "$/hour"],
            rows,
        ),
        "",
        *cost_lines(plan),
        *burst_lines(plan.tiers),
        *reservation_lines(plan.tiers),
        "",
        *headroom_lines(plan.tiers),
        "",
        *fit_lines(plan.tiers),
        "",
        *startup_lines(plan.tiers),
        "",
        *serving_lines(plan),
    ]
    counts = result.counts()
    columns = [tier.name for tier in plan.tiers if tier.name in counts] + (
        ["fleet"] if "fleet" in counts else []
    )
    types = sorted({kind for tally in counts.values() for kind in tally})
    total = sum(sum(tally.values()) for tally in counts.values())
    lines += [
        "",
        f"resources: {total} to declare",
        table(
            ["type", *columns],
            [[kind, *[counts[column][kind] or "" for column in columns]] for kind in types],
        ),
    ]
    for level in ("mandatory", "advisory"):
        found = [f for f in result.findings if f.enforcement == level]
        lines += ["", f"{level} findings: {len(found) or 'none'}"]
        lines += [
            f"  [{f.policy}] {_resource_name(f.resource)}: {f.message}"
            for f in sorted(found, key=lambda f: (f.policy, f.resource))
        ]
    return "\n".join(lines)
