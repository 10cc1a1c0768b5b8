"""A tier's vLLM replicas: one group of whole GPUs (its tensor parallelism) or one per MIG
profile, each with the sessions, ``--max-num-seqs``, context, KV tokens, step budget and
promise the model's fit and the serving physics give it, and how many GPUs and replicas a
number of interactions takes on them. Plain data, no Pulumi; the planner (``infra.plan``)
adds each group's floor, ceiling and autoscaler target.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from facts import mig
from facts.catalog import CATALOG, InstanceType
from facts.labels import GPU_RESOURCE
from facts.serving import Promise
from facts.vllm_memory import batched_tokens
from infra.config import TierConfig
from infra.fitting import ShapeFit, TierFit
from infra.physics import promise
from infra.sizing import ceil_div, default_max_num_seqs, in_flight


@dataclass(frozen=True)
class ReplicaGroup:
    """vLLM replicas of one shape: whole GPUs, or one MIG profile."""

    profile: str | None
    """MIG profile each replica runs in, or None for whole GPUs."""
    model: str
    """The model the replicas serve: the tier's, or a co-resident one in its own slice."""
    resource: str
    """The extended resource a replica's pod requests."""
    resource_count: int
    """How many of ``resource`` one replica requests (GPUs per replica for whole GPUs)."""
    replicas_per_instance: int
    sessions_per_replica: int
    """Concurrent interactions one replica is sized for (C2 reads this)."""
    max_num_seqs: int
    max_model_len: int | None = None
    """vLLM --max-model-len: what the model and one replica's KV cache allow; None when
    the model cannot be sized (vLLM takes the model's own)."""
    kv_tokens: int | None = None
    """Tokens of context one replica's KV cache holds; None when the model cannot be sized."""
    max_num_batched_tokens: int | None = None
    """vLLM --max-num-batched-tokens: the step the batch was planned with, or vLLM's default
    for the device where the catalog's figure sized it, at least --max-num-seqs."""
    promise: Promise | None = None
    """What a replica is planned to deliver, for its pods' annotation; None likewise."""
    in_flight_target: int = 0
    """The work (being served plus waiting) one replica of this group is held at: its
    share of an instance's sessions less the tier's headroom. The autoscaler's target per
    replica."""
    min_replicas: int = 0
    """The tier's floor of instances, in this group's replicas."""
    max_replicas: int = 0
    """The tier's ceiling of instances, in this group's replicas."""


def tier_pace(fit: TierFit, model: str) -> Fraction:
    """A tier's interaction time over its serviceSeconds: the slowest of its own model's
    shapes (``infra.physics.Serving.pace``)."""
    return max(shape.serving.pace for shape in fit.shapes if shape.model_name == model)


@dataclass(frozen=True)
class Shapes:
    """A tier's replica groups before its floor and ceiling are known, and how many GPUs
    and replicas a number of interactions takes on them."""

    groups: tuple[ReplicaGroup, ...]
    instance: InstanceType
    gpus_per_replica: int
    mig_capacity: int
    """Interactions one partitioned GPU serves; 0 for whole GPUs."""
    pace: Fraction
    """The tier's interaction time over its serviceSeconds (``infra.physics``): interactions
    in flight per interaction of expected concurrency."""

    def in_flight(self, interactions: int) -> int:
        """Interactions in flight when ``interactions`` of expected concurrency (counted at
        serviceSeconds each) run at the planned batch's pace (Little's law)."""
        return in_flight(interactions, self.pace)

    def gpus_for(self, interactions: int) -> int:
        """GPUs that serve ``interactions`` of expected concurrency: whole slices' worth for
        MIG, whole replicas (of gpus_per_replica GPUs) otherwise, for what is in flight."""
        return self.gpus_in_flight(self.in_flight(interactions))

    def gpus_in_flight(self, load: int) -> int:
        """GPUs whose replicas hold ``load`` interactions in flight."""
        if self.mig_capacity:
            return ceil_div(load, self.mig_capacity)
        per_replica = self.groups[0].sessions_per_replica
        return ceil_div(load, per_replica) * self.gpus_per_replica

    def replicas_on(self, gpus: int) -> tuple[int, ...]:
        """Replicas of each group that ``gpus`` GPUs hold."""
        if self.mig_capacity:
            return tuple(
                gpus * (group.replicas_per_instance // self.instance.gpus) for group in self.groups
            )
        return tuple(gpus // self.gpus_per_replica for _ in self.groups)


def shapes_of(tier: TierConfig, fit: TierFit) -> Shapes:
    """The replica groups of a tier: one of whole GPUs (``fit``'s tensor parallelism), or
    one per MIG profile; each sized for the sessions its KV cache and the catalog allow."""
    instance = fit.instance
    if not tier.mig:
        shape = fit.shapes[0]
        whole = ReplicaGroup(
            profile=None,
            model=tier.model,
            resource=GPU_RESOURCE,
            resource_count=shape.tensor_parallel,
            replicas_per_instance=instance.gpus // shape.tensor_parallel,
            **_served(tier, shape),
        )
        return Shapes((whole,), instance, shape.tensor_parallel, 0, tier_pace(fit, tier.model))
    groups, capacity = [], 0
    for shape in fit.shapes:
        assert shape.profile is not None
        count = tier.mig[shape.profile]
        if shape.model_name == tier.model:
            capacity += count * shape.sessions  # the tier's load is its own model's
        groups.append(
            ReplicaGroup(
                profile=shape.profile,
                model=shape.model_name,
                resource=mig.resource_name(shape.profile),
                resource_count=1,
                replicas_per_instance=instance.gpus * count,
                **_served(tier, shape),
            )
        )
    return Shapes(tuple(groups), instance, 1, capacity, tier_pace(fit, tier.model))


def _served(tier: TierConfig, shape: ShapeFit) -> dict[str, Any]:
    """What a replica group's vLLM serves with: its sessions, ``--max-num-seqs``, context,
    KV tokens and, where the serving model planned the batch, its step budget (never below
    ``--max-num-seqs``, which vLLM refuses) and promise."""
    max_num_seqs = tier.max_num_seqs or default_max_num_seqs(shape.sessions)
    served: dict[str, Any] = {
        "sessions_per_replica": shape.sessions,
        "max_num_seqs": max_num_seqs,
        "max_model_len": shape.max_model_len,
        "kv_tokens": None if shape.budget is None else shape.budget.kv_tokens,
    }
    served["max_num_batched_tokens"] = _step_budget(tier, shape, max_num_seqs)
    if shape.serving.replica is not None:
        served["promise"] = promise(tier, shape.serving)
    return served


def _step_budget(tier: TierConfig, shape: ShapeFit, max_num_seqs: int) -> int:
    """``--max-num-batched-tokens``: the step the fit planned with (vLLM's default for the
    device where it could not size the model), never below ``--max-num-seqs`` (vLLM refuses
    that) nor, for an encoder (no chunked prefill), below its context."""
    gpu = CATALOG[tier.gpu]
    if shape.budget is not None:
        planned = shape.budget.batched_tokens
    else:
        memory = gpu.memory_gib
        if shape.profile is not None:
            memory = mig.model_for(gpu.key).profiles[shape.profile].memory_gib
        planned = batched_tokens(memory, gpu.gpu_class)
    least = max_num_seqs
    if shape.model is not None and shape.model.embedding:
        least = max(least, shape.max_model_len or 0)
    return max(planned, least)
