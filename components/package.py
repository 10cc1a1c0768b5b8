"""agentfleet's components as a Pulumi component package (written by
``python -m tools.component_package`` from the components' args models; do not edit).

Served by ``components/__main__.py`` (``PulumiPlugin.yaml``): ``pulumi package add`` gives
TypeScript, Go, C#, Java and YAML programs ``agentfleet:index:<Component>``. Each class here
is the Python component itself, taking its args as a plain mapping of the schema's types.
"""

# Run-time annotations, read by pulumi.provider.experimental's analyzer: no
# `from __future__ import annotations` here.
# ruff: noqa: E501, UP045

from typing import Any, NotRequired, Optional, TypedDict

import pulumi

import components as _components
from components.host_args import as_args


class AgentQueueArgs(TypedDict):
    'Inputs of an AgentQueue.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    tier: str
    'The tier whose pool drains the queue.'
    part: NotRequired[Optional[str]]
    "The part of the tier this queue feeds when the tier serves several models (co-resident on MIG): part of the queue names. None: the tier's own queue."
    cluster_name: str
    'The EKS cluster; part of the queue names.'
    request_timeout_seconds: NotRequired[int]
    'The longest request the tier allows.'
    max_receive_count: NotRequired[int]
    'Receives before a message moves to the dead-letter queue.'
    kms_key_id: NotRequired[Optional[str]]
    'KMS key for SSE; default: SQS-managed encryption (SSE-SQS).'
    retention_seconds: NotRequired[int]
    'How long an unprocessed request is kept (default 4 days).'


class Addon(TypedDict):
    'One add-on: whether agentfleet installs it, and which chart version.'

    enabled: NotRequired[bool]
    'Install it; off when the cluster already runs it.'
    version: NotRequired[Optional[str]]
    'Chart version; default: the one agentfleet pins (CHARTS).'


class MigLayout(TypedDict):
    "One tier's MIG layout: the GPU it partitions and profile -> count per GPU. It is checked against NVIDIA's placement rules when it is made, once: the node pool that carries it and the MigConfiguration that applies it take the same object."

    gpu: str
    'Catalog key of the GPU (or a MIG model key).'
    layout: dict[str, int]
    'MIG profile -> instances per GPU.'


class MigConfigurationArgs(TypedDict):
    'Inputs of a MigConfiguration.'

    namespace: NotRequired[str]
    'Namespace of the NVIDIA GPU operator.'
    config_map_name: NotRequired[str]
    "Name of the config map; the GPU operator's MIG manager is pointed at it (ClusterPolicy migManager.config.name)."
    layouts: dict[str, MigLayout]
    'The MIG layout of each MIG tier, by tier (each checked when made).'


class ClusterAddonsArgs(TypedDict):
    'Inputs of ClusterAddons.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    cluster_name: str
    'The EKS cluster (Pod Identity, auto-discovery).'
    region: str
    'AWS region of the cluster.'
    vpc_id: pulumi.Input[str]
    "The cluster's VPC (the load balancer controller)."
    gpu_operator: NotRequired[Addon]
    'NVIDIA GPU operator.'
    keda: NotRequired[Addon]
    'KEDA.'
    load_balancer_controller: NotRequired[Addon]
    'AWS Load Balancer Controller.'
    cluster_autoscaler: NotRequired[Addon]
    'Cluster autoscaler.'
    karpenter: NotRequired[Addon]
    "Karpenter, the node provisioner of the tiers' NodePools: its chart, its controller's role, the role its nodes run as and the interruption queue. Off by default (the cluster autoscaler provisions node groups)."
    karpenter_cni_on_node: NotRequired[bool]
    "Give Karpenter's nodes the VPC CNI's rights (an existing cluster whose CNI takes them from the node); a new cluster gives the CNI a role of its own."
    kubernetes_version: NotRequired[pulumi.Input[str]]
    "The cluster's Kubernetes version, e.g. 1.34 (a string or an Output such as aws.eks.get_cluster_output(...).version): the cluster autoscaler runs the release of the same minor (facts.defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS), and a minor it has none for stops the deployment. None: the chart's default image."
    prometheus: NotRequired[Addon]
    'kube-prometheus-stack.'
    alert_topic_name: NotRequired[Optional[str]]
    "The SNS topic (in this account and region) Alertmanager sends every alert to, signing with its own Pod Identity role: FleetMonitoring's <name_prefix>-alerts. None: the chart's routing, which sends every alert to its 'null' receiver."
    burst_tiers: NotRequired[list[str]]
    "Tiers that burst onto spot above an on-demand floor (FleetTier's burst): the cluster autoscaler's priority expander tries their burst node groups first and falls back to the rest when spot is short."
    mig: NotRequired[Optional[MigConfigurationArgs]]
    "The fleet's MIG layouts: with the GPU operator on, their config map is made in its namespace before it starts, and its MIG manager is pointed at it."


class SystemNodes(TypedDict):
    'The CPU node group of a new cluster: controllers, add-ons and MCP servers (C3).'

    instance_type: NotRequired[str]
    'Instance type of the CPU nodes.'
    min_size: NotRequired[int]
    "Fewest nodes; two keep the controllers up through a node's loss."
    max_size: NotRequired[int]
    'Most nodes the cluster autoscaler may add.'


class FleetClusterArgs(TypedDict):
    'Inputs of a FleetCluster.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    name: str
    "The cluster's name."
    kubernetes_version: NotRequired[str]
    'Kubernetes version.'
    vpc_cidr: NotRequired[str]
    "The VPC's address range."
    availability_zones: NotRequired[int]
    "Zones for subnets and nodes: at least two, so a tier survives one's loss."
    admin_role_arns: NotRequired[list[str]]
    'IAM roles given cluster-admin through access entries.'
    public_access_cidrs: NotRequired[list[str]]
    'CIDRs that may reach the API endpoint from the internet; none: private.'
    nodes: NotRequired[SystemNodes]
    'The CPU node group.'


class PartQueue(TypedDict):
    "Another queue of a tier: a co-resident model's (MIG), with its own workers."

    part: str
    'The part of the tier it feeds (its MIG profile).'
    queue_name: pulumi.Input[str]
    'The SQS queue.'
    dlq_name: pulumi.Input[str]
    'Its dead-letter queue.'


