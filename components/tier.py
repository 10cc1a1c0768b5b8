"""FleetTier: one tier of the fleet, composed from the other components."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws
from pydantic import Field

from components.addons import AddonReadiness
from components.autoscaler import (
    QueueDepthAutoscaler,
    QueueDepthAutoscalerArgs,
    ScheduledReplicas,
    keda_role_path,
)
from components.cluster import ClusterRef
from components.common import Args, child_options
from components.load_balancer import InferenceLoadBalancer, InferenceLoadBalancerArgs
from components.node_pool import GpuNodePool, GpuNodePoolArgs
from components.queue import AgentQueue, AgentQueueArgs
from components.queue_worker import QueueWorker, QueueWorkerArgs, WorkerSidecar
from components.vllm_service import VllmService, VllmServiceArgs
from infra.config import WorkerConfig
from infra.plan import TierPlan

TYPE = "agentfleet:index:FleetTier"


class FleetTierArgs(Args):
    """Inputs of a FleetTier."""

    plan: TierPlan = Field(description="The tier as the planner sized it.")
    cluster: ClusterRef = Field(
        description="The EKS cluster the tier is built into (ClusterRef.existing(config) for "
        "an existing one, FleetCluster.ref for a new one)."
    )
    environment: str = Field(description="dev, staging or prod.")
    region: str = Field(description="AWS region of the queue.")
    namespace: str = Field(description="Kubernetes namespace of the fleet.")
    cost_center: str = Field("agentfleet", description="Cost-center tag (M4).")
    mig_config: str | None = Field(
        None, description="The tier's mig-parted config name (MigConfiguration), for MIG tiers."
    )
    hf_token: Any = Field(None, description="Hugging Face token, a Pulumi secret.")
    prometheus_address: str | None = Field(
        None, description="Prometheus for the vLLM waiting-queue trigger (user-facing tiers)."
    )
    depends_on: tuple[Any, ...] = Field(
        (), description="Resources the tier's Kubernetes objects wait for (e.g. the namespace)."
    )
    addons: AddonReadiness = Field(
        default_factory=AddonReadiness,
        description="The add-on releases the tier's objects wait for: vLLM for the GPU "
        "operator, ScaledObjects for KEDA, TargetGroupBindings for the load balancer "
        "controller (ClusterAddons.readiness).",
    )
    worker: WorkerConfig | None = Field(
        default_factory=WorkerConfig,
        description="The queue worker beside each vLLM replica; None when something else "
        "consumes the queue.",
    )


class FleetTier(pulumi.ComponentResource):
    """A tier: its GPU node pool, vLLM replicas (one Deployment per replica shape), task
    queue, queue-depth autoscaler, and for user-facing tiers a load balancer. Background
    tiers are reached through their queue and may scale to zero."""

    node_pool: GpuNodePool
    queue: AgentQueue
    queue_worker: QueueWorker | None
    services: list[VllmService]
    autoscalers: list[QueueDepthAutoscaler]
    load_balancer: InferenceLoadBalancer | None
    endpoint: pulumi.Output[str]

    def __init__(
        self, name: str, args: FleetTierArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        tier, cluster = args.plan, args.cluster
        child = child_options(self, opts)
        after = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=list(args.depends_on))
        )

        def waiting_for(addon: tuple[Any, ...]) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(
                after, pulumi.ResourceOptions(depends_on=list(addon))
            )

        self.node_pool = GpuNodePool(
            tier.name,
            GpuNodePoolArgs.for_tier(
                tier,
                cluster_name=cluster.name,
                node_role_arn=cluster.node_role_arn,
                subnet_ids=tuple(cluster.subnet_ids),
                environment=args.environment,
                mig_config=args.mig_config,
            ).model_copy(update={"cost_center": args.cost_center}),
            opts=child,
        )
        queue_args = AgentQueueArgs(
            tier=tier.name,
            environment=args.environment,
            cluster_name=cluster.name,
            request_timeout_seconds=tier.request_timeout_seconds,
            max_receive_count=tier.queue.max_receive_count,
            kms_key_id=tier.queue.kms_key_id,
            cost_center=args.cost_center,
        )
        self.queue = AgentQueue(tier.name, queue_args, opts=child)
        self.queue_worker = None
        if args.worker is not None:
            kms_key_arn = None
            if tier.queue.kms_key_id:
                kms_key_arn = aws.kms.get_key_output(
                    key_id=tier.queue.kms_key_id, opts=pulumi.InvokeOutputOptions(parent=self)
                ).arn
            self.queue_worker = QueueWorker(
                tier.name,
                QueueWorkerArgs(
                    tier=tier.name,
                    environment=args.environment,
                    cluster_name=cluster.name,
                    namespace=args.namespace,
                    queue_arn=self.queue.arn,
                    reply_queue_arns=tuple(tier.queue.reply_queue_arns),
                    kms_key_arn=kms_key_arn,
                    cost_center=args.cost_center,
                ),
                opts=after,
            )
        self.services, self.autoscalers = [], []
        several = len(tier.replica_groups) > 1
        for index, group in enumerate(tier.replica_groups):
            profile = (group.profile or "gpu").replace(".", "-")
            shape = f"{tier.name}-{profile}" if several else tier.name
            sidecar = None
            if args.worker is not None and self.queue_worker is not None:  # both or neither
                sidecar = WorkerSidecar(
                    image=args.worker.image,
                    queue_url=self.queue.url,
                    region=args.region,
                    service_account=self.queue_worker.service_account_name,
                    max_in_flight=group.max_num_seqs,
                    visibility_timeout_seconds=queue_args.visibility_timeout_seconds,
                    request_timeout_seconds=tier.request_timeout_seconds,
                    reply_queue_arns=tuple(tier.queue.reply_queue_arns),
                    cpu_millis=args.worker.cpu_millis,
                    memory_mib=args.worker.memory_mib,
                )
            service_args = VllmServiceArgs.for_tier(
                tier,
                group,
                namespace=args.namespace,
                hf_token=args.hf_token,
                name=f"{shape}-vllm",
                worker=sidecar,
            )
            # Pods get Pod Identity credentials only if the association exists when they start.
            identity = (self.queue_worker,) if self.queue_worker is not None else ()
            service = VllmService(
                shape, service_args, opts=waiting_for((*args.addons.gpu_operator, *identity))
            )
            self.services.append(service)
            self.autoscalers.append(
                QueueDepthAutoscaler(
                    shape,
                    QueueDepthAutoscalerArgs(
                        tier=tier.name,
                        environment=args.environment,
                        namespace=args.namespace,
                        deployment_name=service.deployment.metadata.name,
                        user_facing=tier.user_facing,
                        region=args.region,
                        queue_url=self.queue.url,
                        queue_arn=self.queue.arn,
                        min_replicas=tier.min_instances * group.replicas_per_instance,
                        max_replicas=tier.max_instances * group.replicas_per_instance,
                        replicas_per_instance=group.replicas_per_instance,
                        queue_depth_per_replica=tier.queue_depth_per_instance,
                        scale_out_sustain_seconds=tier.scale_out_sustain_seconds,
                        scale_in_idle_seconds=tier.scale_in_idle_seconds,
                        prometheus_address=args.prometheus_address,
                        schedule=tuple(
                            ScheduledReplicas(
                                start=window.start,
                                end=window.end,
                                timezone=window.timezone,
                                replicas=window.desired_replicas[index],
                            )
                            for window in tier.schedule
                        ),
                        keda_operator_role_arn=cluster.keda_operator_role_arn,
                        role_path=keda_role_path(cluster.name),
                        cost_center=args.cost_center,
                    ),
                    opts=waiting_for(args.addons.keda),
                )
            )
        self.load_balancer = None
        self.endpoint = self.services[0].endpoint
        if tier.user_facing:
            lb = tier.load_balancer
            self.load_balancer = InferenceLoadBalancer(
                tier.name,
                InferenceLoadBalancerArgs(
                    tier=tier.name,
                    environment=args.environment,
                    cluster_name=cluster.name,
                    vpc_id=cluster.vpc_id,
                    subnet_ids=tuple(cluster.subnet_ids),
                    service_names=tuple(service.service_name for service in self.services),
                    service_namespace=args.namespace,
                    internal=lb.internal,
                    certificate_arn=lb.certificate_arn,
                    allowed_cidrs=tuple(lb.allowed_cidrs) if lb.allowed_cidrs else None,
                    health_check_interval_seconds=tier.health_check_interval_seconds,
                    deregistration_delay_seconds=tier.request_timeout_seconds,
                    cost_center=args.cost_center,
                ),
                opts=waiting_for(args.addons.load_balancer_controller),
            )
            self.endpoint = self.load_balancer.endpoint
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "queue_url": self.queue.url,
                "dlq_url": self.queue.dlq_url,
                "node_group_name": self.node_pool.node_group_name,
            }
        )
