"""agentfleet's reusable ComponentResources.

    from components import GpuNodePool, GpuNodePoolArgs, VllmService, VllmServiceArgs, ...

Each takes one frozen, validated args model, declares real pulumi-aws and
pulumi-kubernetes resources (so policies see them), and writes the facts policies need
(tier, role, user-facing, sessions per replica, capacity) onto its children under the
``agentfleet.io/`` prefix.
"""

from components.load_balancer import InferenceLoadBalancer, InferenceLoadBalancerArgs
from components.mcp_server import McpServer, McpServerArgs
from components.mig_config import MigConfiguration, MigConfigurationArgs, MigLayout
from components.node_pool import GpuNodePool, GpuNodePoolArgs
from components.vllm_service import VllmArgs, VllmService, VllmServiceArgs

__all__ = [
    "GpuNodePool",
    "GpuNodePoolArgs",
    "InferenceLoadBalancer",
    "InferenceLoadBalancerArgs",
    "McpServer",
    "McpServerArgs",
    "MigConfiguration",
    "MigConfigurationArgs",
    "MigLayout",
    "VllmArgs",
    "VllmService",
    "VllmServiceArgs",
]
