"""The wiring: agentfleet's plan mapped onto the components' own args, in one place.

The components know nothing of stack files or plans; the planner (``infra.plan``) knows
nothing of components. ``fleet(plan)`` fills, from the plan alone, everything the program
declares: each component's args, or, where a component also takes what another one
outputs (the cluster a tier builds into, the add-ons it waits for), every field but those,
which the program adds as it declares (``TIER_PLACEMENT``). So the program first wires,
then declares, and nothing of the plan is mapped after the first resource.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from components import (
    Addon,
    CapacityReservation,
    ClusterRef,
    FleetClusterArgs,
    GpuPrices,
    MigConfigurationArgs,
    MigLayout,
    NodeDisk,
    ReplicaShape,
    ScheduledReplicas,
    SystemNodes,
    TierBurst,
    TierLoadBalancer,
    TierQueue,
    TierScaling,
    WorkerOptions,
)
from components.mig_config import config_name
from components.monitoring import alert_topic_name
from facts import defaults, models
from facts.checklist import TTFT_ALERT_SHARE, TTFT_P95_ALERT_SECONDS
from facts.labels import COST_CENTER, ENVIRONMENT, MANAGED_BY
from facts.models import Model
from infra.config import AddonConfig, ClusterConfig
from infra.plan import FleetPlan, TierPlan
from infra.startup import tier_startup
from infra.summary import money, tier_summary

TIER_PLACEMENT = (
    "cluster",
    "hf_token",
    "prometheus_address",
    "depends_on",
    "addons",
    "weights",
    "access_logs_bucket",
)
"""FleetTierArgs' fields the program adds: what other components give, where it is built."""
ADDONS_PLACEMENT = ("vpc_id", "kubernetes_version")
"""ClusterAddonsArgs' fields the program adds: what the cluster gives."""
STORE_PLACEMENT = ("vpc_id", "subnet_ids", "hf_token", "depends_on")
"""ModelStoreArgs' fields the program adds."""


@dataclass(frozen=True)
class TierWiring:
    """One tier's part of the wiring."""

    name: str
    args: Mapping[str, Any]
    """FleetTierArgs' fields, all but ``TIER_PLACEMENT``."""
    backlog_alert: int
    """Requests waiting that mean the tier cannot keep up: A2's N a replica, at its ceiling."""
    node_price_per_hour: Decimal
    """What one of the tier's GPU nodes costs an hour (the budget's running-cost alert)."""
    reserved_instances: int | None
    """Instances a reservation bills whether they run or not (the alert counts them)."""
    ttft_alert_seconds: float
    """M1's threshold for the tier: below its own TTFT target."""
    outputs: Mapping[str, Any]
    """The tier's stack outputs that the plan gives (its endpoint and queues come from the
    built tier)."""
    weights_folders: Mapping[str, str]
    """The S3 folder of each of the tier's models streamed from S3 (ModelWeights.folders)."""


@dataclass(frozen=True)
class FleetWiring:
    """Everything the program declares, as the plan fills it."""

    region: str
    default_tags: Mapping[str, str]
    """Provider default tags: every AWS resource carries the environment and cost center
    even where a component's own tags would miss it (M4)."""
    cluster_name: str
    cluster: FleetClusterArgs | ClusterRef
    """A new cluster's args (``create: true``), or the existing cluster the stack names."""
    kubernetes_version: str | None
    """The stack's version, else a new cluster's default; None: what the cluster reports."""
    keda_operator_role_arn: str | None
    ami_release: str | None
    """The AMI release Karpenter's nodes run (None: the latest)."""
    namespace: str
    namespace_labels: Mapping[str, str]
    addons: Mapping[str, Any]
    """ClusterAddonsArgs' fields, all but ``ADDONS_PLACEMENT``."""
    mig: MigConfigurationArgs | None
    """The mig-parted config of every MIG tier, or None when no tier uses MIG."""
    has_hf_token: bool
    prometheus_address: str | None
    tiers: tuple[TierWiring, ...]
    monitoring: Mapping[str, Any]
    """FleetMonitoringArgs' fields, all but ``tiers``."""
    model_store: Mapping[str, Any] | None
    """ModelStoreArgs' fields, all but ``STORE_PLACEMENT``; None when every tier's weights
    come from the Hub."""
    load_balancer_logs: Mapping[str, Any] | None
    """LoadBalancerLogsArgs' fields; None when no tier has a load balancer."""
    cost_per_hour: float
    max_cost_per_hour: float


