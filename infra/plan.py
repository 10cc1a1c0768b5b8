"""Capacity planning: a validated stack turned into the per-tier numbers the fleet is built
from (the model's fit, instances, replicas, ``--max-num-seqs``, floors and ceilings,
prices). Plain functions over plain data, no Pulumi; the sizing rules are
``infra.sizing``'s and the model's fit ``infra.fitting``'s.

A tier's plan holds the tier's config and only what the planner derives from it: a value
the stack sets is read through ``TierPlan.config``, never copied. Every derived number is
computed here, once: the wiring (``infra.wiring``) hands them to the components, which do
no arithmetic of their own on the plan.

What the config layer cannot judge alone (whether the model fits the GPUs it pinned,
whether the replicas' copies of the weights fit a node's disk) is refused here, as a
``ConfigError`` naming the key, before anything is declared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

from facts import defaults
from facts.catalog import Capacity, InstanceType
from facts.checklist import (
    SCALE_OUT_SUSTAIN_SECONDS,
    SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS,
    USER_FACING_FLOOR,
)
from infra.config import (
    AddonsConfig,
    ClusterConfig,
    ConfigError,
    ModelStoreConfig,
    MonitoringConfig,
    ReservationConfig,
    StackConfig,
    TierConfig,
    WorkerConfig,
)
from infra.fitting import FitError, TierFit, fit_tier
from infra.headroom import Headroom, headroom
from infra.physics import Serving
from infra.pricing import PriceList, PricesError, capacity_for, price_list, tier_prices
from infra.replicas import ReplicaGroup, Shapes, shapes_of, tier_pace
from infra.sizing import (
    NodeStorage,
    ceil_div,
    headroom_load,
    in_flight,
    in_flight_target,
    settled_replicas,
    tier_storage,
)

NODE_SHARE_FOR_REPLICAS = Fraction(4, 5)  # the rest: kubelet, daemonsets, sidecars


@dataclass(frozen=True)
class ScheduledScale:
    """A known peak window and the replicas each replica group holds during it."""

    start: str
    end: str
    timezone: str
    held_concurrency: int
    """The predicted peak plus 30% headroom: the concurrency the window holds replicas for."""
    gpus: int
    desired_replicas: tuple[int, ...]
    """Per replica group, in the order of ``TierPlan.replica_groups``."""


@dataclass(frozen=True)
class ReservationPlan:
    """Reserved capacity the tier's on-demand nodes launch into, billed whole whether used or
    not: an On-Demand Capacity Reservation at the on-demand rate, a Capacity Block at its
    price."""

    config: ReservationConfig
    price_per_instance_hour: Decimal

    @property
    def cost_per_hour(self) -> Decimal:
        return self.config.instances * self.price_per_instance_hour


@dataclass(frozen=True)
class BurstPlan:
    """Spot capacity a tier bursts onto above its on-demand floor."""

    max_instances: int
    price_per_gpu_hour: Decimal
    """The spot price."""
    accept_interruptions: bool


@dataclass(frozen=True)
class TierPlan:
    """One tier: its stack config and what the planner derives from it. What the stack
    sets is read through ``config``; the fields here are the planner's own numbers, and the
    values it resolves where the stack left a key unset (each under the key's name)."""

    name: str
    config: TierConfig
    fit: TierFit
    """The model against the GPUs: its shape, budget, the instance type, and why."""
    capacity: Capacity
    """``config.capacity``, or its default: K1 on-demand for user-facing tiers, K2 spot for
    background tiers where spot is cheaper."""
    replica_groups: tuple[ReplicaGroup, ...]
    needed_gpus: int
    """GPUs whose replicas serve the expected concurrency with no headroom (the capacity
    model's figure)."""
    instances: int
    """Instances the autoscaler holds at the expected concurrency, outside scheduled windows:
    what KEDA's and the HPA's arithmetic settle on for the load the tier's triggers count."""
    min_instances: int
    max_instances: int
    price_per_gpu_hour: Decimal
    """The price of the capacity the tier asks for: its spot price on spot, its on-demand
    price otherwise."""
    on_demand_price: Decimal
    """USD a GPU-hour on-demand: the stack's ``pricePerGpuHour``, else the price list's."""
    spot_price: Decimal | None
    """USD a GPU-hour on spot: the stack's ``spotPricePerGpuHour`` (null: none), else the
    price list's estimate (None where it has none)."""
    headroom: Headroom
    """How full the replicas run at the expected load, and why."""
    replica_cpu_millis: int
    """CPU each replica requests and is limited to: its share of 80% of the instance."""
    replica_memory_mib: int
    """Memory each replica requests and is limited to, likewise."""
    storage: NodeStorage
    """What a node keeps on disk, and where."""
    scale_out_sustain_seconds: int
    """``config.scaling.scale_out_sustain_seconds``, or its default: 60 s, 30 s for a tier
    that scales to zero."""
    sla_ttft_seconds: Decimal
    """``config.sla_ttft_seconds``, or the latency class's default target."""
    schedule: tuple[ScheduledScale, ...]
    burst: BurstPlan | None = None
    reservation: ReservationPlan | None = None
    weights_folders: Mapping[str, str] = field(default_factory=dict)
    """The S3 folder each of the tier's models (its own, and each co-resident one) streams
    from, for those in S3; the others come from the Hub (or the image)."""

    @property
    def weights_uri(self) -> str | None:
        """The S3 folder of the tier's own model; None: the Hub (or the image)."""
        return self.weights_folders.get(self.config.model)

    @property
    def weights_in_s3(self) -> bool:
        return self.weights_uri is not None

    @property
    def instance(self) -> InstanceType:
        """The instance type the tier's nodes run (``fit`` chose or checked it)."""
        return self.fit.instance

    @property
    def pace(self) -> Fraction:
        """The tier's interaction time over its serviceSeconds (the slowest of its own
        model's shapes): interactions in flight per interaction of expected concurrency."""
        return tier_pace(self.fit, self.config.model)

    def in_flight(self, interactions: int) -> int:
        """Interactions in flight when ``interactions`` of expected concurrency run at the
        planned batch's pace (Little's law): what KEDA counts on the tier's queue."""
        return in_flight(interactions, self.pace)

    @property
    def serving(self) -> Serving:
        """One replica of the tier's own model at its planned batch (the first such shape
        of a MIG layout)."""
        return next(
            shape.serving for shape in self.fit.shapes if shape.model_name == self.config.model
        )

    @property
    def gpus(self) -> int:
        """GPUs on the instances the autoscaler holds at the expected concurrency."""
        return self.instances * self.instance.gpus

    @property
    def headroom_share(self) -> float:
        """Spare sessions over the autoscaler's target, on the first replica group: the
        queueing headroom with the HPA tolerance's margin."""
        group = self.replica_groups[0]
        return group.sessions_per_replica / group.in_flight_target - 1

    @property
    def price_per_instance_hour(self) -> Decimal:
        """What one of the tier's nodes costs an hour, on the capacity it asks for."""
        return self.instance.gpus * self.price_per_gpu_hour

    @property
    def burst_instances(self) -> int:
        """Of ``instances``, those on the burst's spot nodes: the cluster autoscaler puts
        what is above the on-demand floor there first."""
        if self.burst is None:
            return 0
        return min(self.burst.max_instances, max(0, self.instances - self.min_instances))

    def nodes_cost(self, nodes: int) -> Decimal:
        """What ``nodes`` instances of the tier's own node group cost an hour: a reservation
        is billed whole whatever runs in it, and the group launches no on-demand instance
        beyond it (spot ones cannot use it: every one at the spot price)."""
        if self.reservation is None:
            return nodes * self.price_per_instance_hour
        beyond = nodes if self.capacity == "spot" else 0  # on-demand: within the reservation
        return self.reservation.cost_per_hour + beyond * self.price_per_instance_hour

    @property
    def cost_per_hour(self) -> Decimal:
        """Cost of the instances the autoscaler holds at the expected concurrency."""
        core = self.nodes_cost(self.instances - self.burst_instances)
        if self.burst is None:
            return core
        return core + self.burst_instances * self.instance.gpus * self.burst.price_per_gpu_hour

    @property
    def max_cost_per_hour(self) -> Decimal:
        """Cost with the tier scaled to its ceiling, its burst's included."""
        return self.nodes_cost(self.max_instances) + self.burst_max_cost_per_hour

    @property
    def floor_cost_per_hour(self) -> Decimal:
        """Cost of the floor, which runs whatever the load (and of a reservation, whole)."""
        return self.nodes_cost(self.min_instances)

    @property
    def burst_max_cost_per_hour(self) -> Decimal:
        """Cost of the burst node group at its ceiling (0 without one)."""
        if self.burst is None:
            return Decimal(0)
        return self.burst.max_instances * self.instance.gpus * self.burst.price_per_gpu_hour

    @property
    def scales_to_zero(self) -> bool:
        return self.min_instances == 0

    @property
    def min_replicas(self) -> int:
        return sum(group.min_replicas for group in self.replica_groups)

    @property
    def max_replicas(self) -> int:
        return sum(group.max_replicas for group in self.replica_groups)

    @property
    def replicas_per_instance(self) -> int:
        return sum(group.replicas_per_instance for group in self.replica_groups)


@dataclass(frozen=True)
class FleetPlan:
    environment: str
    region: str
    cluster: ClusterConfig
    tiers: tuple[TierPlan, ...]
    prices: PriceList
    """The price list the tiers were priced from (a tier's own prices win)."""
    budget_per_hour: Decimal | None
    monitoring: MonitoringConfig
    namespace: str
    cost_center: str
    has_hf_token: bool
    worker: WorkerConfig
    addons: AddonsConfig
    vllm_image: str
    model_store: ModelStoreConfig | None = None

    @property
    def expected_concurrency(self) -> int:
        return sum(tier.config.expected_concurrency for tier in self.tiers)

    @property
    def gpus(self) -> int:
        """GPUs on the instances the autoscaler holds at the expected concurrency."""
        return sum(tier.gpus for tier in self.tiers)

    @property
    def cost_per_hour(self) -> Decimal:
        """Cost of the instances the autoscaler holds at the expected concurrency."""
        return sum((tier.cost_per_hour for tier in self.tiers), Decimal(0))

    @property
    def floor_cost_per_hour(self) -> Decimal:
        return sum((tier.floor_cost_per_hour for tier in self.tiers), Decimal(0))

    @property
    def max_cost_per_hour(self) -> Decimal:
        return sum((tier.max_cost_per_hour for tier in self.tiers), Decimal(0))

    @property
    def cost_per_interaction_hour(self) -> Decimal:
        return self.cost_per_hour / self.expected_concurrency

    def tier(self, name: str) -> TierPlan:
        for tier in self.tiers:
            if tier.name == name:
                return tier
        raise KeyError(name)


def _schedule(tier: TierConfig, shapes: Shapes) -> tuple[ScheduledScale, ...]:
    """Each known peak, with its headroom, in GPUs and replicas per group."""
    windows = []
    for window in tier.scaling.schedule:
        peak = headroom_load(window.predicted_peak)
        gpus = shapes.gpus_for(peak)
        windows.append(
            ScheduledScale(
                start=window.start,
                end=window.end,
                timezone=window.timezone,
                held_concurrency=peak,
                gpus=gpus,
                desired_replicas=shapes.replicas_on(gpus),
            )
        )
    return tuple(windows)


def _floor_and_ceiling(tier: TierConfig, instances: int, peak_instances: int) -> tuple[int, int]:
    """A4/C7: user-facing tiers keep two instances, background tiers may scale to zero; the
    ceiling covers the expected load with a burst on top at the tier's headroom and every
    scheduled peak, and is never below the floor. A node group that targets a reservation
    launches nothing beyond it: both stay within its instances."""
    floor = USER_FACING_FLOOR if tier.user_facing else 0
    if tier.max_instances is not None:
        floor = min(floor, tier.max_instances)
    least = tier.min_instances if tier.min_instances is not None else floor
    most = tier.max_instances or max(instances, peak_instances, least, 1)
    if tier.reservation is not None:
        most = min(most, tier.reservation.instances)
        least = min(least, most)
    return least, most


def _instances_at(groups: tuple[ReplicaGroup, ...], model: str, load: int) -> int:
    """Instances the own model's replica groups hold under ``load`` in flight: each group's
    settled replicas over its replicas per instance, the most of them."""
    return max(
        ceil_div(
            settled_replicas(load, g.in_flight_target, g.min_replicas, g.max_replicas),
            g.replicas_per_instance,
        )
        for g in groups
        if g.model == model
    )


def plan_tier(name: str, tier: TierConfig, prices: PriceList) -> TierPlan:
    """A tier's plan; ``FitError`` when its model cannot fit what the stack pinned, or it has
    no price."""
    fit = fit_tier(tier)
    instance = fit.instance
    storage = tier_storage(tier, fit)
    on_demand, spot = tier_prices(tier, instance, prices)
    capacity = capacity_for(tier, on_demand, spot)
    sustain = tier.scaling.scale_out_sustain_seconds
    shapes = shapes_of(tier, fit)
    sla = tier.sla_ttft_seconds or Decimal(defaults.SLA_TTFT_SECONDS[tier.latency_class])
    serving = next(shape.serving for shape in fit.shapes if shape.model_name == tier.model)
    room = headroom(serving, sla, sustain or SCALE_OUT_SUSTAIN_SECONDS)
    in_flight = shapes.in_flight(tier.expected_concurrency)
    burst_load = in_flight * room.ceiling_factor / room.utilisation
    held = ceil_div(shapes.gpus_in_flight(ceil_div(burst_load.numerator, burst_load.denominator)),
                    instance.gpus)  # fmt: skip
    _reservation_holds(tier, shapes, in_flight, room)
    schedule = _schedule(tier, shapes)
    peak_instances = max((ceil_div(w.gpus, instance.gpus) for w in schedule), default=0)
    min_instances, max_instances = _floor_and_ceiling(tier, held, peak_instances)
    groups = _sized_groups(tier, shapes.groups, min_instances, max_instances, in_flight, room)
    replicas_per_instance = sum(group.replicas_per_instance for group in groups)
    if sustain is None:
        sustain = (
            SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS
            if min_instances == 0
            else SCALE_OUT_SUSTAIN_SECONDS
        )
    return TierPlan(
        name=name,
        config=tier,
        fit=fit,
        capacity=capacity,
        replica_groups=groups,
        needed_gpus=shapes.gpus_for(tier.expected_concurrency),
        instances=_instances_at(groups, tier.model, in_flight),
        min_instances=min_instances,
        max_instances=max_instances,
        price_per_gpu_hour=spot if capacity == "spot" and spot is not None else on_demand,
        on_demand_price=on_demand,
        spot_price=spot,
        headroom=room,
        replica_cpu_millis=int(instance.vcpus * 1000 * NODE_SHARE_FOR_REPLICAS)
        // replicas_per_instance,
        replica_memory_mib=int(instance.memory_gib * 1024 * NODE_SHARE_FOR_REPLICAS)
        // replicas_per_instance,
        storage=storage,
        scale_out_sustain_seconds=sustain,
        sla_ttft_seconds=sla,
        schedule=schedule,
        burst=None
        if tier.burst is None or spot is None
        else BurstPlan(tier.burst.max_instances, spot, tier.burst.accept_interruptions),
        reservation=None
        if tier.reservation is None
        else ReservationPlan(
            tier.reservation,
            tier.reservation.price_per_instance_hour or on_demand * instance.gpus,
        ),
    )


def _reservation_holds(tier: TierConfig, shapes: Shapes, in_flight: int, room: Headroom) -> None:
    """A tier that launches only into its reservation (and its burst) must fit the expected
    load there: FitError on ``reservation.instances`` when it does not."""
    if tier.reservation is None:
        return
    held = in_flight / room.utilisation
    needed = ceil_div(
        shapes.gpus_in_flight(ceil_div(held.numerator, held.denominator)), shapes.instance.gpus
    )
    room_for = tier.reservation.instances + (tier.burst.max_instances if tier.burst else 0)
    if needed > room_for:
        raise FitError(
            "reservation.instances",
            f"the expected load ({in_flight:,} in flight) needs {needed} {shapes.instance.name} "
            f"at the tier's headroom; the reservation holds {tier.reservation.instances} and "
            "the node group launches no others: reserve more, or lower expectedConcurrency",
        )


def _sized_groups(
    tier: TierConfig,
    groups: tuple[ReplicaGroup, ...],
    min_instances: int,
    max_instances: int,
    in_flight: int,
    room: Headroom,
) -> tuple[ReplicaGroup, ...]:
    """Each group's autoscaler target, floor and ceiling, for the tier's load in flight at
    its expected concurrency and its headroom. With several groups on one queue, each
    scales to its part of the load, in the proportion the node layout holds them. A
    co-resident model has a queue of its own and no planned load: its replicas' sessions."""
    burst = tier.burst.max_instances if tier.burst is not None else 0
    per_instance = sum(
        g.replicas_per_instance * g.sessions_per_replica for g in groups if g.model == tier.model
    )
    return tuple(
        replace(
            group,
            in_flight_target=in_flight_target(
                in_flight,
                Fraction(per_instance, group.replicas_per_instance) * room.utilisation,
            )
            if group.model == tier.model
            else group.sessions_per_replica,
            min_replicas=min_instances * group.replicas_per_instance,
            max_replicas=(max_instances + burst) * group.replicas_per_instance,
        )
        for group in groups
    )


TIERS_KEY = "agentfleet:fleet.tiers"


PRICES_KEY = "agentfleet:fleet.prices"


def _planned(name: str, tier: TierConfig, prices: PriceList) -> TierPlan | tuple[str, str]:
    """A tier's plan, or why it cannot be built: (its key path, the reason)."""
    try:
        return plan_tier(name, tier, prices)
    except FitError as error:
        return f"{TIERS_KEY}.{name}.{error.key}", str(error)


def plan_fleet(config: StackConfig) -> FleetPlan:
    """The plan of a validated stack. A tier whose model cannot fit is refused with a
    ``ConfigError`` naming its key (every such tier's at once), before anything is built."""
    fleet = config.fleet
    try:
        prices = price_list(fleet.prices, config.region)
    except PricesError as error:
        raise ConfigError([(PRICES_KEY, str(error))]) from None
    planned = tuple(_planned(name, tier, prices) for name, tier in fleet.tiers.items())
    problems = [problem for problem in planned if isinstance(problem, tuple)]
    if problems:
        raise ConfigError(problems)
    tiers = tuple(
        replace(tier, weights_folders=fleet.weights_folders(tier.name))
        for tier in planned
        if isinstance(tier, TierPlan)
    )
    return FleetPlan(
        environment=fleet.environment,
        region=config.region,
        cluster=config.cluster,
        tiers=tiers,
        prices=prices,
        budget_per_hour=fleet.budget_per_hour_usd,
        monitoring=fleet.monitoring,
        namespace=fleet.namespace,
        cost_center=fleet.cost_center,
        has_hf_token=config.hf_token is not None,
        worker=fleet.worker,
        vllm_image=fleet.vllm_image,
        addons=config.addons,
        model_store=fleet.model_store,
    )