class MonitoredTier(TypedDict):
    'What FleetMonitoring watches of one tier.'

    tier: str
    "The tier's name."
    deployments: list[str]
    "Names of the tier's vLLM Deployments."
    queue_name: pulumi.Input[str]
    "The tier's SQS queue."
    dlq_name: pulumi.Input[str]
    'Its dead-letter queue.'
    autoscaling_group: NotRequired[pulumi.Input[str]]
    'The Auto Scaling group of its node group; None under Karpenter.'
    instance_types: NotRequired[list[str]]
    'Under Karpenter (no Auto Scaling group): the instance types its NodePools launch, whose instances (detailed monitoring on) the dashboard counts.'
    part_queues: NotRequired[list[PartQueue]]
    "The tier's other queues (co-resident models on MIG): alarmed and charted like its own."
    backlog_alert: int
    'Requests waiting that mean the tier cannot keep up (at its ceiling).'
    node_price_per_hour: NotRequired[Optional[float]]
    "What one of the tier's GPU nodes costs an hour (K3): with a budget, the running-cost alert counts the tier's nodes at this price. None: left out."
    reserved_instances: NotRequired[Optional[int]]
    "Instances a reservation bills whether they run or not: the running-cost alert counts at least this many of the tier's nodes."
    ttft_alert_seconds: NotRequired[Optional[float]]
    "M1 for this tier: alert above this p95 time to first token, below the tier's own target. None: the fleet's ttft_p95_alert_seconds."


class FleetMonitoringArgs(TypedDict):
    'Inputs of a FleetMonitoring.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    name_prefix: str
    'Prefix of the dashboard and topic names.'
    namespace: str
    "Namespace of the fleet's pods and rules."
    tiers: list[MonitoredTier]
    'The tiers to watch.'
    ttft_p95_alert_seconds: NotRequired[float]
    'M1: alert above this p95 time to first token, below the SLA.'
    kv_cache_alert_percent: NotRequired[float]
    'M2: alert when KV-cache usage stays above this for 5 min.'
    budget_per_hour: NotRequired[Optional[float]]
    "K3: the fleet's budget per hour; an AWS Budget of 730x that per month, alerting at 80% and 100%, forecast and actual. None: no budget."
    alert_emails: NotRequired[list[str]]
    'E-mail subscribers of the alert topic.'


class ClusterRef(TypedDict):
    'The cluster a tier builds into: its name, and its VPC, subnets and node role as strings (an existing cluster) or Outputs (a new one).'

    name: str
    "The EKS cluster's name."
    vpc_id: pulumi.Input[str]
    "The cluster's VPC."
    subnet_ids: list[pulumi.Input[str]]
    'Subnets for GPU nodes (and internal load balancers, unless load_balancer_subnet_ids names others).'
    load_balancer_subnet_ids: NotRequired[Optional[list[pulumi.Input[str]]]]
    'Subnets for internal load balancers, where no pod runs, so vLLM can admit the load balancer by address and no pod with it. Default: subnet_ids.'
    public_subnet_ids: NotRequired[Optional[list[pulumi.Input[str]]]]
    "Subnets for internet-facing load balancers (routed to an internet gateway). Default: the internal load balancers' subnets."
    node_role_arn: pulumi.Input[str]
    'IAM role of the nodes.'
    ami_release: NotRequired[str]
    "The EKS-optimized AL2023 AMI release Karpenter's nodes run (amazon-eks-ami's tag, e.g. v20251209), or latest."
    karpenter_node_role: NotRequired[pulumi.Input[str]]
    "Name of the IAM role Karpenter's nodes run as (ClusterAddons' karpenter_node_role); None: the node role's."
    keda_operator_role_arn: NotRequired[pulumi.Input[str]]
    "The KEDA operator's IAM role, when known."


class ScheduledReplicas(TypedDict):
    'A cron window during which the Deployment is held at ``replicas`` at least.'

    start: str
    'Cron expression of when the window opens.'
    end: str
    'Cron expression of when it closes.'
    timezone: NotRequired[str]
    'IANA time zone of the two expressions.'
    replicas: int
    'Replicas held at least while the window is open.'


class ReplicaShape(TypedDict):
    'vLLM replicas of one shape within a tier: whole GPUs, or one MIG profile. A tier with a mixed MIG layout has one shape per profile, each its own Deployment.'

    profile: NotRequired[Optional[str]]
    'MIG profile each replica runs in; None for whole GPUs.'
    gpu_resource: NotRequired[str]
    'Extended resource per replica: nvidia.com/gpu, or nvidia.com/mig-<profile>.'
    gpu_count: NotRequired[int]
    'How many of gpu_resource one replica takes (tensor parallelism).'
    sessions_per_replica: int
    'Concurrent sessions one replica is sized for (C2).'
    max_num_seqs: int
    'vLLM --max-num-seqs (C2).'
    model: NotRequired[Optional[str]]
    "The model these replicas serve when it is not the tier's (a co-resident model in its own MIG slice); it gets its own queue, workers and autoscaler."
    model_profile: NotRequired[Optional[str]]
    "That model's shape (facts.models.profile_json), for model-fits-gpu."
    max_model_len: NotRequired[Optional[int]]
    "vLLM --max-model-len: what the model and one replica's KV cache allow. None: the model's own (vLLM refuses to start if its KV cache cannot hold it)."
    max_num_batched_tokens: NotRequired[Optional[int]]
    'vLLM --max-num-batched-tokens: the tokens one step carries.'
    serving: NotRequired[Optional[str]]
    'What a replica is planned to deliver (facts.serving.Promise JSON).'
    in_flight_target: int
    'The work (served plus waiting) one replica is sized for: the autoscaler asks for ceil(load / this) replicas.'
    replicas_per_instance: int
    'Replicas one GPU instance holds.'
    disruption_budget: NotRequired[int]
    "Replicas of one node that may go at once (the PodDisruptionBudget's maxUnavailable): enough for a node of replicas_per_instance to drain within EKS's 15-minute limit on a node update, each round waiting for its replacements' start."
    startup_timeout_seconds: NotRequired[int]
    "What the startup probe allows a replica for its weights and vLLM's engine start (infra.startup: the model's size over the source's rate, a node's replicas starting at once, with a margin)."
    min_replicas: int
    "The autoscaler's floor: the tier's floor of instances in replicas (A4)."
    max_replicas: int
    "The autoscaler's ceiling: the tier's ceiling of instances in replicas."
    schedule: NotRequired[list[ScheduledReplicas]]
    'Known peaks: the replicas this shape is held at during each.'


class GpuPrices(TypedDict):
    "The prices a tier was planned with, per GPU-hour: the policies judge capacity by these (a stack may override the catalog's)."

    on_demand: float
    'On-demand price per GPU-hour, USD.'
    spot: NotRequired[Optional[float]]
    'Spot price per GPU-hour, USD; none when the GPU is not sold on spot or the stack says so.'


class NodeDisk(TypedDict):
    "Where a tier's nodes keep the replicas' model weights (the plan sizes it)."

    replica_cache_gib: NotRequired[int]
    "Each replica's emptyDir for the weights and caches, and its limit."
    root_volume_gib: NotRequired[int]
    "The nodes' root volume."
    instance_store: NotRequired[bool]
    'Keep the data on the instance store (RAID0) instead of the root.'


class TierBurst(TypedDict):
    'Spot capacity a tier bursts onto above its on-demand floor.'

    max_instances: int
    'Ceiling of the spot node group (its floor is 0).'
    accept_interruptions: NotRequired[bool]
    "A5: the stack accepts spot interruptions of a user-facing tier's burst."


