"""Capacity and cost planning: plain functions over plain data, no Pulumi.

GPUs for a tier = ceil(interactions / interactions per GPU); cost per hour = GPUs x the
price of the capacity the tier asks for (SPEC.md §1). Money is ``Decimal`` throughout and
rounded only for display, so the figures are exact at any scale.

``plan_fleet`` turns a validated stack into the per-tier numbers the components build
from (instances, replicas, ``--max-num-seqs``, floors and ceilings, prices); ``size_fleet``
right-sizes a fleet for a number of concurrent interactions and a mix of tiers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from types import MappingProxyType
from typing import Literal

from infra import mig
from infra.catalog import CATALOG, LatencyClass
from infra.config import (
    DEFAULT_SCALE_OUT_SUSTAIN_SECONDS,
    SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS,
    AddonsConfig,
    ClusterConfig,
    LoadBalancerConfig,
    MonitoringConfig,
    QueueConfig,
    StackConfig,
    TierConfig,
    WorkerConfig,
)

Capacity = Literal["on-demand", "spot"]
GPU_RESOURCE = "nvidia.com/gpu"
USER_FACING_FLOOR = 2  # A4 floor and C7 failover: two instances behind a load balancer
MAX_NUM_SEQS_FACTOR = Fraction(7, 4)  # C2 wants 1.5-2x the sessions per replica
PEAK_HEADROOM = Fraction(13, 10)  # pre-scale 30% above a predicted peak
NODE_SHARE_FOR_REPLICAS = Fraction(4, 5)  # the rest: kubelet, daemonsets, sidecars
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def cents(amount: Decimal) -> Decimal:
    """Round money to the cent (half up) for display."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def default_max_num_seqs(sessions_per_replica: int) -> int:
    """``--max-num-seqs`` for a replica expected to hold this many sessions: 1.75x, rounded
    up, which stays inside C2's 1.5-2x band for every positive count."""
    return ceil_div(
        MAX_NUM_SEQS_FACTOR.numerator * sessions_per_replica, MAX_NUM_SEQS_FACTOR.denominator
    )


def slice_concurrency(concurrency_per_gpu: int, profile: mig.Profile) -> int:
    """Interactions one MIG instance serves: its share of the GPU's compute slices."""
    return max(1, concurrency_per_gpu * profile.compute // mig.COMPUTE_SLICES)


@dataclass(frozen=True)
class ReplicaGroup:
    """vLLM replicas of one shape: whole GPUs, or one MIG profile."""

    profile: str | None
    """MIG profile each replica runs in, or None for whole GPUs."""
    resource: str
    """The extended resource a replica's pod requests."""
    resource_count: int
    """How many of ``resource`` one replica requests (GPUs per replica for whole GPUs)."""
    replicas_per_instance: int
    sessions_per_replica: int
    """Concurrent interactions one replica is sized for (C2 reads this)."""
    max_num_seqs: int


@dataclass(frozen=True)
class ScheduledScale:
    """A known peak window and the replicas each replica group holds during it."""

    start: str
    end: str
    timezone: str
    interactions: int
    """The predicted peak plus 30% headroom."""
    gpus: int
    desired_replicas: tuple[int, ...]
    """Per replica group, in the order of ``TierPlan.replica_groups``."""


@dataclass(frozen=True)
class TierPlan:
    name: str
    gpu: str
    latency_class: LatencyClass
    user_facing: bool
    capacity: Capacity
    model: str
    interactions: int
    concurrency_per_gpu: int
    instance_type: str
    gpus_per_instance: int
    mig: Mapping[str, int] | None
    replica_groups: tuple[ReplicaGroup, ...]
    gpus: int
    """GPUs the tier needs for ``interactions`` (SPEC's capacity model)."""
    instances: int
    """Instances those GPUs take: ceil(gpus / GPUs per instance)."""
    min_instances: int
    max_instances: int
    on_demand_price: Decimal
    spot_price: Decimal | None
    price_per_gpu_hour: Decimal
    """The price of the capacity the tier asks for."""
    replica_cpu_millis: int
    """CPU each replica requests and is limited to: its share of 80% of the instance."""
    replica_memory_mib: int
    """Memory each replica requests and is limited to, likewise."""
    queue_depth_per_instance: int
    scale_out_sustain_seconds: int
    scale_in_idle_seconds: int
    health_check_interval_seconds: int
    schedule: tuple[ScheduledScale, ...]
    request_timeout_seconds: int
    load_balancer: LoadBalancerConfig
    queue: QueueConfig

    @property
    def cost_per_hour(self) -> Decimal:
        """Cost of the GPUs the tier needs (SPEC's cost model)."""
        return self.gpus * self.price_per_gpu_hour

    @property
    def provisioned_cost_per_hour(self) -> Decimal:
        """Cost of the whole instances those GPUs come on."""
        return self.instances * self.gpus_per_instance * self.price_per_gpu_hour

    @property
    def max_cost_per_hour(self) -> Decimal:
        """Cost with the tier scaled to its ceiling."""
        return self.max_instances * self.gpus_per_instance * self.price_per_gpu_hour

    @property
    def scales_to_zero(self) -> bool:
        return self.min_instances == 0

    @property
    def min_replicas(self) -> int:
        return self.min_instances * self.replicas_per_instance

    @property
    def max_replicas(self) -> int:
        return self.max_instances * self.replicas_per_instance

    @property
    def replicas_per_instance(self) -> int:
        return sum(group.replicas_per_instance for group in self.replica_groups)


@dataclass(frozen=True)
class FleetPlan:
    environment: str
    region: str
    cluster: ClusterConfig
    tiers: tuple[TierPlan, ...]
    budget_per_hour: Decimal | None
    monitoring: MonitoringConfig
    namespace: str
    cost_center: str
    has_hf_token: bool
    worker: WorkerConfig
    addons: AddonsConfig

    @property
    def interactions(self) -> int:
        return sum(tier.interactions for tier in self.tiers)

    @property
    def gpus(self) -> int:
        return sum(tier.gpus for tier in self.tiers)

    @property
    def cost_per_hour(self) -> Decimal:
        return sum((tier.cost_per_hour for tier in self.tiers), Decimal(0))

    @property
    def max_cost_per_hour(self) -> Decimal:
        return sum((tier.max_cost_per_hour for tier in self.tiers), Decimal(0))

    @property
    def cost_per_interaction_hour(self) -> Decimal:
        return self.cost_per_hour / self.interactions

    def tier(self, name: str) -> TierPlan:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)


