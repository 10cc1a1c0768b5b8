"""The wiring: agentfleet's plan mapped onto the components' own args, in one place.

The components know nothing of stack files or plans; the planner (``infra.plan``) knows
nothing of components. Each function here takes the plan (and the outputs of components
declared before) and returns one component's args, so ``infra.program`` only declares.
"""

from __future__ import annotations

from typing import Any

from components import (
    Addon,
    ClusterAddonsArgs,
    ClusterRef,
    FleetClusterArgs,
    FleetMonitoringArgs,
    FleetTier,
    FleetTierArgs,
    GpuPrices,
    MigConfigurationArgs,
    MigLayout,
    MonitoredTier,
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
from components.addons import AddonReadiness
from components.monitoring import PartQueue
from facts import models
from facts.models import Model
from infra.config import AddonConfig, ClusterConfig
from infra.plan import FleetPlan, TierPlan


def existing_cluster(config: ClusterConfig) -> ClusterRef:
    """The cluster a stack names, as the tiers build into it."""
    return ClusterRef(
        name=config.name,
        vpc_id=config.vpc_id,
        subnet_ids=tuple(config.subnet_ids or ()),
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


def mig_configuration(layouts: dict[str, MigLayout]) -> MigConfigurationArgs | None:
    """The mig-parted config of every MIG tier, or None when no tier uses MIG."""
    return MigConfigurationArgs(layouts=layouts) if layouts else None


def _addon(config: AddonConfig) -> Addon:
    return Addon(enabled=config.enabled, version=config.version)


def addons(
    plan: FleetPlan, vpc_id: Any, mig: MigConfigurationArgs | None, kubernetes_version: Any
) -> ClusterAddonsArgs:
    return ClusterAddonsArgs(
        cluster_name=plan.cluster.name,
        region=plan.region,
        vpc_id=vpc_id,
        environment=plan.environment,
        cost_center=plan.cost_center,
        gpu_operator=_addon(plan.addons.gpu_operator),
        keda=_addon(plan.addons.keda),
        load_balancer_controller=_addon(plan.addons.load_balancer_controller),
        cluster_autoscaler=_addon(plan.addons.cluster_autoscaler),
        prometheus=_addon(plan.addons.prometheus),
        kubernetes_version=kubernetes_version,
        burst_tiers=tuple(tier.name for tier in plan.tiers if tier.burst is not None),
        mig=mig,
    )


def _shapes(tier: TierPlan) -> tuple[ReplicaShape, ...]:
    return tuple(
        ReplicaShape(
            profile=group.profile,
            model=None if group.model == tier.config.model else group.model,
            model_profile=None
            if group.model == tier.config.model
            else _profile(group.model, tier.fit.shapes[index].model),
            gpu_resource=group.resource,
            gpu_count=group.resource_count,
            sessions_per_replica=group.sessions_per_replica,
            max_num_seqs=group.max_num_seqs,
            max_model_len=group.max_model_len,
            in_flight_target=group.in_flight_target,
            replicas_per_instance=group.replicas_per_instance,
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


def tier(
    plan: FleetPlan,
    tier: TierPlan,
    *,
    cluster: ClusterRef,
    layout: MigLayout | None,
    mig_config: str | None,
    hf_token: Any,
    prometheus_address: str | None,
    depends_on: tuple[Any, ...],
    readiness: AddonReadiness,
) -> FleetTierArgs:
    config = tier.config
    lb, queue = config.load_balancer, config.queue
    return FleetTierArgs(
        tier=tier.name,
        cluster=cluster,
        environment=plan.environment,
        cost_center=plan.cost_center,
        region=plan.region,
        namespace=plan.namespace,
        gpu=config.gpu,
        latency_class=config.latency_class,
        user_facing=config.user_facing,
        capacity=tier.capacity,
        model=config.model,
        model_profile=_profile(config.model, tier.fit.model),
        gpu_memory_utilization=float(config.gpu_memory_utilization),
        instance_type=tier.instance.name,
        min_instances=tier.min_instances,
        max_instances=tier.max_instances,
        shapes=_shapes(tier),
        prices=GpuPrices(on_demand=tier.on_demand_price, spot=tier.spot_price),
        disk=NodeDisk(
            replica_cache_gib=tier.storage.replica_cache_gib,
            root_volume_gib=tier.storage.root_volume_gib,
            instance_store=tier.storage.on_instance_store,
        ),
        replica_cpu_millis=tier.replica_cpu_millis,
        replica_memory_mib=tier.replica_memory_mib,
        mig=layout,
        mig_config=mig_config,
        burst=None
        if tier.burst is None
        else TierBurst(
            max_instances=tier.burst.max_instances,
            accept_interruptions=tier.burst.accept_interruptions,
        ),
        scaling=TierScaling(
            queue_depth_per_replica=config.scaling.queue_depth_per_replica,
            scale_out_sustain_seconds=tier.scale_out_sustain_seconds,
            scale_in_idle_seconds=config.scaling.scale_in_idle_seconds,
        ),
        request_timeout_seconds=config.request_timeout_seconds,
        load_balancer=TierLoadBalancer(
            internal=lb.internal,
            certificate_arn=lb.certificate_arn,
            allowed_cidrs=tuple(lb.allowed_cidrs) if lb.allowed_cidrs else None,
            health_check_interval_seconds=lb.health_check_interval_seconds,
        ),
        queue=TierQueue(
            max_receive_count=queue.max_receive_count,
            kms_key_id=queue.kms_key_id,
            reply_queue_arns=tuple(queue.reply_queue_arns),
        ),
        hf_token=hf_token,
        prometheus_address=prometheus_address,
        depends_on=depends_on,
        addons=readiness,
        vllm_image=plan.vllm_image,
        worker=WorkerOptions(
            image=plan.worker.image,
            cpu_millis=plan.worker.cpu_millis,
            memory_mib=plan.worker.memory_mib,
        )
        if plan.worker.enabled
        else None,
    )


def monitored(tier: TierPlan, built: FleetTier) -> MonitoredTier:
    """What FleetMonitoring watches of a tier the program built (a ``FleetTier``)."""
    return MonitoredTier(
        tier=tier.name,
        deployments=tuple(service.args_name for service in built.services),
        queue_name=built.queue.queue_name,
        dlq_name=built.queue.dead_letter_queue.name,
        autoscaling_group=built.node_pool.autoscaling_group_name,
        part_queues=tuple(
            PartQueue(part=part, queue_name=queue.queue_name, dlq_name=queue.dead_letter_queue.name)
            for part, queue in built.queues.items()
            if part is not None
        ),
        backlog_alert=tier.config.scaling.queue_depth_per_replica * tier.max_replicas,
        node_price_per_hour=tier.instance.gpus * tier.price_per_gpu_hour,
    )


def monitoring(plan: FleetPlan, tiers: tuple[MonitoredTier, ...]) -> FleetMonitoringArgs:
    return FleetMonitoringArgs(
        environment=plan.environment,
        cost_center=plan.cost_center,
        name_prefix=f"agentfleet-{plan.cluster.name}",
        namespace=plan.namespace,
        tiers=tiers,
        ttft_p95_alert_seconds=plan.monitoring.ttft_p95_alert_seconds,
        kv_cache_alert_percent=plan.monitoring.kv_cache_alert_percent,
        budget_per_hour=plan.budget_per_hour,
        alert_emails=tuple(plan.monitoring.alert_emails),
    )


def _profile(name: str, model: Model | None) -> str | None:
    """A model's shape for its pods (facts.models.profile_json), when the policies cannot
    look it up by name: the shape the plan sized it by."""
    if model is None or models.find(name) is not None:
        return None
    return models.profile_json(model)