class CapacityReservation(TypedDict):
    "EC2 capacity a node group launches into: an On-Demand Capacity Reservation, or a Capacity Block for ML (the launch template's market type ``capacity-block``, the node group's capacity type ``CAPACITY_BLOCK``)."

    kind: str
    'capacity-reservation or capacity-block. One of: `capacity-reservation`, `capacity-block`.'
    id: str
    "The reservation's id, which the launch template targets."
    ends_at: NotRequired[Optional[str]]
    'When a Capacity Block ends (ISO 8601), tagged for the policies.'
    subnet_ids: NotRequired[Optional[list[pulumi.Input[str]]]]
    "The subnets of the reservation's availability zone; None: the node group's."


class TierScaling(TypedDict):
    'Queue-depth autoscaling of a tier (checklist A1-A3).'

    queue_depth_per_replica: NotRequired[int]
    "A2: KEDA's target backlog per replica."
    scale_out_sustain_seconds: NotRequired[int]
    'A2: how long a backlog lasts before scale-up.'
    scale_in_idle_seconds: NotRequired[int]
    'A3: how long the queue stays low before scale-in.'


class TierLoadBalancer(TypedDict):
    'The load balancer of a user-facing tier (checklist C5-C7).'

    internal: NotRequired[bool]
    'Internal unless set false.'
    certificate_arn: NotRequired[Optional[str]]
    'ACM certificate: HTTPS on 443.'
    allowed_cidrs: NotRequired[Optional[list[str]]]
    "Who may reach the listener; default: the VPC's CIDR block."
    health_check_interval_seconds: NotRequired[int]
    'C6: seconds between health checks.'


class TierQueue(TypedDict):
    "The tier's task queue (checklist C4) and who its workers may answer."

    max_receive_count: NotRequired[int]
    'Receives before the dead-letter queue.'
    kms_key_id: NotRequired[Optional[str]]
    'KMS key; default: SSE-SQS.'
    reply_queue_arns: NotRequired[list[str]]
    "The agents' reply queues the workers may send replies to."
    reply_queues_by_sender: NotRequired[dict[str, list[str]]]
    "Each sender's own reply queues (SQS SenderId's IAM unique id to ARNs)."


class AddonReadiness(TypedDict):
    'The releases each kind of fleet object waits for; empty when the add-on is not installed here (the cluster provides it).'

    gpu_operator: NotRequired[list[Any]]
    'What GPU pods wait for. Resources to wait for.'
    keda: NotRequired[list[Any]]
    'What ScaledObjects wait for. Resources to wait for.'
    load_balancer_controller: NotRequired[list[Any]]
    'What TargetGroupBindings wait for. Resources to wait for.'
    prometheus: NotRequired[list[Any]]
    'What monitors and rules wait for. Resources to wait for.'
    karpenter: NotRequired[list[pulumi.Input[str]]]
    'What NodePools and EC2NodeClasses wait for.'


class WorkerOptions(TypedDict):
    'The queue worker beside each vLLM replica: its image and resources.'

    image: NotRequired[str]
    "The worker image (this package's Dockerfile)."
    cpu_millis: NotRequired[int]
    'CPU request and limit.'
    memory_mib: NotRequired[int]
    'Memory request and limit.'


class ModelWeights(TypedDict):
    'What a tier needs to stream its models from S3 (FleetTierArgs.weights).'

    folders: dict[str, str]
    "The S3 folder (s3://<bucket>/<prefix>/) of each model the tier serves from S3, by the model's name as the tier gives it; a model not here comes from the Hub."
    kms_key_arn: NotRequired[pulumi.Input[str]]
    "The bucket's KMS key, when a customer managed key encrypts it."
    https_cidrs: pulumi.Input[str]
    "The only addresses the pods' HTTPS may reach: S3's (its gateway endpoint's prefix list) and the VPC's (the SQS interface endpoint)."
    after: NotRequired[list[pulumi.Input[str]]]
    'What the pods wait for: the mirror Jobs that fill the folders.'


class FleetTierArgs(TypedDict):
    "Inputs of a FleetTier: the tier as a capacity plan sized it (``infra.wiring`` maps agentfleet's plan onto these), and where it is built."

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    tier: str
    "The tier's name; its resources are named after it."
    cluster: ClusterRef
    'The EKS cluster the tier is built into (FleetCluster.ref for a new one).'
    region: str
    'AWS region of the queue.'
    namespace: NotRequired[str]
    'Kubernetes namespace of the fleet.'
    gpu: str
    'Catalog key of the GPU.'
    latency_class: str
    'ttft-first or throughput-first (C1). One of: `ttft-first`, `throughput-first`.'
    user_facing: bool
    'User-facing tiers get a load balancer and keep their floor (A4, C7).'
    capacity: str
    'on-demand or spot (A5, K1, K2). One of: `on-demand`, `spot`.'
    node_provisioner: NotRequired[str]
    "What provisions the tier's GPU nodes: managed node groups the cluster autoscaler scales, or Karpenter NodePools. One of: `cluster-autoscaler`, `karpenter`."
    model: str
    'The model vLLM serves.'
    revision: NotRequired[Optional[str]]
    "The Hub revision of the tier's own model; None: main."
    model_profile: NotRequired[Optional[str]]
    "The model's shape (facts.models.profile_json) when the shipped model table does not know it, for model-fits-gpu."
    gpu_memory_utilization: NotRequired[float]
    "vLLM --gpu-memory-utilization. Default 0.9 (vLLM's)."
    instance_type: str
    'AWS instance type of the GPU nodes.'
    min_instances: int
    'Floor of GPU instances.'
    max_instances: int
    'Ceiling of GPU instances.'
    shapes: list[ReplicaShape]
    "The tier's vLLM replicas, one Deployment per shape."
    replica_cpu_millis: int
    'CPU each replica requests and is limited to.'
    replica_memory_mib: int
    'Memory each replica requests and is limited to (MiB).'
    prices: NotRequired[Optional[GpuPrices]]
    'The prices the tier was planned with, marked on its node group.'
    disk: NotRequired[NodeDisk]
    "The nodes' disks and each replica's cache."
    mig: NotRequired[Optional[MigLayout]]
    'MIG layout of every GPU, for MIG tiers.'
    mig_config: NotRequired[Optional[str]]
    "The tier's mig-parted config name (MigConfiguration), with mig."
    burst: NotRequired[Optional[TierBurst]]
    "A spot node group the tier bursts onto above its floor (capacity must be on-demand); the shapes' max_replicas count its instances too."
    reservation: NotRequired[Optional[CapacityReservation]]
    "Reserved capacity the tier's own nodes (not its burst's) launch into."
    scaling: NotRequired[TierScaling]
    'A1-A3.'
    request_timeout_seconds: NotRequired[int]
    'The longest request the tier allows.'
    load_balancer: NotRequired[TierLoadBalancer]
    'The load balancer, when user-facing.'
    access_logs_bucket: NotRequired[pulumi.Input[str]]
    "Bucket for the load balancer's access logs (LoadBalancerLogs)."
    queue: NotRequired[TierQueue]
    'The task queue (C4).'
    hf_token: NotRequired[pulumi.Input[str]]
    'Hugging Face token, a Pulumi secret.'
    prometheus_address: NotRequired[Optional[str]]
    'Prometheus for the vLLM waiting-queue trigger (user-facing tiers).'
    depends_on: NotRequired[list[Any]]
    "Resources the tier's Kubernetes objects wait for (e.g. the namespace). Resources to wait for."
    addons: NotRequired[AddonReadiness]
    "The add-on releases the tier's objects wait for: vLLM for the GPU operator, ScaledObjects for KEDA, TargetGroupBindings for the load balancer controller (ClusterAddons.readiness)."
    vllm_image: NotRequired[str]
    "vLLM's image, by tag or by digest (image@sha256:...)."
    worker: NotRequired[Optional[WorkerOptions]]
    'The queue worker beside each vLLM replica; None when something else consumes the queue.'
    weights: NotRequired[Optional[ModelWeights]]
    'Models the tier streams from S3 (ModelStore), with the addresses its pods may then reach; None: every model from the Hub.'