def fleet(plan: FleetPlan) -> FleetWiring:
    """The whole fleet's wiring, from its plan."""
    layouts = mig_layouts(plan)
    mig = MigConfigurationArgs(layouts=layouts) if layouts else None
    create = plan.cluster.create
    version = plan.cluster.kubernetes_version
    return FleetWiring(
        region=plan.region,
        default_tags={
            ENVIRONMENT: plan.environment,
            COST_CENTER: plan.cost_center,
            **MANAGED_BY,
        },
        cluster_name=plan.cluster.name,
        cluster=new_cluster(plan) if create else existing_cluster(plan.cluster),
        kubernetes_version=(version or defaults.KUBERNETES_VERSION) if create else version,
        keda_operator_role_arn=plan.cluster.keda_operator_role_arn,
        ami_release=plan.cluster.ami_release,
        namespace=plan.namespace,
        namespace_labels=NAMESPACE_LABELS,
        addons=addons(plan, mig),
        mig=mig,
        has_hf_token=plan.has_hf_token,
        prometheus_address=plan.monitoring.prometheus_address,
        tiers=tuple(_tier_wiring(plan, tier, layouts.get(tier.name)) for tier in plan.tiers),
        monitoring=monitoring(plan),
        model_store=model_store(plan),
        load_balancer_logs=load_balancer_logs(plan),
        cost_per_hour=money(plan.cost_per_hour),
        max_cost_per_hour=money(plan.max_cost_per_hour),
    )


NAMESPACE_LABELS = {
    "app.kubernetes.io/part-of": "agentfleet",
    "pod-security.kubernetes.io/enforce": "restricted",
    "pod-security.kubernetes.io/enforce-version": "latest",
    "pod-security.kubernetes.io/warn": "restricted",
    "pod-security.kubernetes.io/audit": "restricted",
    "elbv2.k8s.aws/pod-readiness-gate-inject": "enabled",
}
"""The fleet's namespace: every pod in it must meet Pod Security "restricted"; and the AWS
Load Balancer Controller gives each pod a TargetGroupBinding targets a readiness gate on its
target's health, so a rollout retires an old pod only once a new one is healthy in the
load balancer."""


def existing_cluster(config: ClusterConfig) -> ClusterRef:
    """The cluster a stack names, as the tiers build into it."""
    return ClusterRef(
        name=config.name,
        vpc_id=config.vpc_id,
        subnet_ids=tuple(config.subnet_ids or ()),
        load_balancer_subnet_ids=(
            None
            if config.load_balancer_subnet_ids is None
            else tuple(config.load_balancer_subnet_ids)
        ),
        node_role_arn=config.node_role_arn,
        keda_operator_role_arn=config.keda_operator_role_arn,
    )


def new_cluster(plan: FleetPlan) -> FleetClusterArgs:
    """A new cluster (``create: true``): the keys the stack sets, the component's defaults
    for the rest."""
    config = plan.cluster
    given: dict[str, Any] = {
        "kubernetes_version": config.kubernetes_version,
        "vpc_cidr": config.vpc_cidr,
        "availability_zones": config.availability_zones,
        "admin_role_arns": tuple(config.admin_role_arns or ()) or None,
        "public_access_cidrs": tuple(config.public_access_cidrs or ()) or None,
        "nodes": SystemNodes(**config.system_nodes.model_dump())
        if config.system_nodes is not None
        else None,
    }
    return FleetClusterArgs(
        name=config.name,
        environment=plan.environment,
        cost_center=plan.cost_center,
        **{key: value for key, value in given.items() if value is not None},
    )


def mig_layouts(plan: FleetPlan) -> dict[str, MigLayout]:
    """One MIG layout per MIG tier, checked once and shared by its node pool and the
    MigConfiguration that applies it."""
    return {
        tier.name: MigLayout(gpu=tier.config.gpu, layout=dict(tier.config.mig))
        for tier in plan.tiers
        if tier.config.mig
    }


def _addon(config: AddonConfig) -> Addon:
    return Addon(enabled=config.enabled, version=config.version)


def addons(plan: FleetPlan, mig: MigConfigurationArgs | None) -> dict[str, Any]:
    """ClusterAddonsArgs' fields from the plan (the cluster adds ``ADDONS_PLACEMENT``)."""
    karpenter = plan.cluster.node_provisioner == "karpenter"
    return {
        "cluster_name": plan.cluster.name,
        "region": plan.region,
        "environment": plan.environment,
        "cost_center": plan.cost_center,
        "gpu_operator": _addon(plan.addons.gpu_operator),
        "keda": _addon(plan.addons.keda),
        "load_balancer_controller": _addon(plan.addons.load_balancer_controller),
        # One node autoscaler: Karpenter instead of the cluster autoscaler where it
        # provisions the nodes.
        "cluster_autoscaler": _addon(plan.addons.cluster_autoscaler)
        if not karpenter
        else Addon(enabled=False),
        "karpenter": _addon(plan.addons.karpenter) if karpenter else Addon(enabled=False),
        # A new cluster's VPC CNI has a role of its own; an existing one's may use the node's.
        "karpenter_cni_on_node": not plan.cluster.create,
        "prometheus": _addon(plan.addons.prometheus),
        "alert_topic_name": alert_topic_name(name_prefix(plan)),
        "burst_tiers": tuple(tier.name for tier in plan.tiers if tier.burst is not None),
        "mig": mig,
    }


