"""What the simulator replays: each tier as the program declares it. The scaling settings
come from the rendered objects (the ScaledObject's triggers, polling, floor, ceiling,
cooldown and HPA behaviour; the node groups' floor and ceiling), so what is simulated is
what would be applied; what no object carries (sessions a replica holds, the interaction's
hold time, the SLA, the cold start) comes from the plan and the stack."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from facts import karpenter, names
from facts.autoscaling import ScaledObject
from facts.resource_types import NODE_GROUP, NODE_POOL, SCALED_OBJECT
from facts.startup import HUB_GIB_PER_SECOND, download_seconds
from infra.offline.mocks import Registration
from infra.physics import demand_of, workload_for
from infra.plan import FleetPlan, TierPlan
from infra.startup import tier_startup

AUTOSCALER_SCAN_SECONDS = 10.0
"""The cluster autoscaler's --scan-interval default."""
SCALE_DOWN_UNNEEDED_SECONDS = 900.0
"""The add-on's scale-down-unneeded-time (15 minutes)."""
PREFILL_SECONDS = 0.2
"""Time from a replica taking an interaction to its first token, without queueing, where
the serving model did not plan the tier's batch (its TTFT at that batch otherwise)."""


@dataclass(frozen=True)
class Speed:
    """A replica running some interactions at once: what each of them sees."""

    interactions_per_second: float
    ttft_seconds: float
    tpot_seconds: float


@dataclass(frozen=True)
class CronWindow:
    trigger: str
    start: str
    end: str
    timezone: str