class GpuNodePoolArgs(TypedDict):
    'Inputs of a GpuNodePool.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    cluster_name: str
    'The EKS cluster the node group joins.'
    node_role_arn: pulumi.Input[str]
    'IAM role of the nodes (a string or an Output).'
    subnet_ids: list[pulumi.Input[str]]
    'Subnets of the nodes; several availability zones let a tier survive the loss of one (C7).'
    tier: str
    'The tier; labels, taints and tags carry it (M4).'
    gpu: str
    'Catalog key of the GPU the instance type carries.'
    latency_class: str
    'Written on the nodes for C1. One of: `ttft-first`, `throughput-first`.'
    user_facing: bool
    'Written on the nodes for A5 and K1.'
    instance_type: str
    'The instance type; it must carry the GPU.'
    capacity: str
    'on-demand or spot; spot only for interruptible tiers (A5, K1, K2). One of: `on-demand`, `spot`.'
    burst: NotRequired[bool]
    "The node group a tier bursts onto above its on-demand floor: labelled and tagged so (the cluster autoscaler's priority expander tries it first; A4 and C7 read the floor from the other group)."
    accept_interruptions: NotRequired[bool]
    "With burst on spot: the stack accepts interruptions of a user-facing tier's burst (A5 reads the tag)."
    min_size: int
    'Floor of instances (A4): at least 2 for user-facing tiers (C7).'
    max_size: int
    'Ceiling of instances.'
    disk_size_gib: NotRequired[int]
    'The root volume of each node (gp3, encrypted, in the launch template): container images and model weights, unless instance_store holds them.'
    instance_store: NotRequired[bool]
    "Put kubelet's and containerd's data (the replicas' emptyDirs with their model weights, the images) on the instance type's NVMe instance store, striped as one RAID0 array by nodeadm (NodeConfig spec.instance.localStorage). The instance type must have one."
    prices: NotRequired[Optional[GpuPrices]]
    "The prices the tier was planned with, as tags on the node group (K2's policy compares them); None: the policies use the catalog's."
    reservation: NotRequired[Optional[CapacityReservation]]
    'Reserved capacity the nodes launch into (the launch template targets it; a Capacity Block makes the group CAPACITY_BLOCK), tagged for the policies.'
    mig_config: NotRequired[Optional[str]]
    'Name of the mig-parted config the GPU operator applies to these nodes (the nvidia.com/mig.config label); set with mig_layout.'
    mig_layout: NotRequired[Optional[MigLayout]]
    "MIG layout of every GPU of a node (the one MigConfiguration applies); the autoscaler's node template advertises its nvidia.com/mig-<profile> resources so it can scale from zero."


class InferenceLoadBalancerArgs(TypedDict):
    'Inputs of an InferenceLoadBalancer.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    tier: str
    'The tier behind the load balancer.'
    cluster_name: str
    'The EKS cluster; part of the AWS names.'
    vpc_id: pulumi.Input[str]
    'VPC of the load balancer and its targets.'
    subnet_ids: list[pulumi.Input[str]]
    'Subnets of the load balancer, in at least two availability zones (an ALB needs two). vLLM admits their CIDR blocks: give subnets where no pod runs.'
    service_names: list[pulumi.Input[str]]
    'The vLLM Services to bind to the target group (one TargetGroupBinding each; several for a tier with more than one replica shape).'
    service_namespace: str
    'Namespace of that Service.'
    internal: NotRequired[bool]
    'Internal (reachable inside the VPC) unless set false.'
    allowed_cidrs: NotRequired[Optional[list[str]]]
    "Who may reach the listener; default: the VPC's CIDR block."
    certificate_arn: NotRequired[Optional[str]]
    'ACM certificate: with one the listener is HTTPS on 443 (TLS 1.2+), without one it is plain HTTP on 80, for internal use only.'
    health_check_interval_seconds: NotRequired[int]
    "C6: seconds between checks of vLLM's /health; 10-15 s wanted."
    healthy_threshold: NotRequired[int]
    'Passing checks before a replica takes traffic.'
    unhealthy_threshold: NotRequired[int]
    'Failing checks before a replica is taken out.'
    idle_timeout_seconds: NotRequired[int]
    "Idle timeout: at least 300 s so slow streamed responses are not cut (the ALB's default is 60 s). Keep it below the targets' keep-alive (VllmServiceArgs.keep_alive_seconds)."
    access_logs_bucket: NotRequired[pulumi.Input[str]]
    "Bucket for the access logs (LoadBalancerLogs.bucket_name), written under the tier's prefix; None: no access logs."
    deregistration_delay_seconds: NotRequired[int]
    "How long a draining replica keeps its in-flight requests (the tier's longest request)."