def _shapes(tier: TierPlan) -> tuple[ReplicaShape, ...]:
    model, start = tier.config.model, tier_startup(tier)
    return tuple(
        ReplicaShape(
            profile=group.profile,
            model=None if group.model == model else group.model,
            model_profile=None
            if group.model == model
            else _profile(group.model, tier.fit.shapes[index].model),
            gpu_resource=group.resource,
            gpu_count=group.resource_count,
            sessions_per_replica=group.sessions_per_replica,
            max_num_seqs=group.max_num_seqs,
            max_model_len=group.max_model_len,
            max_num_batched_tokens=group.max_num_batched_tokens,
            serving=None if group.promise is None else group.promise.to_json(),
            in_flight_target=group.in_flight_target,
            replicas_per_instance=group.replicas_per_instance,
            disruption_budget=start.disruption_budget(group.replicas_per_instance),
            startup_timeout_seconds=start.startup_probe_seconds(group.replicas_per_instance),
            min_replicas=group.min_replicas,
            max_replicas=group.max_replicas,
            schedule=tuple(
                ScheduledReplicas(
                    start=window.start,
                    end=window.end,
                    timezone=window.timezone,
                    replicas=window.desired_replicas[index],
                )
                for window in tier.schedule
            ),
        )
        for index, group in enumerate(tier.replica_groups)
    )


def tier(plan: FleetPlan, tier: TierPlan, layout: MigLayout | None = None) -> dict[str, Any]:
    """FleetTierArgs' fields of a tier, from its plan (the program adds
    ``TIER_PLACEMENT``)."""
    config = tier.config
    lb, queue, scaling = config.load_balancer, config.queue, config.scaling
    return {
        "tier": tier.name,
        "environment": plan.environment,
        "cost_center": plan.cost_center,
        "region": plan.region,
        "namespace": plan.namespace,
        "gpu": config.gpu,
        "latency_class": config.latency_class,
        "user_facing": config.user_facing,
        "capacity": tier.capacity,
        "node_provisioner": plan.cluster.node_provisioner,
        "model": config.model,
        "revision": config.revision,
        "model_profile": _profile(config.model, tier.fit.model),
        "gpu_memory_utilization": float(config.gpu_memory_utilization),
        "instance_type": tier.instance.name,
        "min_instances": tier.min_instances,
        "max_instances": tier.max_instances,
        "shapes": _shapes(tier),
        "prices": GpuPrices(on_demand=tier.on_demand_price, spot=tier.spot_price),
        "disk": NodeDisk(
            replica_cache_gib=tier.storage.replica_cache_gib,
            root_volume_gib=tier.storage.root_volume_gib,
            instance_store=tier.storage.on_instance_store,
        ),
        "replica_cpu_millis": tier.replica_cpu_millis,
        "replica_memory_mib": tier.replica_memory_mib,
        "mig": layout,
        "mig_config": config_name(tier.name) if layout is not None else None,
        "burst": None
        if tier.burst is None
        else TierBurst(
            max_instances=tier.burst.max_instances,
            accept_interruptions=tier.burst.accept_interruptions,
        ),
        "reservation": _reservation(tier),
        "scaling": TierScaling(
            queue_depth_per_replica=scaling.queue_depth_per_replica,
            scale_out_sustain_seconds=tier.scale_out_sustain_seconds,
            scale_in_idle_seconds=scaling.scale_in_idle_seconds,
        ),
        "request_timeout_seconds": config.request_timeout_seconds,
        "load_balancer": TierLoadBalancer(
            internal=lb.internal,
            certificate_arn=lb.certificate_arn,
            allowed_cidrs=tuple(lb.allowed_cidrs) if lb.allowed_cidrs else None,
            health_check_interval_seconds=lb.health_check_interval_seconds,
        ),
        "queue": TierQueue(
            max_receive_count=queue.max_receive_count,
            kms_key_id=queue.kms_key_id,
            reply_queue_arns=tuple(queue.reply_queue_arns),
            reply_queues_by_sender={
                sender: tuple(arns) for sender, arns in queue.reply_queues_by_sender.items()
            },
        ),
        "vllm_image": plan.vllm_image,
        "worker": WorkerOptions(
            image=plan.worker.image,
            cpu_millis=plan.worker.cpu_millis,
            memory_mib=plan.worker.memory_mib,
        )
        if plan.worker.enabled
        else None,
    }


