"""agentfleet's reusable ComponentResources: one per module, each with the args model it
owns.

    from components import GpuNodePool, GpuNodePoolArgs, VllmService, VllmServiceArgs, ...

Each takes one frozen, validated args model of plain values and ``pulumi.Input``s (what a
user's stack would pass), declares real pulumi-aws and pulumi-kubernetes resources (so
policies see them), and writes the facts policies need (tier, role, user-facing, sessions
per replica, capacity) onto its children under the keys of ``facts.labels``.

May import: ``facts``, pulumi, pulumi-aws, pulumi-kubernetes, pydantic, pyyaml; never
``infra`` (which maps agentfleet's stack config onto these args), ``policies`` or
``bridge``.
"""

from components.access_logs import LoadBalancerLogs, LoadBalancerLogsArgs
from components.addons import Addon, AddonReadiness, ClusterAddons, ClusterAddonsArgs
from components.autoscaler import (
    QueueDepthAutoscaler,
    QueueDepthAutoscalerArgs,
    ScheduledReplicas,
)
from components.cluster import ClusterRef, FleetCluster, FleetClusterArgs, SystemNodes
from components.karpenter_pool import KarpenterNodePool, KarpenterNodePoolArgs
from components.load_balancer import InferenceLoadBalancer, InferenceLoadBalancerArgs
from components.mcp_server import McpServer, McpServerArgs
from components.mig_config import MigConfiguration, MigConfigurationArgs, MigLayout
from components.model_store import ModelStore, ModelStoreArgs, ModelWeights
from components.monitoring import FleetMonitoring, FleetMonitoringArgs, MonitoredTier
from components.node_pool import (
    CapacityReservation,
    GpuNodePool,
    GpuNodePoolArgs,
    GpuPrices,
    TierBurst,
)
from components.queue import AgentQueue, AgentQueueArgs
from components.queue_worker import QueueWorker, QueueWorkerArgs, WorkerSidecar
from components.tier import FleetTier, FleetTierArgs
from components.tier_parts import (
    NodeDisk,
    ReplicaShape,
    TierLoadBalancer,
    TierQueue,
    TierScaling,
    WorkerOptions,
)
from components.vllm_service import VllmArgs, VllmService, VllmServiceArgs

__all__ = [
    "Addon",
    "AddonReadiness",
    "AgentQueue",
    "AgentQueueArgs",
    "CapacityReservation",
    "ClusterAddons",
    "ClusterAddonsArgs",
    "ClusterRef",
    "FleetCluster",
    "FleetClusterArgs",
    "FleetMonitoring",
    "FleetMonitoringArgs",
    "FleetTier",
    "FleetTierArgs",
    "GpuNodePool",
    "GpuNodePoolArgs",
    "GpuPrices",
    "InferenceLoadBalancer",
    "InferenceLoadBalancerArgs",
    "KarpenterNodePool",
    "KarpenterNodePoolArgs",
    "LoadBalancerLogs",
    "LoadBalancerLogsArgs",
    "McpServer",
    "McpServerArgs",
    "MigConfiguration",
    "MigConfigurationArgs",
    "MigLayout",
    "ModelStore",
    "ModelStoreArgs",
    "ModelWeights",
    "MonitoredTier",
    "NodeDisk",
    "QueueDepthAutoscaler",
    "QueueDepthAutoscalerArgs",
    "QueueWorker",
    "QueueWorkerArgs",
    "ReplicaShape",
    "ScheduledReplicas",
    "SystemNodes",
    "TierBurst",
    "TierLoadBalancer",
    "TierQueue",
    "TierScaling",
    "VllmArgs",
    "VllmService",
    "VllmServiceArgs",
    "WorkerOptions",
    "WorkerSidecar",
]