class KarpenterNodePoolArgs(TypedDict):
    "Inputs of a KarpenterNodePool: a node group's, with what Karpenter adds."

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    cluster_name: str
    'The EKS cluster the node group joins.'
    node_role_arn: pulumi.Input[str]
    'IAM role of the nodes (a string or an Output).'
    subnet_ids: list[pulumi.Input[str]]
    'Subnets of the nodes; several availability zones let a tier survive the loss of one (C7).'
    tier: str
    'The tier; labels, taints and tags carry it (M4).'
    gpu: str
    'Catalog key of the GPU the instance type carries.'
    latency_class: str
    'Written on the nodes for C1. One of: `ttft-first`, `throughput-first`.'
    user_facing: bool
    'Written on the nodes for A5 and K1.'
    instance_type: str
    'The instance type; it must carry the GPU.'
    capacity: str
    'on-demand or spot; spot only for interruptible tiers (A5, K1, K2). One of: `on-demand`, `spot`.'
    burst: NotRequired[bool]
    "The node group a tier bursts onto above its on-demand floor: labelled and tagged so (the cluster autoscaler's priority expander tries it first; A4 and C7 read the floor from the other group)."
    accept_interruptions: NotRequired[bool]
    "With burst on spot: the stack accepts interruptions of a user-facing tier's burst (A5 reads the tag)."
    min_size: int
    'Floor of instances (A4): at least 2 for user-facing tiers (C7).'
    max_size: int
    'Ceiling of instances.'
    disk_size_gib: NotRequired[int]
    'The root volume of each node (gp3, encrypted, in the launch template): container images and model weights, unless instance_store holds them.'
    instance_store: NotRequired[bool]
    "Put kubelet's and containerd's data (the replicas' emptyDirs with their model weights, the images) on the instance type's NVMe instance store, striped as one RAID0 array by nodeadm (NodeConfig spec.instance.localStorage). The instance type must have one."
    prices: NotRequired[Optional[GpuPrices]]
    "The prices the tier was planned with, as tags on the node group (K2's policy compares them); None: the policies use the catalog's."
    reservation: NotRequired[Optional[CapacityReservation]]
    'Reserved capacity the nodes launch into (the launch template targets it; a Capacity Block makes the group CAPACITY_BLOCK), tagged for the policies.'
    mig_config: NotRequired[Optional[str]]
    'Name of the mig-parted config the GPU operator applies to these nodes (the nvidia.com/mig.config label); set with mig_layout.'
    mig_layout: NotRequired[Optional[MigLayout]]
    "MIG layout of every GPU of a node (the one MigConfiguration applies); the autoscaler's node template advertises its nvidia.com/mig-<profile> resources so it can scale from zero."
    node_role: pulumi.Input[str]
    'Name of the IAM role the nodes run as (Karpenter makes its instance profile; its access entry must exist).'
    ami_release: NotRequired[str]
    "The EKS-optimized AL2023 AMI release (amazon-eks-ami's tag, e.g. v20251209) the nodes run; latest: each new release drifts every node."
    pool_role: NotRequired[str]
    "whole: every node of a tier without a burst; floor: the on-demand nodes up to the tier's floor, kept when empty; burst: spot nodes above the floor; overflow: on-demand nodes between the floor and the ceiling. One of: `whole`, `floor`, `burst`, `overflow`."
    consolidate_after_seconds: int
    "How long a node stays empty before Karpenter removes it: longer than the tier's scale-in window, so a node outlives the replica that left it."


class LoadBalancerLogsArgs(TypedDict):
    'Inputs of a LoadBalancerLogs.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    cluster_name: str
    "The EKS cluster; the start of the bucket's name."
    retention_days: NotRequired[int]
    'Days a log object is kept.'


class McpServerArgs(TypedDict):
    'Inputs of an McpServer.'

    name: str
    'Name of the Deployment and Service.'
    namespace: str
    'Namespace of the Deployment and Service.'
    tier: str
    'The inference tier the server sends work to.'
    image: str
    "The MCP server's image; pin it by tag or digest."
    port: NotRequired[int]
    'Port it listens on.'
    health_path: NotRequired[Optional[str]]
    'HTTP path of its health check; default: a TCP check on the port.'
    replicas: NotRequired[int]
    'Replicas (two survive one).'
    inference_url: pulumi.Input[str]
    "The tier's OpenAI-compatible endpoint (env INFERENCE_URL)."
    queue_url: NotRequired[pulumi.Input[str]]
    "The tier's SQS task queue (env TASK_QUEUE_URL), when it has one."
    api_key_secret: NotRequired[Optional[str]]
    "The tier's API key Secret (FleetTier.api_key; env VLLM_API_KEY), which vLLM requires on its API."
    env: NotRequired[dict[str, str]]
    'More plain environment; secrets belong in Secrets, not here.'
    cpu_millis: NotRequired[int]
    'CPU request and limit.'
    memory_mib: NotRequired[int]
    'Memory request and limit.'
    node_selector: NotRequired[dict[str, str]]
    "CPU nodes to run on, e.g. a CPU node group's label."


class ModelStoreArgs(TypedDict):
    'Inputs of ModelStore.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    region: str
    'AWS region of the cluster and the bucket.'
    cluster_name: str
    "The EKS cluster (the mirror's Pod Identity)."
    namespace: str
    "Where the mirror Jobs run: the fleet's."
    vpc_id: pulumi.Input[str]
    "The cluster's VPC (the endpoints)."
    subnet_ids: NotRequired[list[pulumi.Input[str]]]
    "The cluster's subnets, one per zone: the SQS endpoint's."
    bucket: NotRequired[Optional[str]]
    "The store's bucket; None: endpoints only (tiers name S3 folders)."
    create: NotRequired[bool]
    'Create the bucket, SSE-KMS under its own key.'
    prefix: NotRequired[str]
    'Where the store keeps mirrored Hub models.'
    kms_key_arn: NotRequired[Optional[str]]
    "An existing bucket's customer managed key (create false)."
    endpoints: NotRequired[bool]
    'Create the S3 gateway and SQS interface endpoints.'
    mirrors: NotRequired[list[str]]
    'Hub models to copy into the store.'
    mirror_image: NotRequired[str]
    "The image the mirror Jobs run: vLLM's."
    hf_token: NotRequired[pulumi.Input[str]]
    'Hugging Face token for gated models, a secret.'
    depends_on: NotRequired[list[pulumi.Input[str]]]
    'What the Jobs wait for (the namespace).'


class QueueDepthAutoscalerArgs(TypedDict):
    'Inputs of a QueueDepthAutoscaler.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    tier: str
    'The tier; its labels go on the KEDA objects.'
    namespace: str
    'Namespace of the Deployment.'
    deployment_name: pulumi.Input[str]
    'The vLLM Deployment to scale.'
    user_facing: bool
    'User-facing tiers never scale to zero (A4).'
    region: str
    'AWS region of the queue.'
    queue_url: pulumi.Input[str]
    "The tier's SQS queue URL."
    queue_arn: pulumi.Input[str]
    "The queue's ARN: the only resource the role may read."
    min_replicas: int
    'A4: the floor; 0 lets a background tier scale to zero.'
    max_replicas: int
    'The ceiling.'
    replicas_per_instance: NotRequired[int]
    "Replicas one GPU instance holds: scale-up adds a node's worth at once."
    in_flight_target: int
    "The load (requests served plus waiting) per replica the HPA aims at: it asks for ceil(load / this) replicas. The replica's sessions (its share of the node's for one shape of several), lowered just enough that the HPA's 10% tolerance cannot hold the tier short of its planned replicas at its planned load; the plan computes it (infra.sizing.in_flight_target)."
    queue_depth_per_replica: NotRequired[int]
    "A2: KEDA's target backlog per replica (queueLength)."
    scale_out_sustain_seconds: NotRequired[int]
    'A2: scale-up stabilisation: the backlog must last this long.'
    scale_in_idle_seconds: NotRequired[int]
    'A3: scale-down stabilisation, and the cooldown before zero.'
    prometheus_address: NotRequired[Optional[str]]
    "With one, user-facing tiers also scale on vLLM's waiting requests (vllm:num_requests_waiting)."
    schedule: NotRequired[list[ScheduledReplicas]]
    'Known peaks: KEDA cron triggers that pre-scale for them.'
    keda_operator_role_arn: NotRequired[pulumi.Input[str]]
    "The KEDA operator's IAM role (a string or an Output), the only principal allowed to assume the queue-reading role. Default: any principal of the account that IAM allows."
    role_path: NotRequired[str]
    "IAM path of the queue-reading role; ClusterAddons' KEDA role may assume the roles under keda_role_path(cluster)."