def _tier_wiring(plan: FleetPlan, tier_plan: TierPlan, layout: MigLayout | None) -> TierWiring:
    return TierWiring(
        name=tier_plan.name,
        args=tier(plan, tier_plan, layout),
        backlog_alert=tier_plan.config.scaling.queue_depth_per_replica * tier_plan.max_replicas,
        node_price_per_hour=tier_plan.price_per_instance_hour
        if tier_plan.reservation is None
        else tier_plan.reservation.price_per_instance_hour,
        reserved_instances=None
        if tier_plan.reservation is None
        else tier_plan.reservation.config.instances,
        ttft_alert_seconds=ttft_alert_seconds(plan, tier_plan),
        outputs={k: v for k, v in tier_summary(tier_plan).items() if k != "tier"},
        weights_folders=tier_plan.weights_folders,
    )


def load_balancer_logs(plan: FleetPlan) -> dict[str, Any] | None:
    """LoadBalancerLogsArgs' fields: the access logs' bucket, when a tier is user-facing
    (and so has a load balancer)."""
    if not any(tier.config.user_facing for tier in plan.tiers):
        return None
    return {
        "environment": plan.environment,
        "cost_center": plan.cost_center,
        "cluster_name": plan.cluster.name,
    }


def model_store(plan: FleetPlan) -> dict[str, Any] | None:
    """ModelStoreArgs' fields: the store's bucket and the Hub models to mirror into it, or
    only the endpoints where tiers name S3 folders of their own; None when nothing is read
    from S3."""
    store = plan.model_store
    streamed = [tier.weights_folders for tier in plan.tiers]
    if store is None and not any(streamed):
        return None
    # a tier's own model at the tier's revision: a folder (and a mirror) of its own
    mirrors = sorted(
        {
            tier.config.pinned(model)
            for tier in plan.tiers
            for model, folder in tier.weights_folders.items()
            if store is not None and folder == store.folder(tier.config.pinned(model))
        }
    )
    return {
        "environment": plan.environment,
        "cost_center": plan.cost_center,
        "region": plan.region,
        "cluster_name": plan.cluster.name,
        "namespace": plan.namespace,
        "bucket": None if store is None else store.bucket,
        "create": False if store is None else store.create,
        "prefix": "models" if store is None else store.prefix,
        "kms_key_arn": None if store is None else store.kms_key_arn,
        "endpoints": True if store is None else store.endpoints,
        "mirrors": tuple(mirrors) if store is not None and store.mirror else (),
        "mirror_image": plan.vllm_image,
    }


def ttft_alert_seconds(plan: FleetPlan, tier: TierPlan) -> float:
    """M1 for a tier: the fleet's one threshold where it sets one, else a share of the
    tier's own TTFT target (a throughput tier's minute is not a user-facing half second)."""
    fleet = plan.monitoring.ttft_p95_alert_seconds
    return float(fleet) if fleet is not None else TTFT_ALERT_SHARE * float(tier.sla_ttft_seconds)


def name_prefix(plan: FleetPlan) -> str:
    """What the fleet-wide AWS resources' names start with (FleetMonitoring's topic, its
    budget): the add-ons address the topic by it before FleetMonitoring declares it."""
    return f"agentfleet-{plan.cluster.name}"


def monitoring(plan: FleetPlan) -> dict[str, Any]:
    """FleetMonitoringArgs' fields (the program adds the tiers it built)."""
    return {
        "environment": plan.environment,
        "cost_center": plan.cost_center,
        "name_prefix": name_prefix(plan),
        "namespace": plan.namespace,
        # each tier's own threshold (ttft_alert_seconds) wins; this stands for a tier without
        "ttft_p95_alert_seconds": float(
            plan.monitoring.ttft_p95_alert_seconds or TTFT_P95_ALERT_SECONDS
        ),
        "kv_cache_alert_percent": plan.monitoring.kv_cache_alert_percent,
        "budget_per_hour": plan.budget_per_hour,
        "alert_emails": tuple(plan.monitoring.alert_emails),
    }


def _profile(name: str, model: Model | None) -> str | None:
    """A model's shape for its pods (facts.models.profile_json), when the policies cannot
    look it up by name: the shape the plan sized it by."""
    if model is None or models.find(name) is not None:
        return None
    return models.profile_json(model)


def _reservation(tier: TierPlan) -> CapacityReservation | None:
    """The reserved capacity the tier's own nodes launch into, as the node pool takes it."""
    if tier.reservation is None:
        return None
    config = tier.reservation.config
    return CapacityReservation(
        kind=config.kind,
        id=config.id,
        ends_at=None if config.ends_at is None else config.ends_at.isoformat(),
        subnet_ids=None if config.subnet_ids is None else tuple(config.subnet_ids),
    )