@dataclass(frozen=True)
class TierModel:
    """One tier as the simulator drives it: the lead replica shape's autoscaler, with each
    replica standing for its share of a node's sessions."""

    name: str
    scaled: ScaledObject
    cron: tuple[CronWindow, ...]
    sessions_per_replica: float
    held_per_replica: float
    """Requests a replica's worker holds beyond the sessions it serves (--max-num-seqs
    minus sessions): they wait inside vLLM, where its num_requests_waiting counts them."""
    replicas_per_node: int
    gpus_per_node: int
    node_min: int
    node_max: int
    burst_max: int
    on_demand_price: float
    spot_price: float | None
    on_spot: bool
    planned_replicas: int
    """The planned peak's replicas (static peak pins the tier there): the ceiling of the
    tier's own nodes, which covers its expected concurrency with 30% headroom and its
    scheduled peaks."""
    peak_rate: float
    """Interactions a second at the expected concurrency: concurrency / serviceSeconds."""
    service_seconds: float
    """Mean seconds an interaction holds its session: the planned batch's interaction time
    (``serviceSeconds`` where the catalog's figure sized the tier)."""
    prefill_seconds: float
    """Time to first token without queueing: the planned batch's TTFT."""
    sla_ttft_seconds: float
    request_timeout_seconds: float
    pod_start_seconds: float
    """A new pod's start on a ready node, less the download of its weights."""
    node_start_seconds: float
    spec: Mapping[str, Any] = field(default_factory=dict)
    """The rendered ScaledObject's spec (``simulate --suggest`` varies its settings)."""
    kernel_duty: tuple[float, ...] = ()
    """The share of time a replica's GPU runs a kernel, by the sequences it runs (0 to
    --max-num-seqs; ``facts.serving.Replica.kernel_duty``): its utilisation as NVML and
    dcgm-exporter report it. Empty: a kernel runs whenever a sequence does."""
    serving: tuple[Speed, ...] = ()
    """A replica's speed by the interactions it runs at once, 0 to --max-num-seqs (the
    serving model's steady state at each; ``facts.serving.Replica.point``). Empty: the
    replica is ``sessions_per_replica`` servers of ``service_seconds`` each, the rest it
    holds waiting inside vLLM."""
    running_per_replica: float = 0.0
    """Interactions a replica runs at once at most (what its KV cache holds, up to
    --max-num-seqs); the rest of those it holds wait in vLLM. 0: its sessions."""
    sla_interaction_seconds: float = 0.0
    """The time an interaction may take end to end: ``serviceSeconds`` (a throughput-first
    tier that leaves it unset: ``requestTimeoutSeconds``); 0: none."""
    weights_gib: float = 0.0
    """The weights each new pod downloads (0: none, or in ``pod_start_seconds``)."""
    node_gib_per_second: float = math.inf
    """What a node may draw from the weights' source: its pods starting at once share it."""
    download_gib_per_second: float = HUB_GIB_PER_SECOND
    """One pod's download rate from the source (the Hub, or S3 with the streamer)."""
    provisioner: str = "cluster-autoscaler"
    """What adds and removes the tier's nodes: cluster-autoscaler or karpenter."""
    launch_delay_seconds: float = AUTOSCALER_SCAN_SECONDS
    """From pods pending to their nodes asked for: the autoscaler's next scan, or
    Karpenter's batch window."""
    empty_node_seconds: float = SCALE_DOWN_UNNEEDED_SECONDS
    """How long a node stays unneeded before it goes: the autoscaler's
    scale-down-unneeded-time, or the NodePool's consolidateAfter."""
    interruption_warning_seconds: float = karpenter.SPOT_WARNING_SECONDS
    """Notice a spot node's pods get before EC2 takes it, at worst EC2's two minutes: EKS
    drains a managed node group's spot node on the rebalance recommendation or the
    interruption notice, whichever comes first (its Capacity Rebalancing); Karpenter on the
    notice, through its interruption queue."""

    def pod_start(self, together: int = 1) -> float:
        """A pod's start on a ready node, ``together`` pods of the node downloading their
        weights at once (each at its own rate, or its share of the node's)."""
        downloads = download_seconds(
            self.weights_gib, self.node_gib_per_second, together, self.download_gib_per_second
        )
        return self.pod_start_seconds + downloads

    @property
    def admit_per_replica(self) -> float:
        """Interactions a replica's worker takes from the queue at most (--max-num-seqs)."""
        return self.sessions_per_replica + self.held_per_replica

    def unfinished(self) -> float:
        """Of the interactions a reclaimed spot node runs, the share that does not finish
        first: each is somewhere in its ``service_seconds`` (uniformly), and finishes if
        the node's warning gives it what it has left; without a warning, none does."""
        warning = self.interruption_warning_seconds
        if warning <= 0 or self.service_seconds <= 0:
            return 1.0
        return max(0.0, 1.0 - warning / self.service_seconds)

    def tables(self) -> tuple[list[float], list[float], list[float]]:
        """A replica's interactions a second, TTFT and time per output token by the
        interactions it runs, 0 to ``admit_per_replica``."""
        if self.serving:
            return ([s.interactions_per_second for s in self.serving],
                    [s.ttft_seconds for s in self.serving],
                    [s.tpot_seconds for s in self.serving])  # fmt: skip
        servers, hold = self.sessions_per_replica, self.service_seconds
        rates = [min(k, servers) / hold for k in range(math.ceil(self.admit_per_replica) + 1)]
        # beyond its sessions an interaction waits inside vLLM for one to end
        ttft = [self.prefill_seconds + max(0.0, k / rate - hold) if rate else self.prefill_seconds
                for k, rate in enumerate(rates)]  # fmt: skip
        return rates, ttft, [0.0] * len(rates)

    def vllm_waiting(self, running: float, replicas: float) -> float:
        """What vLLM's num_requests_waiting sums to over ``replicas`` running ``running``."""
        most = self.running_per_replica or self.sessions_per_replica
        return max(0.0, running - replicas * most)

    def utilisation_sum(self, busy: float, replicas: float) -> float:
        """The tier's GPU utilisation in percent, summed over its replicas (what an HPA on
        DCGM_FI_DEV_GPU_UTIL adds up): ``busy`` running sequences spread over ``replicas``,
        each replica reading its duty at the sequences it runs, an idle one 0."""
        if busy <= 0 or replicas <= 0:
            return 0.0
        duty = self.kernel_duty
        if busy < replicas:  # one sequence on each of ``busy`` replicas
            return 100.0 * busy * (duty[1] if duty else 1.0)
        running = min(round(busy / replicas), len(duty) - 1) if duty else 1
        return 100.0 * replicas * (duty[running] if duty else 1.0)

    @property
    def max_replicas(self) -> int:
        return self.scaled.max_replicas