class QueueWorkerArgs(TypedDict):
    'Inputs of a QueueWorker.'

    environment: str
    'dev, staging or prod; tagged for cost (M4).'
    cost_center: NotRequired[str]
    'Cost-center tag (M4).'
    tier: str
    'The tier whose queue the workers drain.'
    cluster_name: str
    'The EKS cluster of the Pod Identity association.'
    namespace: str
    'Namespace of the ServiceAccount.'
    part: NotRequired[Optional[str]]
    "The part of the tier whose queue these workers drain, when the tier serves several models (co-resident on MIG); part of the ServiceAccount's name."
    queue_arn: pulumi.Input[str]
    "The tier's task queue: receive, delete, hide."
    reply_queue_arns: NotRequired[list[str]]
    "The agents' reply queues: send only."
    kms_key_arn: NotRequired[pulumi.Input[str]]
    "The queue's KMS key when it has one: decrypt only."
    weights_folders: NotRequired[list[str]]
    'S3 folders (s3://<bucket>/<prefix>/) the pods stream weights from: read and list within them only (the pods run as this service account).'
    weights_kms_key_arn: NotRequired[pulumi.Input[str]]
    "The weights bucket's KMS key: decrypt through S3 only."
    region: NotRequired[Optional[str]]
    "The weights bucket's region (decrypt through that region's S3)."


class VllmArgs(TypedDict):
    'The `vllm serve` arguments agentfleet sets, typed; ``render()`` gives the argv.'

    model: str
    'Model to serve (Hugging Face id or a path).'
    served_model_name: NotRequired[Optional[str]]
    'Name clients use in requests; default: the model.'
    revision: NotRequired[Optional[str]]
    "--revision: the Hub revision (the tokenizer's too); None: main."
    max_num_seqs: int
    '--max-num-seqs: 1.5-2x the sessions per replica (C2).'
    gpu_memory_utilization: NotRequired[float]
    'Share of GPU memory vLLM may take for weights and KV cache.'
    tensor_parallel_size: NotRequired[int]
    'GPUs one replica shards the model over.'
    max_model_len: NotRequired[Optional[int]]
    "Context length limit; default: the model's own."
    max_num_batched_tokens: NotRequired[Optional[int]]
    "--max-num-batched-tokens: the tokens one step carries (chunked prefill's budget); default: vLLM's for the device."
    shutdown_timeout: NotRequired[Optional[int]]
    "--shutdown-timeout: how long vLLM lets its in-flight requests finish after SIGTERM (vLLM's own default, 0, aborts them); VllmService sets the tier's request timeout."
    max_logprobs: NotRequired[int]
    "--max-logprobs: at most this many a token (vLLM's is 20)."
    load_format: NotRequired[Optional[str]]
    "--load-format: runai_streamer for a model in S3; None: vLLM's auto."
    model_loader_extra_config: NotRequired[Optional[dict[str, int]]]
    "--model-loader-extra-config, e.g. the streamer's concurrency."


class WorkerSidecar(TypedDict):
    'The ``agentfleet worker`` container beside vLLM: what it reads and how it drains.'

    image: NotRequired[str]
    "The worker image (this package's Dockerfile)."
    queue_url: pulumi.Input[str]
    "The tier's task queue."
    region: str
    'AWS region of the queue.'
    service_account: str
    'The ServiceAccount whose Pod Identity role the worker uses.'
    max_in_flight: int
    "Requests forwarded at once: the replica's --max-num-seqs."
    visibility_timeout_seconds: int
    "The queue's visibility timeout; extended while a request runs."
    request_timeout_seconds: int
    'The longest request; also the drain on SIGTERM.'
    reply_queue_arns: NotRequired[list[str]]
    'Reply queues the worker may answer on; others are refused unrun.'
    reply_queues_by_sender: NotRequired[dict[str, list[str]]]
    "Each sender's own reply queues (SQS SenderId's IAM unique id to ARNs)."
    cpu_millis: NotRequired[int]
    'CPU request and limit.'
    memory_mib: NotRequired[int]
    'Memory request and limit.'
    api_key_secret: NotRequired[Optional[str]]
    'Secret holding the key vLLM requires (components.secrets).'
    weights_role_arn: NotRequired[pulumi.Input[str]]
    "The tier's weights role (QueueWorker.weights_role): the worker hands vLLM its short-lived credentials on the pod's loopback. None: weights not in S3."


