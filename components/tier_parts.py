"""The parts of a FleetTier's arguments: its replica shapes, scaling, load balancer, queue,
node disks and queue worker options."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from components.autoscaler import ScheduledReplicas
from facts import defaults
from facts.checklist import (
    HEALTH_CHECK_INTERVAL_SECONDS,
    QUEUE_DEPTH_PER_REPLICA,
    SCALE_IN_IDLE_SECONDS,
    SCALE_OUT_SUSTAIN_SECONDS,
)
from facts.labels import GPU_RESOURCE
from facts.worker import IMAGE as WORKER_IMAGE


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReplicaShape(_Part):
    """vLLM replicas of one shape within a tier: whole GPUs, or one MIG profile. A tier
    with a mixed MIG layout has one shape per profile, each its own Deployment."""

    profile: str | None = Field(
        None, description="MIG profile each replica runs in; None for whole GPUs."
    )
    gpu_resource: str = Field(
        GPU_RESOURCE,
        description="Extended resource per replica: nvidia.com/gpu, or nvidia.com/mig-<profile>.",
    )
    gpu_count: Annotated[int, Field(ge=1)] = Field(
        1, description="How many of gpu_resource one replica takes (tensor parallelism)."
    )
    sessions_per_replica: Annotated[int, Field(ge=1)] = Field(
        description="Concurrent sessions one replica is sized for (C2)."
    )
    max_num_seqs: Annotated[int, Field(ge=1)] = Field(description="vLLM --max-num-seqs (C2).")
    model: str | None = Field(
        None,
        description="The model these replicas serve when it is not the tier's (a co-resident "
        "model in its own MIG slice); it gets its own queue, workers and autoscaler.",
    )
    model_profile: str | None = Field(
        None, description="That model's shape (facts.models.profile_json), for model-fits-gpu."
    )
    max_model_len: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="vLLM --max-model-len: what the model and one replica's KV cache allow. "
        "None: the model's own (vLLM refuses to start if its KV cache cannot hold it).",
    )
    max_num_batched_tokens: Annotated[int, Field(ge=1)] | None = Field(
        None, description="vLLM --max-num-batched-tokens: the tokens one step carries."
    )
    serving: str | None = Field(
        None, description="What a replica is planned to deliver (facts.serving.Promise JSON)."
    )
    in_flight_target: Annotated[int, Field(ge=1)] = Field(
        description="The work (served plus waiting) one replica is sized for: the "
        "autoscaler asks for ceil(load / this) replicas."
    )
    replicas_per_instance: Annotated[int, Field(ge=1)] = Field(
        description="Replicas one GPU instance holds."
    )
    disruption_budget: Annotated[int, Field(ge=1)] = Field(
        1,
        description="Replicas of one node that may go at once (the PodDisruptionBudget's "
        "maxUnavailable): enough for a node of replicas_per_instance to drain within EKS's "
        "15-minute limit on a node update, each round waiting for its replacements' start.",
    )
    startup_timeout_seconds: Annotated[int, Field(ge=60)] = Field(
        1200,
        description="What the startup probe allows a replica for its weights and vLLM's "
        "engine start (infra.startup: the model's size over the source's rate, a node's "
        "replicas starting at once, with a margin).",
    )
    min_replicas: Annotated[int, Field(ge=0)] = Field(
        description="The autoscaler's floor: the tier's floor of instances in replicas (A4)."
    )
    max_replicas: Annotated[int, Field(ge=1)] = Field(
        description="The autoscaler's ceiling: the tier's ceiling of instances in replicas."
    )
    schedule: tuple[ScheduledReplicas, ...] = Field(
        (), description="Known peaks: the replicas this shape is held at during each."
    )


class TierScaling(_Part):
    """Queue-depth autoscaling of a tier (checklist A1-A3)."""

    queue_depth_per_replica: Annotated[int, Field(ge=1)] = Field(
        QUEUE_DEPTH_PER_REPLICA, description="A2: KEDA's target backlog per replica."
    )
    scale_out_sustain_seconds: Annotated[int, Field(ge=0)] = Field(
        SCALE_OUT_SUSTAIN_SECONDS, description="A2: how long a backlog lasts before scale-up."
    )
    scale_in_idle_seconds: Annotated[int, Field(ge=0)] = Field(
        SCALE_IN_IDLE_SECONDS, description="A3: how long the queue stays low before scale-in."
    )


class TierLoadBalancer(_Part):
    """The load balancer of a user-facing tier (checklist C5-C7)."""

    internal: bool = Field(True, description="Internal unless set false.")
    certificate_arn: str | None = Field(None, description="ACM certificate: HTTPS on 443.")
    allowed_cidrs: tuple[str, ...] | None = Field(
        None, description="Who may reach the listener; default: the VPC's CIDR block."
    )
    health_check_interval_seconds: Annotated[int, Field(ge=5, le=300)] = Field(
        HEALTH_CHECK_INTERVAL_SECONDS, description="C6: seconds between health checks."
    )


class TierQueue(_Part):
    """The tier's task queue (checklist C4) and who its workers may answer."""

    max_receive_count: Annotated[int, Field(ge=1, le=1000)] = Field(
        defaults.MAX_RECEIVE_COUNT, description="Receives before the dead-letter queue."
    )
    kms_key_id: str | None = Field(None, description="KMS key; default: SSE-SQS.")
    reply_queue_arns: tuple[str, ...] = Field(
        (), description="The agents' reply queues the workers may send replies to."
    )
    reply_queues_by_sender: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Each sender's own reply queues (SQS SenderId's IAM unique id to ARNs).",
    )

    @property
    def every_reply_queue(self) -> tuple[str, ...]:
        """What the workers may send to: the allow-list and every sender's own queues."""
        mapped = (arn for arns in self.reply_queues_by_sender.values() for arn in arns)
        return tuple(dict.fromkeys([*self.reply_queue_arns, *mapped]))


class NodeDisk(_Part):
    """Where a tier's nodes keep the replicas' model weights (the plan sizes it)."""

    replica_cache_gib: Annotated[int, Field(ge=1)] = Field(
        200, description="Each replica's emptyDir for the weights and caches, and its limit."
    )
    root_volume_gib: Annotated[int, Field(ge=20, le=16384)] = Field(
        200, description="The nodes' root volume."
    )
    instance_store: bool = Field(
        False, description="Keep the data on the instance store (RAID0) instead of the root."
    )


class WorkerOptions(_Part):
    """The queue worker beside each vLLM replica: its image and resources."""

    image: str = Field(WORKER_IMAGE, description="The worker image (this package's Dockerfile).")
    cpu_millis: Annotated[int, Field(ge=50)] = Field(
        defaults.WORKER_CPU_MILLIS, description="CPU request and limit."
    )
    memory_mib: Annotated[int, Field(ge=64)] = Field(
        defaults.WORKER_MEMORY_MIB, description="Memory request and limit."
    )