def default_capacity(user_facing: bool, on_demand: Decimal, spot: Decimal | None) -> Capacity:
    """K1: on-demand for user-facing tiers. K2: spot for background tiers only where spot
    is cheaper than on-demand."""
    if not user_facing and spot is not None and spot < on_demand:
        return "spot"
    return "on-demand"


def plan_tier(name: str, tier: TierConfig) -> TierPlan:
    gpu = CATALOG[tier.gpu]
    instance = gpu.instance_type(tier.instance_type or gpu.default_instance_type)
    per_gpu = tier.concurrency_per_gpu or gpu.interactions_per_gpu
    gpus_per_replica = 1 if tier.mig else (tier.gpus_per_replica or 1)
    gpu_capacity = 0  # interactions one partitioned GPU serves (MIG)
    if tier.mig:
        model = mig.model_for(tier.gpu)
        groups = []
        for profile_name, count in tier.mig.items():
            profile = model.profiles[profile_name]
            sessions = slice_concurrency(per_gpu, profile)
            gpu_capacity += count * sessions
            groups.append(
                ReplicaGroup(
                    profile=profile_name,
                    resource=mig.resource_name(profile_name),
                    resource_count=1,
                    replicas_per_instance=instance.gpus * count,
                    sessions_per_replica=sessions,
                    max_num_seqs=tier.max_num_seqs or default_max_num_seqs(sessions),
                )
            )
    else:
        sessions = per_gpu * gpus_per_replica
        groups = [
            ReplicaGroup(
                profile=None,
                resource=GPU_RESOURCE,
                resource_count=gpus_per_replica,
                replicas_per_instance=instance.gpus // gpus_per_replica,
                sessions_per_replica=sessions,
                max_num_seqs=tier.max_num_seqs or default_max_num_seqs(sessions),
            )
        ]

    def gpus_for(interactions: int) -> int:
        """GPUs that serve ``interactions``: whole slices' worth for MIG, whole replicas
        (of gpus_per_replica GPUs) otherwise."""
        if tier.mig:
            return ceil_div(interactions, gpu_capacity)
        return ceil_div(interactions, per_gpu * gpus_per_replica) * gpus_per_replica

    def replicas_on(gpus: int) -> tuple[int, ...]:
        return tuple(
            gpus * (group.replicas_per_instance // instance.gpus)
            if tier.mig
            else gpus // gpus_per_replica
            for group in groups
        )

    gpus = gpus_for(tier.expected_concurrency)
    instances = ceil_div(gpus, instance.gpus)
    schedule = []
    for window in tier.scaling.schedule:
        peak = ceil_div(window.predicted_peak * PEAK_HEADROOM.numerator, PEAK_HEADROOM.denominator)
        peak_gpus = gpus_for(peak)
        schedule.append(
            ScheduledScale(
                start=window.start,
                end=window.end,
                timezone=window.timezone,
                interactions=peak,
                gpus=peak_gpus,
                desired_replicas=replicas_on(peak_gpus),
            )
        )
    peak_instances = max((ceil_div(w.gpus, instance.gpus) for w in schedule), default=0)
    replicas_per_instance = sum(group.replicas_per_instance for group in groups)
    cpu_millis = int(instance.vcpus * 1000 * NODE_SHARE_FOR_REPLICAS) // replicas_per_instance
    memory_mib = int(instance.memory_gib * 1024 * NODE_SHARE_FOR_REPLICAS) // replicas_per_instance
    floor = USER_FACING_FLOOR if tier.user_facing else 0
    if tier.max_instances is not None:
        floor = min(floor, tier.max_instances)
    min_instances = tier.min_instances if tier.min_instances is not None else floor
    max_instances = tier.max_instances or max(instances, peak_instances, min_instances, 1)
    spot = tier.spot_price
    capacity = tier.capacity or default_capacity(tier.user_facing, tier.on_demand_price, spot)
    price = spot if capacity == "spot" and spot is not None else tier.on_demand_price
    sustain = tier.scaling.scale_out_sustain_seconds
    if sustain is None:
        sustain = (
            SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS
            if min_instances == 0
            else DEFAULT_SCALE_OUT_SUSTAIN_SECONDS
        )
    return TierPlan(
        name=name,
        gpu=tier.gpu,
        latency_class=tier.latency_class,
        user_facing=tier.user_facing,
        capacity=capacity,
        model=tier.model,
        interactions=tier.expected_concurrency,
        concurrency_per_gpu=per_gpu,
        instance_type=instance.name,
        gpus_per_instance=instance.gpus,
        mig=MappingProxyType(dict(tier.mig)) if tier.mig else None,
        replica_groups=tuple(groups),
        gpus=gpus,
        instances=instances,
        min_instances=min_instances,
        max_instances=max_instances,
        on_demand_price=tier.on_demand_price,
        spot_price=spot,
        price_per_gpu_hour=price,
        replica_cpu_millis=cpu_millis,
        replica_memory_mib=memory_mib,
        queue_depth_per_instance=tier.scaling.queue_depth_per_instance,
        scale_out_sustain_seconds=sustain,
        scale_in_idle_seconds=tier.scaling.scale_in_idle_seconds,
        health_check_interval_seconds=tier.load_balancer.health_check_interval_seconds,
        schedule=tuple(schedule),
        request_timeout_seconds=tier.request_timeout_seconds,
        load_balancer=tier.load_balancer,
        queue=tier.queue,
    )


def plan_fleet(config: StackConfig) -> FleetPlan:
    fleet = config.fleet
    return FleetPlan(
        environment=fleet.environment,
        region=config.region,
        cluster=config.cluster,
        tiers=tuple(plan_tier(name, tier) for name, tier in fleet.tiers.items()),
        budget_per_hour=fleet.budget_per_hour_usd,
        monitoring=fleet.monitoring,
        namespace=fleet.namespace,
        cost_center=fleet.cost_center,
        has_hf_token=config.hf_token is not None,
        worker=fleet.worker,
        addons=config.addons,
    )


# --- right-sizing (`agentfleet size`) -------------------------------------------------


@dataclass(frozen=True)
class MixEntry:
    tier: str
    gpu: str
    share: Fraction


DEFAULT_MIX: tuple[MixEntry, ...] = (
    MixEntry("lightweight", "l40s", Fraction(70, 100)),
    MixEntry("mid-tier", "a100-80gb", Fraction(25, 100)),
    MixEntry("orchestrator", "h100-pcie", Fraction(5, 100)),
)


@dataclass(frozen=True)
class SizedTier:
    tier: str
    gpu: str
    interactions: int
    gpus: int
    cost_per_hour: Decimal


@dataclass(frozen=True)
class Scenario:
    concurrency: int
    tiers: tuple[SizedTier, ...]

    @property
    def gpus(self) -> int:
        return sum(tier.gpus for tier in self.tiers)

    @property
    def cost_per_hour(self) -> Decimal:
        return sum((tier.cost_per_hour for tier in self.tiers), Decimal(0))

    @property
    def cost_per_interaction_hour(self) -> Decimal:
        return self.cost_per_hour / self.concurrency


def split(total: int, shares: Sequence[Fraction]) -> list[int]:
    """Apportion ``total`` interactions by ``shares`` (summing to 1) so the parts add up to
    ``total`` exactly: floors first, then one more to the largest remainders (earlier
    entries win ties)."""
    exact = [total * share for share in shares]
    parts = [int(value) for value in exact]  # floor: every value is >= 0
    leftover = total - sum(parts)
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - parts[i]), i))
    for index in order[:leftover]:
        parts[index] += 1
    return parts


def size_fleet(concurrency: int, mix: Sequence[MixEntry] = DEFAULT_MIX) -> Scenario:
    """GPUs and cost for ``concurrency`` interactions split by ``mix`` at catalog
    on-demand prices."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if sum(entry.share for entry in mix) != 1:
        raise ValueError("the mix's shares must add up to 100%")
    tiers = []
    for entry, interactions in zip(mix, split(concurrency, [e.share for e in mix]), strict=True):
        gpu = CATALOG[entry.gpu]
        gpus = ceil_div(interactions, gpu.interactions_per_gpu)
        tiers.append(
            SizedTier(entry.tier, entry.gpu, interactions, gpus, gpus * gpu.on_demand_price)
        )
    return Scenario(concurrency, tuple(tiers))