class VllmServiceArgs(TypedDict):
    'Inputs of a VllmService.'

    tier: str
    'The tier these replicas serve.'
    namespace: str
    'Namespace of the Deployment and Service.'
    name: NotRequired[Optional[str]]
    'Name of the Deployment and Service; default: <tier>-vllm.'
    vllm: VllmArgs
    "The vLLM server's arguments."
    image: NotRequired[str]
    "vLLM's OpenAI-compatible server image, pinned."
    sessions_per_replica: int
    'Concurrent sessions one replica is sized for; written as an annotation for C2.'
    model_profile: NotRequired[Optional[str]]
    "The model's shape (facts.models.profile_json) when the shipped model table does not know it; written as an annotation so model-fits-gpu can size it."
    serving: NotRequired[Optional[str]]
    'What a replica is planned to deliver (facts.serving.Promise JSON); written as an annotation so replica-meets-targets can hold it to that.'
    user_facing: bool
    'Written on the pods (A4, K1).'
    latency_class: str
    'Written on the pods for C1. One of: `ttft-first`, `throughput-first`.'
    gpu: str
    'Catalog key of the GPU; written on the pods.'
    capacity: str
    'Capacity of the nodes; written on the pods (A5). One of: `on-demand`, `spot`.'
    replicas: int
    'Replicas at creation; the autoscaler owns the count afterwards.'
    gpu_resource: NotRequired[str]
    'Extended resource per replica: nvidia.com/gpu, or nvidia.com/mig-<profile>.'
    gpu_count: NotRequired[int]
    'How many of gpu_resource one replica takes.'
    cpu_millis: int
    'CPU request and limit (equal: Guaranteed QoS, never evicted first).'
    memory_mib: int
    'Memory request and limit (MiB).'
    shm_size_mib: NotRequired[int]
    "Memory-backed /dev/shm for vLLM's worker processes and NCCL."
    cache_size_gib: NotRequired[int]
    'Writable cache for model weights (HF_HOME) and compiled kernels.'
    node_selector: NotRequired[Optional[dict[str, str]]]
    "Nodes to run on; default: the tier's GPU nodes."
    request_timeout_seconds: NotRequired[int]
    'The longest request the tier allows; the drain waits this long.'
    keep_alive_seconds: NotRequired[int]
    "How long vLLM keeps an idle HTTP connection open (VLLM_HTTP_TIMEOUT_KEEP_ALIVE): longer than the load balancer's idle timeout, or the load balancer sends requests down connections vLLM is closing (502s)."
    startup_timeout_seconds: NotRequired[int]
    "How long the startup probe allows for the weights' download and vLLM's engine start (FleetTier sets it from the model's size and the source's rate: infra.startup)."
    weights_region: NotRequired[Optional[str]]
    'The region of the S3 bucket the weights stream from (AWS_REGION for the streamer, which otherwise asks the instance metadata). None: not from S3.'
    https_cidrs: NotRequired[pulumi.Input[str]]
    "The only addresses the pods' HTTPS may reach; None: anywhere."
    hf_token: NotRequired[pulumi.Input[str]]
    'Hugging Face token (a Pulumi secret, e.g. from `pulumi config set --secret agentfleet:hfToken`); stored in a Kubernetes Secret, never in plain env.'
    api_key_secret: NotRequired[Optional[str]]
    'Secret (components.api_key) whose key vLLM requires on its API.'
    disruption_budget: NotRequired[int]
    "Replicas that may go at once (the PodDisruptionBudget's maxUnavailable): enough for a node of them to drain within EKS's 15-minute limit on a node update."
    worker: NotRequired[Optional[WorkerSidecar]]
    "The queue worker sidecar that feeds this replica from the tier's queue; vLLM's pre-stop waits for it to drain."
    pod_monitor: NotRequired[bool]
    "Declare a PodMonitor so Prometheus scrapes vLLM's /metrics (and the worker's): kube-prometheus-stack scrapes nothing without one, and the TTFT and KV-cache alerts and the waiting-requests trigger read these metrics. Needs the Prometheus Operator's CRDs (ClusterAddons' prometheus add-on installs them)."
    scrape_interval_seconds: NotRequired[int]
    'How often Prometheus scrapes the pods.'
    scraper_namespace: NotRequired[str]
    "The namespace of the Prometheus that scrapes the pods: the only one the pods' NetworkPolicy lets reach their metrics ports."


class AgentQueue(_components.AgentQueue):
    "An encrypted SQS queue (SSE-SQS, or KMS when a key is given) with long polling, a visibility timeout longer than the tier's longest request, and a dead-letter queue that keeps failed requests longer than the queue keeps any; both refuse non-TLS access."

    url: pulumi.Output[str]
    "The task queue's URL: where agents send requests."
    arn: pulumi.Output[str]
    "The task queue's ARN."
    queue_name: pulumi.Output[str]
    "The task queue's name."
    dlq_url: pulumi.Output[str]
    "The dead-letter queue's URL."
    dlq_arn: pulumi.Output[str]
    "The dead-letter queue's ARN."

    def __init__(
        self, name: str, args: AgentQueueArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.AgentQueueArgs, args), opts)  # type: ignore[arg-type]


class ClusterAddons(_components.ClusterAddons):
    "The cluster add-ons the fleet needs, each a Helm release with its chart pinned: the NVIDIA GPU operator (driver and toolkit off, as the EKS NVIDIA AMI has both; MIG manager on with the mixed strategy and the fleet's MIG config map; DCGM exporter), KEDA, the AWS Load Balancer Controller, the cluster autoscaler (auto-discovery of the cluster's node groups, scale-down that waits out a GPU node's cold start; node group minimums keep the tiers' floors) and kube-prometheus-stack (Prometheus Operator and a Prometheus that loads every PrometheusRule). KEDA, the load balancer controller and the autoscaler each get an IAM role through EKS Pod Identity with a least-privilege policy."

    keda_operator_role_arn: Optional[pulumi.Output[str]]
    "The IAM role KEDA's operator runs as, when this installs KEDA."
    prometheus_address: Optional[str]
    "The Prometheus the fleet's triggers query, when this installs it."

    def __init__(
        self, name: str, args: ClusterAddonsArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.ClusterAddonsArgs, args), opts)  # type: ignore[arg-type]


class FleetCluster(_components.FleetCluster):
    "A new EKS cluster for the fleet: a VPC over several availability zones (private subnets for nodes, subnets of their own for internal load balancers, public ones for NAT gateways and internet-facing load balancers, one of each per zone), the cluster with a private API endpoint (public access off, or only from the given CIDRs), secrets envelope-encrypted with a KMS key of its own, every control-plane log type on, API access entries (the creator and the given admin roles), the VPC CNI, kube-proxy, CoreDNS and EKS Pod Identity Agent add-ons (the CNI's rights on a Pod Identity role, not the node's), and an on-demand CPU node group for controllers and MCP servers. GPU tiers build into it as into an existing cluster."


    def __init__(
        self, name: str, args: FleetClusterArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.FleetClusterArgs, args), opts)  # type: ignore[arg-type]


class FleetMonitoring(_components.FleetMonitoring):
    "A PrometheusRule with, per tier, the TTFT p95 alert (M1), the KV-cache alert (M2) and a sustained-backlog alert; CloudWatch alarms on each queue's backlog and dead-letter queue; a dashboard of each tier's queue depth beside its GPU instances in service (M3); and an AWS Budget on the tier tags with alerts at 80% and 100% (K3), all notifying one SNS topic."


    def __init__(
        self, name: str, args: FleetMonitoringArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.FleetMonitoringArgs, args), opts)  # type: ignore[arg-type]


class FleetTier(_components.FleetTier):
    'A tier: its GPU node pool, vLLM replicas (one Deployment per replica shape), task queue, queue-depth autoscaler, and for user-facing tiers a load balancer. Background tiers are reached through their queue and may scale to zero.'

    endpoint: pulumi.Output[str]
    'Where the tier is reached: its load balancer, else its first vLLM Service.'

    def __init__(
        self, name: str, args: FleetTierArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.FleetTierArgs, args), opts)  # type: ignore[arg-type]


class GpuNodePool(_components.GpuNodePool):
    "An EKS managed node group for one tier: the NVIDIA AL2023 AMI, the tier's instance type and capacity, the ``nvidia.com/gpu`` NoSchedule taint, tier labels, and the cluster-autoscaler node-template tags on the node group's Auto Scaling group so the tier can scale up from zero, MIG included. Its launch template tags the instances, volumes and network interfaces with the tier (cost per tier, M4), sizes the root volume and can put the node's data on the instance store."

    node_group_name: pulumi.Output[str]
    "The EKS managed node group's name."
    autoscaling_group_name: pulumi.Output[str]
    'The Auto Scaling group EKS made for it.'
    labels: dict[str, str]
    'The Kubernetes labels of its nodes.'

    def __init__(
        self, name: str, args: GpuNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.GpuNodePoolArgs, args), opts)  # type: ignore[arg-type]


