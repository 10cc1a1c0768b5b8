"""The keys components write onto what they declare and policies read back: Kubernetes
labels and annotations and AWS tags alike. Policies never see a component's inputs, only
its children, so tier, role, user-facing, capacity and sessions per replica travel on the
children under these keys."""

from __future__ import annotations

from typing import Literal

PREFIX = "agentfleet.io/"

TIER = f"{PREFIX}tier"
"""The tier a resource belongs to ("fleet" for fleet-wide ones); also the cost tag (M4)."""
ROLE = f"{PREFIX}role"
"""What the resource is in the fleet (see ``Role``)."""
USER_FACING = f"{PREFIX}user-facing"
"""``true`` or ``false``: whether the tier serves users directly (A4, A5, C7, K1)."""
LATENCY_CLASS = f"{PREFIX}latency-class"
"""``ttft-first`` or ``throughput-first`` (C1)."""
GPU = f"{PREFIX}gpu"
"""The catalog key of the GPU a node group or pod runs on (C1, K2)."""
CAPACITY = f"{PREFIX}capacity"
"""``on-demand`` or ``spot`` (A5, K1, K2)."""
CAPACITY_ROLE = f"{PREFIX}capacity-role"
"""``burst`` on the node group a tier bursts onto above its on-demand floor (label and tag);
absent on the node group that holds the floor."""
INTERRUPTIONS_ACCEPTED = f"{PREFIX}interruptions-accepted"
"""Tag of a burst node group: ``true`` when the stack accepts spot interruptions of a
user-facing tier's burst (``burst.acceptInterruptions``; A5 reads it)."""
ENVIRONMENT = f"{PREFIX}environment"
"""dev, staging or prod: cost tag (M4)."""
COST_CENTER = f"{PREFIX}cost-center"
"""Cost tag (M4)."""
NODE_CLASS = f"{PREFIX}node-class"
"""``gpu`` on GPU node groups, ``system`` on a new cluster's CPU nodes (C3)."""
SESSIONS_PER_REPLICA = f"{PREFIX}sessions-per-replica"
"""Annotation: concurrent sessions one vLLM replica is sized for (C2 compares
--max-num-seqs with it)."""
MODEL_PROFILE = f"{PREFIX}model-profile"
"""On a vLLM pod whose model the shipped table does not know: the model's shape as JSON
(``facts.models.profile_json``), so model-fits-gpu can size it."""
SERVING = f"{PREFIX}serving"
"""On a vLLM pod: what its replica is planned to deliver, as JSON (``facts.serving.Promise``):
the GPU part, the TTFT and interaction targets, the interaction's tokens
(replica-meets-targets)."""
SERVES_TIER = f"{PREFIX}serves-tier"
"""Label of an MCP server: the inference tier it sends work to."""
QUEUE = f"{PREFIX}queue"
"""Tag of an SQS queue: ``task`` or ``dead-letter`` (C4, sqs-dead-letter-queue)."""
BUDGET_PER_HOUR = f"{PREFIX}budget-per-hour-usd"
"""Tag of the fleet's AWS Budget: the hourly budget it was made from (K3)."""
ON_DEMAND_PRICE = f"{PREFIX}on-demand-usd-per-gpu-hour"
"""Tag of a GPU node group: the on-demand price per GPU-hour the plan used (K2)."""
SPOT_PRICE = f"{PREFIX}spot-usd-per-gpu-hour"
"""Tag of a GPU node group: the spot price per GPU-hour the plan used, or ``none`` (K2)."""
NO_PRICE = "none"
CAPACITY_RESERVATION = f"{PREFIX}capacity-reservation"
"""Tag of a GPU node group whose launch template targets a reservation: its id (cr-...)."""
CAPACITY_RESERVATION_KIND = f"{PREFIX}capacity-reservation-kind"
"""Tag beside it: ``capacity-reservation`` or ``capacity-block``."""
CAPACITY_BLOCK_ENDS = f"{PREFIX}capacity-block-ends"
"""Tag of a Capacity Block's node group: when the block ends (ISO 8601, UTC), where the
stack states it (reserved-capacity-fits)."""

QUEUE_TASK = "task"
QUEUE_DEAD_LETTER = "dead-letter"

Role = Literal[
    "inference",
    "mcp-server",
    "load-balancer",
    "node-pool",
    "mig-config",
    "task-queue",
    "interruption-queue",
    "queue-worker",
    "autoscaler",
    "monitoring",
    "addon",
    "cluster",
    "model-store",
]

MANAGED_BY = {"app.kubernetes.io/part-of": "agentfleet", "app.kubernetes.io/managed-by": "pulumi"}
COMPONENT = "app.kubernetes.io/component"

GPU_RESOURCE = "nvidia.com/gpu"
"""The extended resource of a whole GPU (the NVIDIA device plugin)."""
GPU_TAINT_KEY = "nvidia.com/gpu"
"""The taint that keeps everything but GPU workloads off GPU nodes."""
GPU_PRESENT = "nvidia.com/gpu.present"
"""The node label the GPU operator's feature discovery sets on GPU nodes."""
MIG_CONFIG_LABEL = "nvidia.com/mig.config"
"""The node label that tells the GPU operator's MIG manager which layout to apply."""
GPU_ACCELERATOR = "k8s.amazonaws.com/accelerator"
"""The node label the cluster autoscaler's AWS provider knows GPU nodes by: until the device
plugin advertises their GPUs it counts them as starting, not as nodes without GPUs (which
would make it add more)."""
AUTOSCALER = "k8s.io/cluster-autoscaler"
"""Prefix of the cluster autoscaler's auto-discovery and node-template tags."""


def flag(value: bool) -> str:
    """A boolean as a label value."""
    return "true" if value else "false"
