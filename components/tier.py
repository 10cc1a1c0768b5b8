"""FleetTier: one tier of the fleet, composed from the other components."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from components import secrets
from components.addons import AddonReadiness
from components.autoscaler import (
    QueueDepthAutoscaler,
    QueueDepthAutoscalerArgs,
    keda_role_path,
)
from components.cluster import ClusterRef
from components.common import KubernetesName, TaggedArgs, TierName, child_options, tier_labels
from components.karpenter_pool import KarpenterNodePool, KarpenterNodePoolArgs, tier_pools
from components.load_balancer import InferenceLoadBalancer, InferenceLoadBalancerArgs
from components.mig_config import MigLayout
from components.model_store import STREAMER_EXTRA_CONFIG, ModelWeights
from components.monitoring import MonitoredTier, PartQueue
from components.node_pool import (
    CapacityReservation,
    GpuNodePool,
    GpuNodePoolArgs,
    GpuPrices,
    TierBurst,
)
from components.queue import AgentQueue, AgentQueueArgs
from components.queue_worker import QueueWorker, QueueWorkerArgs, WorkerSidecar
from components.tier_parts import (
    NodeDisk,
    ReplicaShape,
    TierLoadBalancer,
    TierQueue,
    TierScaling,
    WorkerOptions,
)
from components.vllm_service import IMAGE, VllmArgs, VllmService, VllmServiceArgs
from facts import defaults, karpenter, mig, names
from facts import weights as model_weights
from facts.catalog import Capacity, LatencyClass
from facts.labels import MANAGED_BY
from facts.worker import memory_mib as worker_memory_mib

TYPE = "agentfleet:index:FleetTier"


class FleetTierArgs(TaggedArgs):
    """Inputs of a FleetTier: the tier as a capacity plan sized it (``infra.wiring`` maps
    agentfleet's plan onto these), and where it is built."""

    tier: TierName = Field(description="The tier's name; its resources are named after it.")
    cluster: ClusterRef = Field(
        description="The EKS cluster the tier is built into (FleetCluster.ref for a new one)."
    )
    region: str = Field(description="AWS region of the queue.")
    namespace: KubernetesName = Field(
        defaults.NAMESPACE, description="Kubernetes namespace of the fleet."
    )
    gpu: str = Field(description="Catalog key of the GPU.")
    latency_class: LatencyClass = Field(description="ttft-first or throughput-first (C1).")
    user_facing: bool = Field(
        description="User-facing tiers get a load balancer and keep their floor (A4, C7)."
    )
    capacity: Capacity = Field(description="on-demand or spot (A5, K1, K2).")
    node_provisioner: Literal["cluster-autoscaler", "karpenter"] = Field(
        "cluster-autoscaler",
        description="What provisions the tier's GPU nodes: managed node groups the cluster "
        "autoscaler scales, or Karpenter NodePools.",
    )
    model: str = Field(description="The model vLLM serves.")
    revision: str | None = Field(
        None, description="The Hub revision of the tier's own model; None: main."
    )
    model_profile: str | None = Field(
        None,
        description="The model's shape (facts.models.profile_json) when the shipped model "
        "table does not know it, for model-fits-gpu.",
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        0.9, description="vLLM --gpu-memory-utilization. Default 0.9 (vLLM's)."
    )
    instance_type: str = Field(description="AWS instance type of the GPU nodes.")
    min_instances: Annotated[int, Field(ge=0)] = Field(description="Floor of GPU instances.")
    max_instances: Annotated[int, Field(ge=1)] = Field(description="Ceiling of GPU instances.")
    shapes: Annotated[tuple[ReplicaShape, ...], Field(min_length=1)] = Field(
        description="The tier's vLLM replicas, one Deployment per shape."
    )
    replica_cpu_millis: Annotated[int, Field(ge=100)] = Field(
        description="CPU each replica requests and is limited to."
    )
    replica_memory_mib: Annotated[int, Field(ge=512)] = Field(
        description="Memory each replica requests and is limited to (MiB)."
    )
    prices: GpuPrices | None = Field(
        None, description="The prices the tier was planned with, marked on its node group."
    )
    disk: NodeDisk = Field(
        default_factory=NodeDisk, description="The nodes' disks and each replica's cache."
    )
    mig: MigLayout | None = Field(None, description="MIG layout of every GPU, for MIG tiers.")
    mig_config: str | None = Field(
        None, description="The tier's mig-parted config name (MigConfiguration), with mig."
    )
    burst: TierBurst | None = Field(
        None,
        description="A spot node group the tier bursts onto above its floor (capacity must "
        "be on-demand); the shapes' max_replicas count its instances too.",
    )
    reservation: CapacityReservation | None = Field(
        None, description="Reserved capacity the tier's own nodes (not its burst's) launch into."
    )
    scaling: TierScaling = Field(default_factory=TierScaling, description="A1-A3.")
    request_timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = Field(
        defaults.REQUEST_TIMEOUT_SECONDS, description="The longest request the tier allows."
    )
    load_balancer: TierLoadBalancer = Field(
        default_factory=TierLoadBalancer, description="The load balancer, when user-facing."
    )
    access_logs_bucket: Any = Field(
        None, description="Bucket for the load balancer's access logs (LoadBalancerLogs)."
    )
    queue: TierQueue = Field(default_factory=TierQueue, description="The task queue (C4).")
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
    vllm_image: str = Field(
        IMAGE, description="vLLM's image, by tag or by digest (image@sha256:...)."
    )
    worker: WorkerOptions | None = Field(
        default_factory=WorkerOptions,
        description="The queue worker beside each vLLM replica; None when something else "
        "consumes the queue.",
    )
    weights: ModelWeights | None = Field(
        None,
        description="Models the tier streams from S3 (ModelStore), with the addresses its "
        "pods may then reach; None: every model from the Hub.",
    )

    @model_validator(mode="after")
    def _composable(self) -> Self:
        """Every part's own args are checked here, before anything is declared."""
        self.node_pool_args()
        if self.burst is not None:
            if self.capacity != "on-demand":
                raise ValueError("burst: the tier's own capacity must be on-demand")
            self.burst_node_pool_args()
        if self.node_provisioner == "karpenter":
            self.karpenter_pool_args()
        if all(self.part(index) is not None for index in range(len(self.shapes))):
            raise ValueError(f"shapes: none serves the tier's model {self.model}")
        for part in self.parts():
            self.queue_args(part)
        for index in range(len(self.shapes)):
            self.service_args(index)
        if self.weights is not None and self.weights.folders and self.worker is None:
            raise ValueError(
                "weights: the pods read S3 as the queue worker's service account; keep worker"
            )
        return self

    def weights_folder(self, model: str) -> str | None:
        """The S3 folder a model streams from; None: the Hub."""
        return None if self.weights is None else self.weights.folder(model)

    def shape_name(self, index: int) -> str:
        """A shape's resource name: the tier's, or ``<tier>-<profile>`` when it has several."""
        return names.shape(self.tier, self.shapes[index].profile, len(self.shapes))

    def node_pool_args(self) -> GpuNodePoolArgs:
        return GpuNodePoolArgs(
            cluster_name=self.cluster.name,
            node_role_arn=self.cluster.node_role_arn,
            subnet_ids=tuple(self.cluster.subnet_ids),
            tier=self.tier,
            environment=self.environment,
            cost_center=self.cost_center,
            gpu=self.gpu,
            latency_class=self.latency_class,
            user_facing=self.user_facing,
            instance_type=self.instance_type,
            capacity=self.capacity,
            min_size=self.min_instances,
            max_size=self.max_instances,
            prices=self.prices,
            reservation=self.reservation,
            disk_size_gib=self.disk.root_volume_gib,
            instance_store=self.disk.instance_store,
            mig_config=self.mig_config if self.mig else None,
            mig_layout=self.mig,
        )

    def burst_node_pool_args(self) -> GpuNodePoolArgs:
        """The spot node group above the floor: from 0 to the burst's ceiling."""
        if self.burst is None:
            raise ValueError("the tier has no burst")
        return self.node_pool_args().model_copy(
            update={
                "capacity": "spot",
                "reservation": None,
                "burst": True,
                "accept_interruptions": self.burst.accept_interruptions,
                "min_size": 0,
                "max_size": self.burst.max_instances,
            }
        )

    def karpenter_pool_args(self) -> dict[str, KarpenterNodePoolArgs]:
        """The tier's NodePools, by name (``karpenter_pool.tier_pools``)."""
        return tier_pools(
            self.node_pool_args(),
            self.burst_node_pool_args() if self.burst is not None else None,
            node_role=self.cluster.karpenter_role(),
            ami_release=self.cluster.ami_release,
            consolidate_after_seconds=max(
                karpenter.EMPTY_NODE_SECONDS, self.scaling.scale_in_idle_seconds + 60
            ),
        )

    def shape_model(self, index: int) -> str:
        return self.shapes[index].model or self.model

    def part(self, index: int) -> str | None:
        """The part of the tier a shape belongs to: None for the tier's model, else the
        name of the first shape serving the same co-resident model (its queue's name)."""
        model = self.shape_model(index)
        if model == self.model:
            return None
        first = next(i for i in range(len(self.shapes)) if self.shape_model(i) == model)
        return mig.slug(self.shapes[first].profile or "gpu")

    def parts(self) -> list[str | None]:
        """The tier's parts, the tier's own first: one queue and set of workers each."""
        return list(dict.fromkeys([None, *(self.part(i) for i in range(len(self.shapes)))]))

    def queue_args(self, part: str | None = None) -> AgentQueueArgs:
        return AgentQueueArgs(
            tier=self.tier,
            part=part,
            environment=self.environment,
            cost_center=self.cost_center,
            cluster_name=self.cluster.name,
            request_timeout_seconds=self.request_timeout_seconds,
            max_receive_count=self.queue.max_receive_count,
            kms_key_id=self.queue.kms_key_id,
        )

    def worker_args(
        self, queue_arn: Any, kms_key_arn: Any, part: str | None = None
    ) -> QueueWorkerArgs:
        models = {self.shape_model(i) for i in range(len(self.shapes)) if self.part(i) == part}
        folders = tuple(sorted(f for m in models if (f := self.weights_folder(m)) is not None))
        return QueueWorkerArgs(
            weights_folders=folders,
            weights_kms_key_arn=None if self.weights is None else self.weights.kms_key_arn,
            region=self.region,
            tier=self.tier,
            part=part,
            environment=self.environment,
            cost_center=self.cost_center,
            cluster_name=self.cluster.name,
            namespace=self.namespace,
            queue_arn=queue_arn,
            reply_queue_arns=self.queue.every_reply_queue,
            kms_key_arn=kms_key_arn,
        )

    def sidecar(
        self, index: int, queue_url: Any, service_account: str, weights_role_arn: Any = None
    ) -> WorkerSidecar | None:
        """The worker container of a shape's pods: it forwards at most ``max_num_seqs``."""
        if self.worker is None:
            return None
        return WorkerSidecar(
            image=self.worker.image,
            queue_url=queue_url,
            region=self.region,
            service_account=service_account,
            max_in_flight=self.shapes[index].max_num_seqs,
            visibility_timeout_seconds=self.queue_args().visibility_timeout_seconds,
            request_timeout_seconds=self.request_timeout_seconds,
            reply_queue_arns=self.queue.reply_queue_arns,
            reply_queues_by_sender=self.queue.reply_queues_by_sender,
            cpu_millis=self.worker.cpu_millis,
            # what its in-flight maximum may hold at worst, or more if the stack asks
            memory_mib=max(
                self.worker.memory_mib, worker_memory_mib(self.shapes[index].max_num_seqs)
            ),
            api_key_secret=secrets.secret_name(self.tier),
            weights_role_arn=weights_role_arn,
        )

    def service_args(self, index: int, sidecar: WorkerSidecar | None = None) -> VllmServiceArgs:
        shape, model = self.shapes[index], self.shape_model(index)
        folder = self.weights_folder(model)  # None: from the Hub
        return VllmServiceArgs(
            tier=self.tier,
            namespace=self.namespace,
            name=names.vllm(self.shape_name(index)),
            image=self.vllm_image,
            vllm=VllmArgs(
                model=folder or model,
                # streamed: clients keep naming the model as the tier does, not its folder
                served_model_name=None if folder is None else model,
                # from the Hub at the tier's revision; from S3, the folder holds it
                revision=self.revision if folder is None and model == self.model else None,
                load_format=None if folder is None else model_weights.LOAD_FORMAT,
                model_loader_extra_config=None if folder is None else STREAMER_EXTRA_CONFIG,
                max_num_seqs=shape.max_num_seqs,
                tensor_parallel_size=shape.gpu_count if shape.profile is None else 1,
                max_model_len=shape.max_model_len,
                max_num_batched_tokens=shape.max_num_batched_tokens,
                gpu_memory_utilization=self.gpu_memory_utilization,
            ),
            startup_timeout_seconds=shape.startup_timeout_seconds,
            weights_region=None if folder is None else self.region,
            https_cidrs=None
            if folder is None or self.weights is None
            else self.weights.https_cidrs,
            sessions_per_replica=shape.sessions_per_replica,
            serving=shape.serving,
            model_profile=shape.model_profile if shape.model else self.model_profile,
            user_facing=self.user_facing,
            latency_class=self.latency_class,
            gpu=self.gpu,
            capacity=self.capacity,
            replicas=shape.min_replicas,
            gpu_resource=shape.gpu_resource,
            gpu_count=shape.gpu_count,
            cpu_millis=self.replica_cpu_millis,
            memory_mib=self.replica_memory_mib,
            cache_size_gib=self.disk.replica_cache_gib,
            request_timeout_seconds=self.request_timeout_seconds,
            hf_token=self.hf_token,
            api_key_secret=secrets.secret_name(self.tier),
            worker=sidecar,
            disruption_budget=shape.disruption_budget,
        )

    def autoscaler_args(
        self, index: int, deployment_name: Any, queue_url: Any, queue_arn: Any
    ) -> QueueDepthAutoscalerArgs:
        shape = self.shapes[index]
        return QueueDepthAutoscalerArgs(
            tier=self.tier,
            environment=self.environment,
            cost_center=self.cost_center,
            namespace=self.namespace,
            deployment_name=deployment_name,
            user_facing=self.user_facing,
            region=self.region,
            queue_url=queue_url,
            queue_arn=queue_arn,
            min_replicas=shape.min_replicas,
            max_replicas=shape.max_replicas,
            replicas_per_instance=shape.replicas_per_instance,
            in_flight_target=shape.in_flight_target,
            queue_depth_per_replica=self.scaling.queue_depth_per_replica,
            scale_out_sustain_seconds=self.scaling.scale_out_sustain_seconds,
            scale_in_idle_seconds=self.scaling.scale_in_idle_seconds,
            prometheus_address=self.prometheus_address,
            schedule=shape.schedule,
            keda_operator_role_arn=self.cluster.keda_operator_role_arn,
            role_path=keda_role_path(self.cluster.name),
        )

    @property
    def load_balancer_subnets(self) -> tuple[Any, ...]:
        """Where the tier's load balancer goes: internal ones in the cluster's load-balancer
        subnets, internet-facing ones in its public subnets, else its node subnets."""
        cluster = self.cluster
        internal = cluster.load_balancer_subnet_ids or cluster.subnet_ids
        if self.load_balancer.internal:
            return tuple(internal)
        return tuple(cluster.public_subnet_ids or internal)

    def load_balancer_args(self, service_names: tuple[Any, ...]) -> InferenceLoadBalancerArgs:
        lb = self.load_balancer
        return InferenceLoadBalancerArgs(
            tier=self.tier,
            environment=self.environment,
            cost_center=self.cost_center,
            cluster_name=self.cluster.name,
            vpc_id=self.cluster.vpc_id,
            subnet_ids=self.load_balancer_subnets,
            service_names=service_names,
            service_namespace=self.namespace,
            internal=lb.internal,
            certificate_arn=lb.certificate_arn,
            allowed_cidrs=lb.allowed_cidrs,
            access_logs_bucket=self.access_logs_bucket,
            health_check_interval_seconds=lb.health_check_interval_seconds,
            deregistration_delay_seconds=self.request_timeout_seconds,
        )


class FleetTier(pulumi.ComponentResource):
    """A tier: its GPU node pool, vLLM replicas (one Deployment per replica shape), task
    queue, queue-depth autoscaler, and for user-facing tiers a load balancer. Background
    tiers are reached through their queue and may scale to zero."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        node_pool: GpuNodePool | None
        """The tier's node group (None under Karpenter)."""
        burst_node_pool: GpuNodePool | None
        karpenter_pools: dict[str, KarpenterNodePool]
        """The tier's NodePools, by name (empty under the cluster autoscaler)."""
        queue: AgentQueue
        queues: dict[str | None, AgentQueue]
        """Every queue of the tier: its own (None) and one per co-resident model's part."""
        queue_workers: dict[str | None, QueueWorker | None]
        queue_worker: QueueWorker | None
        services: list[VllmService]
        autoscalers: list[QueueDepthAutoscaler]
        load_balancer: InferenceLoadBalancer | None
        api_key: k8s.core.v1.Secret
        """The Secret holding the key vLLM requires on its API (entry ``api-key``)."""
        endpoint: pulumi.Output[str]
        """Where the tier is reached: its load balancer, else its first vLLM Service."""

    def __init__(
        self, name: str, args: FleetTierArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        after = pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(depends_on=list(args.depends_on))
        )

        def waiting_for(*resources: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions.merge(
                after, pulumi.ResourceOptions(depends_on=list(resources))
            )

        self._nodes(args, child, waiting_for(*args.addons.karpenter))
        # One queue and one set of workers per model the tier serves: its own, and each
        # co-resident model of a MIG layout (a request names one model; vLLM serves one).
        self.queues = {
            part: AgentQueue(names.part(args.tier, part), args.queue_args(part), opts=child)
            for part in args.parts()
        }
        self.queue = self.queues[None]
        self.queue_workers = {
            part: self._queue_worker(args, after, part, queue)
            for part, queue in self.queues.items()
        }
        self.queue_worker = self.queue_workers[None]
        # The key vLLM requires on its API, which the worker and MCP servers send.
        self.api_key = secrets.api_key_secret(
            args.tier, args.tier, args.namespace,
            {**MANAGED_BY, **tier_labels(args.tier, "inference")}, after,
        )  # fmt: skip
        self.services, self.autoscalers = [], []
        for index in range(len(args.shapes)):
            shape, part = args.shape_name(index), args.part(index)
            queue, worker = self.queues[part], self.queue_workers[part]
            sidecar = None
            if worker is not None:
                sidecar = args.sidecar(
                    index, queue.url, worker.service_account_name, worker.weights_role_arn
                )
            # Pods get Pod Identity credentials only if the association exists when they
            # start; GPUs come with the operator; the PodMonitor's kind with Prometheus's.
            identity = (worker,) if worker is not None else ()
            # Weights in S3: the mirror Jobs that put them there.
            mirrored = args.weights.after if args.weights is not None else ()
            service = VllmService(
                shape,
                args.service_args(index, sidecar),
                opts=waiting_for(
                    *args.addons.gpu_operator,
                    *args.addons.prometheus,
                    *identity,
                    *mirrored,
                    self.api_key,
                ),
            )
            self.services.append(service)
            self.autoscalers.append(
                QueueDepthAutoscaler(
                    shape,
                    args.autoscaler_args(
                        index, service.deployment.metadata.name, queue.url, queue.arn
                    ),
                    opts=waiting_for(*args.addons.keda),
                )
            )
        own = [s for i, s in enumerate(self.services) if args.part(i) is None]
        self.load_balancer = None
        self.endpoint = own[0].endpoint
        if args.user_facing:  # it fronts the tier's own model
            self.load_balancer = InferenceLoadBalancer(
                args.tier,
                args.load_balancer_args(tuple(service.service_name for service in own)),
                opts=waiting_for(*args.addons.load_balancer_controller),
            )
            self.endpoint = self.load_balancer.endpoint
        self.register_outputs(
            {
                "endpoint": self.endpoint,
                "api_key_secret": self.api_key.metadata.name,
                "queue_url": self.queue.url,
                "dlq_url": self.queue.dlq_url,
                "node_group_name": None
                if self.node_pool is None
                else self.node_pool.node_group_name,
                "node_pools": list(self.karpenter_pools),
                "burst_node_group_name": None
                if self.burst_node_pool is None
                else self.burst_node_pool.node_group_name,
                "part_queue_urls": {
                    part: queue.url for part, queue in self.queues.items() if part is not None
                },
            }
        )

    def _nodes(
        self, args: FleetTierArgs, child: pulumi.ResourceOptions, karpenter: pulumi.ResourceOptions
    ) -> None:
        """Node groups, or NodePools once Karpenter's CRDs are there (``karpenter``)."""
        self.node_pool, self.burst_node_pool, self.karpenter_pools = None, None, {}
        if args.node_provisioner == "karpenter":
            self.karpenter_pools = {
                pool: KarpenterNodePool(pool, pool_args, opts=karpenter)
                for pool, pool_args in args.karpenter_pool_args().items()
            }
            return
        self.node_pool = GpuNodePool(args.tier, args.node_pool_args(), opts=child)
        if args.burst is not None:
            self.burst_node_pool = GpuNodePool(
                names.burst_pool(args.tier), args.burst_node_pool_args(), opts=child
            )

    def watched(
        self, tier: str, backlog_alert: int, node_price_per_hour: Decimal | None = None
    ) -> MonitoredTier:
        """What FleetMonitoring watches of this tier (``tier``, its name): its Deployments,
        queues and Auto Scaling group, with the alert levels it was planned with."""
        return MonitoredTier(
            tier=tier,
            backlog_alert=backlog_alert,
            node_price_per_hour=node_price_per_hour,
            deployments=tuple(service.args_name for service in self.services),
            queue_name=self.queue.queue_name,
            dlq_name=self.queue.dead_letter_queue.name,
            autoscaling_group=None
            if self.node_pool is None
            else self.node_pool.autoscaling_group_name,
            instance_types=tuple(
                dict.fromkeys(t for pool in self.karpenter_pools.values() for t in pool.types)
            ),
            part_queues=tuple(
                PartQueue(
                    part=part, queue_name=queue.queue_name, dlq_name=queue.dead_letter_queue.name
                )
                for part, queue in self.queues.items()
                if part is not None
            ),
        )

    def _queue_worker(
        self,
        args: FleetTierArgs,
        opts: pulumi.ResourceOptions,
        part: str | None,
        queue: AgentQueue,
    ) -> QueueWorker | None:
        """The workers' identity for one of the tier's queues, with the queue's KMS key
        when it has one."""
        if args.worker is None:
            return None
        kms_key_arn = None
        if args.queue.kms_key_id:
            kms_key_arn = aws.kms.get_key_output(
                key_id=args.queue.kms_key_id, opts=pulumi.InvokeOutputOptions(parent=self)
            ).arn
        return QueueWorker(
            names.part(args.tier, part),
            args.worker_args(queue.arn, kms_key_arn, part),
            opts=opts,
        )