class InferenceLoadBalancer(_components.InferenceLoadBalancer):
    "An Application Load Balancer (internal by default) for a user-facing tier: a security group, an IP target group on port 8000 health-checking vLLM's /health (200), least-outstanding-requests routing, a 300 s idle timeout for streamed responses, an HTTPS listener with a certificate (HTTP without one), and a TargetGroupBinding that lets the AWS Load Balancer Controller register the vLLM Service's pods."

    dns_name: pulumi.Output[str]
    "The load balancer's DNS name."
    endpoint: pulumi.Output[str]
    "The tier's URL through the load balancer (https with a certificate)."

    def __init__(
        self, name: str, args: InferenceLoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.InferenceLoadBalancerArgs, args), opts)  # type: ignore[arg-type]


class KarpenterNodePool(_components.KarpenterNodePool):
    "A tier's GPU nodes as Karpenter provisions them: a NodePool (the tier's instance types and capacity type, its ceiling in GPUs, the ``nvidia.com/gpu`` NoSchedule taint, tier labels, consolidation of empty nodes only) and its EC2NodeClass (the NVIDIA AL2023 AMI, IMDSv2, the encrypted gp3 root volume or the instance store as RAID0, the tier's cost tags on instances and volumes, the tier's reservation)."

    node_pool_name: str
    "The NodePool's Kubernetes name (Karpenter labels its nodes with it)."
    labels: dict[str, str]
    'The Kubernetes labels of its nodes.'

    def __init__(
        self, name: str, args: KarpenterNodePoolArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.KarpenterNodePoolArgs, args), opts)  # type: ignore[arg-type]


class LoadBalancerLogs(_components.LoadBalancerLogs):
    "A private bucket for the load balancers' access logs: all four public-access blocks, ACLs off (BucketOwnerEnforced), TLS only, objects expiring after the retention, and SSE-S3, the only default encryption ALB log delivery accepts (a KMS key refuses it). Each load balancer writes under its tier's prefix."

    bucket_name: pulumi.Output[str]
    "The bucket's name, for InferenceLoadBalancerArgs.access_logs_bucket."

    def __init__(
        self, name: str, args: LoadBalancerLogsArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.LoadBalancerLogsArgs, args), opts)  # type: ignore[arg-type]


class McpServer(_components.McpServer):
    "A CPU-only Deployment and Service for a user's MCP server image, pointed at a tier's inference endpoint and queue through its environment. No GPU request, no GPU toleration, and node affinity away from GPU nodes (checklist C3): the GPU lives behind it, in the shared pool."

    endpoint: pulumi.Output[str]
    "The MCP server's URL inside the cluster."

    def __init__(
        self, name: str, args: McpServerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.McpServerArgs, args), opts)  # type: ignore[arg-type]


class MigConfiguration(_components.MigConfiguration):
    "The mig-parted config map in the GPU operator's namespace. Each MIG tier's node group carries ``nvidia.com/mig.config=<config_names[tier]>`` (GpuNodePool's ``mig_config``), so its nodes come up partitioned; pods request ``nvidia.com/mig-<profile>`` (mixed strategy)."

    config_names: dict[str, str]
    "The MIG configuration name each layout's nodes are labelled with."

    def __init__(
        self, name: str, args: MigConfigurationArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.MigConfigurationArgs, args), opts)  # type: ignore[arg-type]


class ModelStore(_components.ModelStore):
    "The fleet's model store: a bucket (created with a KMS key of its own, SSE-KMS with bucket keys, every public access blocked, objects owned by the bucket's account, TLS only; or an existing one), S3's gateway endpoint on the VPC's route tables and SQS's interface endpoint with private DNS, and per Hub model a Job that mirrors it, which the tiers' pods wait for."


    def __init__(
        self, name: str, args: ModelStoreArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.ModelStoreArgs, args), opts)  # type: ignore[arg-type]


class QueueDepthAutoscaler(_components.QueueDepthAutoscaler):
    "A KEDA ScaledObject on a tier's vLLM Deployment, never on GPU utilisation. Two ``aws-sqs-queue`` triggers: the load (messages in flight plus waiting) against what one replica is sized for, so the planned load gets the planned replicas and half of it about half; and the waiting backlog against A2's N per replica. Optionally vLLM's waiting queue through Prometheus, and cron triggers for known peaks. Scale-up waits out the sustain window, then doubles (or adds a node's worth) every 15 s; scale-down waits for the idle window, then removes a tenth (or a node's worth) a minute. The floor and ceiling come from the plan. KEDA reads the queue through a TriggerAuthentication (``podIdentity.provider: aws``) with an IAM role that may only read that queue's attributes. ``facts.autoscaling`` models what KEDA and the HPA do with it."


    def __init__(
        self, name: str, args: QueueDepthAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.QueueDepthAutoscalerArgs, args), opts)  # type: ignore[arg-type]


class QueueWorker(_components.QueueWorker):
    "The identity of a tier's queue workers: a ServiceAccount (no RBAC: it reaches AWS only), an IAM role that EKS Pod Identity gives its pods (the worker container only), with a least-privilege policy, the Pod Identity association between the two, and, where the weights are in S3, the weights role the worker lends vLLM (read of the model's folder only)."

    weights_role_arn: Optional[pulumi.Output[str]]
    'The role vLLM reads its weights with, from the worker; None: not from S3.'
    service_account_name: str
    'The Kubernetes ServiceAccount the worker runs as.'

    def __init__(
        self, name: str, args: QueueWorkerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.QueueWorkerArgs, args), opts)  # type: ignore[arg-type]


class VllmService(_components.VllmService):
    'vLLM\'s OpenAI-compatible server for one tier: a Deployment on the tier\'s GPU nodes (pinned image, typed args, probes on /health, GPU or MIG limits, Pod Security "restricted", writable caches and memory-backed /dev/shm, graceful drain, zone spread), a Service on port 8000, a PodDisruptionBudget, a PodMonitor for vLLM\'s and the worker\'s metrics, and the Hugging Face token in a Secret.'

    service_name: pulumi.Output[str]
    'The Kubernetes Service in front of the replicas.'
    endpoint: pulumi.Output[str]
    "vLLM's URL inside the cluster (the Service's DNS name and port)."
    args_name: str
    'The name of the Deployment and Service, known before they exist.'

    def __init__(
        self, name: str, args: VllmServiceArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(name, as_args(_components.VllmServiceArgs, args), opts)  # type: ignore[arg-type]


COMPONENTS = [AgentQueue, ClusterAddons, FleetCluster, FleetMonitoring, FleetTier, GpuNodePool, InferenceLoadBalancer, KarpenterNodePool, LoadBalancerLogs, McpServer, MigConfiguration, ModelStore, QueueDepthAutoscaler, QueueWorker, VllmService]
PACKAGE = 'agentfleet'
"""The name the provider host serves the package by."""