def _find(registrations: Sequence[Registration], kind: str, name: str) -> Mapping[str, Any] | None:
    for registration in registrations:
        if registration.type == kind and registration.name == name:
            return registration.inputs
    return None


def tier_model(
    plan: FleetPlan,
    tier: TierPlan,
    registrations: Sequence[Registration],
    cold_start_seconds: float | None = None,
) -> TierModel:
    config = tier.config
    lead = tier.replica_groups[0]
    shape = names.shape(tier.name, lead.profile, len(tier.replica_groups))
    scaled_inputs = _find(registrations, SCALED_OBJECT, names.scaled_object(shape))
    if scaled_inputs is None:
        raise ValueError(f"tier {tier.name}: the program declared no ScaledObject for {shape}")
    spec = scaled_inputs["spec"]
    nodes = _find(registrations, NODE_GROUP, names.node_group(tier.name)) or {}
    burst = _find(registrations, NODE_GROUP, names.node_group(names.burst_pool(tier.name))) or {}
    scaling = nodes.get("scalingConfig") or {}
    provisioning = _karpenter(tier, registrations)
    if provisioning:  # the node groups' sizes, as the NodePools hold them
        scaling = {"minSize": provisioning.pop("floor"), "maxSize": provisioning.pop("ceiling")}
        burst = {"scalingConfig": {"maxSize": provisioning.pop("burst")}}
    per_node_sessions = sum(g.replicas_per_instance * g.sessions_per_replica
                            for g in tier.replica_groups if g.model == config.model)  # fmt: skip
    duty, speeds, running = _replica_tables(tier, lead.max_num_seqs)
    start = tier_startup(tier)
    weights, pod_start, node_start = start.weights_gib, start.fixed, start.node
    if cold_start_seconds is not None:
        node_start, pod_start = cold_start_seconds * 0.6, cold_start_seconds * 0.4
        weights = 0.0
    return TierModel(
        name=tier.name,
        scaled=ScaledObject.from_spec(spec),
        cron=tuple(
            CronWindow(str(t.get("name")), m["start"], m["end"], m.get("timezone", "UTC"))
            for t in spec.get("triggers") or []
            if t.get("type") == "cron" and (m := t.get("metadata") or {})
        ),
        sessions_per_replica=per_node_sessions / lead.replicas_per_instance,
        held_per_replica=float(max(0, lead.max_num_seqs - lead.sessions_per_replica)),
        replicas_per_node=lead.replicas_per_instance,
        gpus_per_node=tier.instance.gpus,
        node_min=int(scaling.get("minSize", tier.min_instances)),
        node_max=int(scaling.get("maxSize", tier.max_instances)),
        burst_max=int((burst.get("scalingConfig") or {}).get("maxSize", 0)),
        on_demand_price=float(tier.on_demand_price),
        spot_price=None if tier.spot_price is None else float(tier.spot_price),
        on_spot=tier.capacity == "spot",
        # the planned peak: the expected concurrency with its headroom and every
        # scheduled peak, on the tier's own (on-demand) nodes
        planned_replicas=min(
            int(spec.get("maxReplicaCount", lead.max_replicas)),
            int(scaling.get("maxSize", tier.max_instances)) * lead.replicas_per_instance,
        ),
        peak_rate=config.expected_concurrency / float(config.service_seconds),
        service_seconds=float(tier.serving.interaction_seconds or config.service_seconds),
        prefill_seconds=PREFILL_SECONDS
        if tier.serving.point is None
        else tier.serving.point.ttft_seconds,
        sla_ttft_seconds=float(tier.sla_ttft_seconds),
        request_timeout_seconds=float(config.request_timeout_seconds),
        pod_start_seconds=pod_start,
        node_start_seconds=node_start,
        spec=spec,
        kernel_duty=duty,
        serving=speeds,
        running_per_replica=running,
        sla_interaction_seconds=demand_of(config).targets.interaction_seconds,
        weights_gib=weights,
        node_gib_per_second=start.node_gib_per_second,
        download_gib_per_second=start.download_gib_per_second,
        **provisioning,
    )


