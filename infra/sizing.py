"""Sizing: how many GPUs a number of concurrent interactions takes, and what they cost.
Plain functions over plain data, no Pulumi.

GPUs for a tier = ceil(interactions / interactions per GPU); cost per hour = GPUs x the
price of the capacity the tier asks for (docs/capacity-and-cost.md). Money is ``Decimal``
throughout and rounded only for display, so the figures are exact at any scale.
``size_fleet`` right-sizes a fleet for a number of concurrent interactions and a mix of
tiers (``agentfleet size``); the planner (``infra.plan``) sizes each tier of a stack with
the same rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from facts import defaults, models
from facts.autoscaling import TOLERANCE, Load, Rules, ScaledObject, Trigger
from facts.catalog import CATALOG, Gpu, InstanceType
from facts.checklist import MAX_NUM_SEQS_FACTOR, PEAK_HEADROOM
from facts.vllm_memory import DEFAULT_GPU_MEMORY_UTILIZATION
from infra.config import TierConfig
from infra.fitting import FitError, ShapeFit, TierFit, fit_whole_gpus
from infra.physics import default_demand
from infra.pricing import PriceList, seed_prices


def ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def in_flight(interactions: int, pace: Fraction) -> int:
    """Interactions in flight when ``interactions`` of expected concurrency (counted at
    serviceSeconds each) each take ``pace`` times that (Little's law), in whole ones."""
    return ceil_div(interactions * pace.numerator, pace.denominator)


def default_max_num_seqs(sessions_per_replica: int) -> int:
    """``--max-num-seqs`` for a replica expected to hold this many sessions: 1.75x, rounded
    up, which stays inside C2's 1.5-2x band for every positive count."""
    return ceil_div(
        MAX_NUM_SEQS_FACTOR.numerator * sessions_per_replica, MAX_NUM_SEQS_FACTOR.denominator
    )


def headroom_load(interactions: int) -> int:
    """The load a tier is held for: its expected concurrency plus the checklist's 30%
    headroom (the figure it gives for predicted peaks), in whole interactions."""
    return ceil_div(interactions * PEAK_HEADROOM.numerator, PEAK_HEADROOM.denominator)


def in_flight_target(interactions: int, held_at: Fraction) -> int:
    """KEDA's target per replica (``queueLength``) for the trigger that counts a tier's whole
    load, served and waiting, when each replica is held at ``held_at`` interactions in flight
    (its sessions less the headroom, ``infra.headroom``) and the tier is planned for
    ``interactions``.

    The HPA asks for ceil(load / target) replicas, but leaves the count alone while the load
    is within its tolerance (10%) of target x replicas; a scale-up that lands anywhere in
    that band stops there. So the target is ``held_at``, lowered just enough that no count
    below the held one (ceil(interactions / held_at)) is in the band at the planned load:
    target x (1 + tolerance) x (held - 1) < interactions. The planned load then settles on
    the held replicas or a little above, never below."""
    whole = max(1, int(held_at))
    held = ceil_div(interactions * held_at.denominator, held_at.numerator)
    if held <= 1:
        return whole
    edge = Fraction(interactions) / ((1 + TOLERANCE) * (held - 1))
    below = ceil_div(edge.numerator, edge.denominator) - 1  # the largest whole number < edge
    return max(1, min(whole, below))


_NO_RULES = Rules(0, ())
"""Where the HPA settles does not depend on how fast its behaviour lets it get there."""


def settled_replicas(load: int, target: int, floor: int, ceiling: int) -> int:
    """The replicas KEDA and the HPA settle on from the floor under a steady ``load`` on a
    trigger of ``target`` per replica (``facts.autoscaling``: the tolerance included)."""
    scaled = ScaledObject(
        min_replicas=floor,
        max_replicas=ceiling,
        triggers=(Trigger("load", "aws-sqs-queue", float(target)),),
        up=_NO_RULES,
        down=_NO_RULES,
    )
    return scaled.settled(Load(in_flight=load))


@dataclass(frozen=True)
class MixEntry:
    tier: str
    gpu: str
    share: Fraction
    model: str | None = None
    """A model of the shipped table the tier serves: sized by its KV cache too."""


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
    fit: ShapeFit | None = None
    """The model's fit, when the mix names one."""


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


def per_gpu_hour(prices: PriceList, gpu: Gpu) -> Decimal:
    """What ``size`` prices a GPU-hour at: the price list's on-demand price of the GPU's
    default instance type, over its GPUs (PricesError where the list has none)."""
    return prices.per_gpu(gpu, gpu.instance_type(gpu.default_instance_type))[0]


def size_fleet(
    concurrency: int, mix: Sequence[MixEntry] = DEFAULT_MIX, prices: PriceList | None = None
) -> Scenario:
    """GPUs and cost for ``concurrency`` interactions split by ``mix``, on-demand, at the
    seed's catalog prices or AWS's (``prices``)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if sum(entry.share for entry in mix) != 1:
        raise ValueError("the mix's shares must add up to 100%")
    tiers = []
    for entry, interactions in zip(mix, split(concurrency, [e.share for e in mix]), strict=True):
        gpu = CATALOG[entry.gpu]
        fit = model_fit(entry) if entry.model else None
        if fit is None:
            gpus = ceil_div(interactions, gpu.interactions_per_gpu)
        else:  # what is in flight at the planned batch's pace (infra.physics), in replicas
            held = in_flight(interactions, fit.serving.pace)
            gpus = ceil_div(held, fit.sessions) * fit.tensor_parallel
        cost = gpus * per_gpu_hour(prices or seed_prices(), gpu)
        tiers.append(SizedTier(entry.tier, entry.gpu, interactions, gpus, cost, fit))
    return Scenario(concurrency, tuple(tiers))


def model_fit(entry: MixEntry) -> ShapeFit:
    """How a replica of the entry's model fits its GPU (any instance type, the best tensor
    parallelism), planned as a stack's tier of the GPU's latency class with every default
    (the seed's interaction and targets, vLLM's memory share). Raises
    FitError (key ``model``) when no instance type of the GPU holds it."""
    model = models.find(entry.model or "")
    if model is None:
        raise FitError("model", f"unknown model {entry.model!r}; known: {', '.join(models.MODELS)}")
    gpu = CATALOG[entry.gpu]
    fit = fit_whole_gpus(
        model.name,
        model,
        gpu,
        None,
        None,
        gpu.interactions_per_gpu,
        default_demand(gpu, model.name),
        DEFAULT_GPU_MEMORY_UTILIZATION,
    )
    return fit.shapes[0]


GIB = 2**30


@dataclass(frozen=True)
class NodeStorage:
    """What a GPU node keeps on disk: each replica's copy of the weights and its caches
    (an emptyDir each; Pod Security "restricted" allows no shared host path), the images
    and the system. It goes on the instance store's NVMe when that holds it (nodeadm's
    RAID0: kubelet's and containerd's data move there), else on a root volume sized to it."""

    replica_cache_gib: int
    """The emptyDir each replica downloads its model into, and its limit (the largest
    model's, where MIG slices serve several)."""
    need_gib: int
    instance_store_gib: int

    @property
    def on_instance_store(self) -> bool:
        return self.instance_store_gib >= self.need_gib

    @property
    def root_volume_gib(self) -> int:
        if self.on_instance_store:
            return defaults.ROOT_VOLUME_GIB
        return max(defaults.ROOT_VOLUME_GIB, ceil_div(self.need_gib, 10) * 10)

    @property
    def fits(self) -> bool:
        return self.root_volume_gib <= defaults.EBS_MAX_VOLUME_GIB


def replica_cache_gib(model: models.Model | None) -> int:
    """The cache one replica of ``model`` downloads into (a model agentfleet cannot size
    gets the default)."""
    if model is None:
        return defaults.UNKNOWN_MODEL_CACHE_GIB
    return ceil_div(model.weight_bytes, GIB) + defaults.REPLICA_CACHE_EXTRA_GIB


def replica_copies(
    fit: TierFit, layout: Mapping[str, int] | None
) -> list[tuple[models.Model | None, int]]:
    """The models a node of the tier keeps copies of, and how many of each: one a replica."""
    gpus = fit.instance.gpus
    if not layout:
        return [(fit.model, gpus // fit.shapes[0].tensor_parallel)]
    return [(shape.model, gpus * layout[shape.profile or ""]) for shape in fit.shapes]


def node_storage(
    copies: Sequence[tuple[models.Model | None, int]], instance: InstanceType
) -> NodeStorage:
    """The disk a node of ``instance`` needs for its replicas' copies of their models
    (``copies``: each model and its replicas on the node)."""
    caches = [replica_cache_gib(model) for model, _ in copies]
    need = sum(cache * count for cache, (_, count) in zip(caches, copies, strict=True))
    need += defaults.NODE_IMAGES_GIB + defaults.NODE_SYSTEM_GIB
    return NodeStorage(max(caches), need, instance.instance_store_gb * 10**9 // GIB)


def tier_storage(tier: TierConfig, fit: TierFit) -> NodeStorage:
    """What a node keeps on disk. Every replica on a node keeps its own copy of the
    weights: a tier whose copies outgrow both the instance store and the largest root
    volume is refused (``FitError`` on ``model``)."""
    instance = fit.instance
    copies = replica_copies(fit, tier.mig)
    storage = node_storage(copies, instance)
    if not storage.fits:
        replicas = sum(count for _, count in copies)
        raise FitError(
            "model",
            f"{replicas} replica{'s' if replicas > 1 else ''} of {tier.model} on one "
            f"{instance.name} keep{'s' if replicas == 1 else ''} "
            f"{storage.need_gib} GiB on its disk ({storage.replica_cache_gib} GiB each, "
            f"images and system): more than its instance store "
            f"({storage.instance_store_gib} GiB) and the largest root volume "
            f"({defaults.EBS_MAX_VOLUME_GIB} GiB); use fewer replicas per node "
            "(gpusPerReplica or a larger mig profile) or a smaller model",
        )
    return storage
