"""One args builder per component: typical args, with ``**changes`` applied over them.

The builders that take a stack and a tier make the args the program would make for that
tier of a shipped (or edited) stack, through the program's own wiring (``infra.wiring``)
and FleetTier's own composition, so the component tests check what a stack deploys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from components import (
    AgentQueueArgs,
    ClusterAddonsArgs,
    ClusterRef,
    FleetClusterArgs,
    FleetMonitoringArgs,
    FleetTierArgs,
    GpuNodePoolArgs,
    InferenceLoadBalancerArgs,
    McpServerArgs,
    MigLayout,
    MonitoredTier,
    QueueDepthAutoscalerArgs,
    QueueWorkerArgs,
    VllmServiceArgs,
)
from components.addons import AddonReadiness
from components.model_store import ModelWeights
from infra import wiring
from infra.config import parse_stack_config
from infra.offline.mocks import S3_RANGES
from infra.plan import FleetPlan, TierPlan, plan_fleet
from tests.helpers import stack_values

QUEUE_ARN = "arn:aws:sqs:us-east-1:123456789012:agents-prod-orchestrator"
QUEUE_URL = "https://sqs.us-east-1.amazonaws.com/123456789012/agents-prod-orchestrator"
REPLIES = (
    "arn:aws:sqs:us-east-1:123456789012:agent-router-replies",
    "arn:aws:sqs:us-east-1:123456789012:planner-*-replies",
)
MIG_LAYOUTS = {
    "mid-tier": MigLayout(gpu="a100-80gb", layout={"3g.40gb": 2}),
    "orchestrator": MigLayout(gpu="h100-pcie", layout={"2g.20gb": 1, "1g.10gb": 1}),
}


def _changed(args: Any, changes: dict[str, Any]) -> Any:
    """The args with ``changes`` over them, validated again as a new model."""
    return type(args)(**{**dict(args), **changes}) if changes else args


def plan_of(values: dict[str, Any] | str) -> FleetPlan:
    """The plan of a shipped stack (by name) or of edited stack values."""
    return plan_fleet(
        parse_stack_config(stack_values(values) if isinstance(values, str) else values)
    )


def tier_plan(values: dict[str, Any] | str, tier: str) -> TierPlan:
    return plan_of(values).tier(tier)


def tier_args(
    values: dict[str, Any] | str, tier: str, *, worker: bool = True, **changes: Any
) -> FleetTierArgs:
    """A tier of a stack as the program wires it (a new cluster's outputs stood in for by
    made-up ids)."""
    plan = plan_of(values)
    layout = wiring.mig_layouts(plan).get(tier)
    cluster = (
        ClusterRef(
            name=plan.cluster.name,
            vpc_id="vpc-0000000000000000a",
            subnet_ids=("subnet-0000000000000000a", "subnet-0000000000000000b"),
            node_role_arn="arn:aws:iam::123456789012:role/new-cluster-nodes",
        )
        if plan.cluster.create
        else wiring.existing_cluster(plan.cluster)
    )
    folders = plan.tier(tier).weights_folders
    args = FleetTierArgs(
        **wiring.tier(plan, plan.tier(tier), layout),
        cluster=cluster,
        hf_token=None,
        prometheus_address=None,
        depends_on=(),
        addons=AddonReadiness(),
        weights=ModelWeights(folders=dict(folders), https_cidrs=[*S3_RANGES, "10.0.0.0/16"])
        if folders
        else None,
    )
    if not worker:  # and so from the Hub: streamed weights are read as the worker's account
        changes = {"worker": None, "weights": None, **changes}
    return _changed(args, changes)  # type: ignore[no-any-return]


def node_pool_args(stack: str, tier: str, **changes: Any) -> GpuNodePoolArgs:
    return _changed(tier_args(stack, tier).node_pool_args(), changes)  # type: ignore[no-any-return]


def service_args(stack: str, tier: str, shape: int = 0, **changes: Any) -> VllmServiceArgs:
    """A tier's vLLM replicas of one shape, without the worker sidecar unless given."""
    return _changed(tier_args(stack, tier).service_args(shape), changes)  # type: ignore[no-any-return]


def queue_args(**changes: Any) -> AgentQueueArgs:
    args = AgentQueueArgs(tier="orchestrator", environment="prod", cluster_name="agents-prod")
    return _changed(args, changes)  # type: ignore[no-any-return]


def autoscaler_args(**changes: Any) -> QueueDepthAutoscalerArgs:
    args = QueueDepthAutoscalerArgs(
        tier="orchestrator",
        environment="prod",
        namespace="agentfleet",
        deployment_name="orchestrator-vllm",
        user_facing=True,
        region="us-east-1",
        queue_url=QUEUE_URL,
        queue_arn=QUEUE_ARN,
        min_replicas=2,
        max_replicas=5,
        in_flight_target=100,
    )
    return _changed(args, changes)  # type: ignore[no-any-return]


def worker_args(**changes: Any) -> QueueWorkerArgs:
    args = QueueWorkerArgs(
        tier="orchestrator",
        environment="prod",
        cluster_name="agents-prod",
        namespace="agentfleet",
        queue_arn=QUEUE_ARN,
        reply_queue_arns=REPLIES,
    )
    return _changed(args, changes)  # type: ignore[no-any-return]


def lb_args(**changes: Any) -> InferenceLoadBalancerArgs:
    args = InferenceLoadBalancerArgs(
        tier="orchestrator",
        environment="prod",
        cluster_name="agents-prod",
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=("subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"),
        service_names=("orchestrator-vllm",),
        service_namespace="agentfleet",
    )
    return _changed(args, changes)  # type: ignore[no-any-return]


def mcp_args(**changes: Any) -> McpServerArgs:
    args = McpServerArgs(
        name="github-tools",
        namespace="agentfleet",
        tier="mid-tier",
        image="ghcr.io/example/github-mcp:1.4.2",
        inference_url="http://mid-tier-vllm.agentfleet.svc.cluster.local:8000",
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/mid-tier",
        env={"LOG_LEVEL": "info"},
    )
    return _changed(args, changes)  # type: ignore[no-any-return]


def monitoring_args(**changes: Any) -> FleetMonitoringArgs:
    args = FleetMonitoringArgs(
        environment="prod",
        name_prefix="agentfleet-agents-prod",
        namespace="agentfleet",
        tiers=(
            MonitoredTier(
                tier="orchestrator",
                deployments=("orchestrator-vllm",),
                queue_name="agents-prod-orchestrator-1a2b3c4d",
                dlq_name="agents-prod-orchestrator-1a2b3c4d-dlq",
                autoscaling_group="eks-orchestrator-nodes-asg",
                backlog_alert=50,
            ),
            MonitoredTier(
                tier="mid-tier",
                deployments=("mid-tier-vllm",),
                queue_name="agents-prod-mid-tier-5e6f7a8b",
                dlq_name="agents-prod-mid-tier-5e6f7a8b-dlq",
                autoscaling_group="eks-mid-tier-nodes-asg",
                backlog_alert=400,
            ),
        ),
        budget_per_hour=Decimal(200),
        alert_emails=("oncall@example.com",),
    )
    return _changed(args, changes)  # type: ignore[no-any-return]


def cluster_args(**changes: Any) -> FleetClusterArgs:
    return FleetClusterArgs(name="agents-sandbox", environment="dev", **changes)


def addon_args(**changes: Any) -> ClusterAddonsArgs:
    return ClusterAddonsArgs(
        cluster_name="agents-prod",
        region="us-east-1",
        vpc_id="vpc-0123456789abcdef0",
        environment="prod",
        **changes,
    )