def _karpenter(tier: TierPlan, registrations: Sequence[Registration]) -> dict[str, Any]:
    """The tier's NodePools as the simulator drives them (empty: it has node groups): its
    kept floor, ceiling and burst in instances, from their limits in GPUs, and Karpenter's
    timings."""
    name = tier.name
    pools = {
        role: _find(registrations, NODE_POOL, names.karpenter_node_pool(pool))
        for role, pool in (
            ("own", name),
            ("burst", names.burst_pool(name)),
            ("overflow", names.overflow_pool(name)),
        )
    }
    if not any(pools.values()):
        return {}

    def instances(role: str) -> int:
        limits = (pools[role] or {}).get("spec", {}).get("limits") or {}
        return int(float(limits.get("nvidia.com/gpu", 0))) // tier.instance.gpus

    own = (pools["own"] or pools["burst"] or {}).get("spec", {})
    budgets = own.get("disruption", {}).get("budgets") or []
    kept = any(b.get("nodes") == "0" and "Empty" in (b.get("reasons") or []) for b in budgets)
    after = str(own.get("disruption", {}).get("consolidateAfter", "0s"))
    return {
        "floor": instances("own") if kept else 0,
        "ceiling": instances("own") + instances("overflow"),
        "burst": instances("burst"),
        "provisioner": "karpenter",
        "launch_delay_seconds": karpenter.BATCH_IDLE_SECONDS,
        "empty_node_seconds": go_duration(after),
    }


def go_duration(text: str) -> float:
    """A Go duration as Karpenter writes one (``900s``, ``15m``, ``1h30m``) in seconds."""
    if text == "Never":
        return math.inf
    units = {"h": 3600.0, "m": 60.0, "s": 1.0}
    total, number = 0.0, ""
    for char in text:
        if char.isdigit() or char == ".":
            number += char
        else:
            total += float(number) * units[char]
            number = ""
    return total


def _replica_tables(
    tier: TierPlan, most: int
) -> tuple[tuple[float, ...], tuple[Speed, ...], float]:
    """From the serving model, by the interactions a replica runs (0 to ``most``): its
    kernel duty and its speed; and how many it runs at once at most (its KV cache's
    sessions, up to ``most``). Empty (and 0) where the serving model cannot run it."""
    replica = tier.serving.replica
    if replica is None:
        return (), (), 0.0
    workload = workload_for(replica.model, demand_of(tier.config))
    duty = tuple(replica.kernel_duty(running, workload) for running in range(most + 1))
    points = replica.curve(range(1, most + 1), workload)
    speeds = (Speed(0.0, points[0].ttft_seconds, points[0].tpot_seconds),
              *(Speed(p.interactions_per_second, p.ttft_seconds, p.tpot_seconds)
                for p in points))  # fmt: skip
    sessions = replica.max_sessions(workload)
    return duty, speeds, float(most if sessions is None else min(most, sessions))


def fleet_models(
    plan: FleetPlan,
    registrations: Sequence[Registration],
    cold_start_seconds: float | None = None,
) -> list[TierModel]:
    return [tier_model(plan, tier, registrations, cold_start_seconds) for tier in plan.tiers]
