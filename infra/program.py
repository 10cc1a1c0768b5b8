"""What the Pulumi program declares, composed from the components: the program
(``infra/__main__.py``) calls ``build_fleet`` and nothing else declares resources."""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import (
    ClusterAddons,
    ClusterAddonsArgs,
    FleetCluster,
    FleetClusterArgs,
    FleetMonitoring,
    FleetMonitoringArgs,
    FleetTier,
    FleetTierArgs,
    MigConfiguration,
    MigConfigurationArgs,
    MigLayout,
    MonitoredTier,
)
from components.cluster import ClusterRef
from components.common import COST_CENTER, ENVIRONMENT, MANAGED_BY
from infra.config import NAMESPACE, StackConfig
from infra.plan import FleetPlan, plan_fleet
from infra.report import money, tier_summary


def kubeconfig(cluster: str, region: str, endpoint: str, certificate: str) -> str:
    """A kubeconfig for an EKS cluster that gets its token from the AWS CLI."""
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["eks", "get-token", "--cluster-name", cluster, "--region", region],
        }
    }
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": cluster,
                    "cluster": {"server": endpoint, "certificate-authority-data": certificate},
                }
            ],
            "users": [{"name": cluster, "user": user}],
            "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": cluster}}],
            "current-context": cluster,
        }
    )


def _field(value: Any, name: str) -> Any:
    """A field of an invoke result's nested object, typed or (as some SDK paths hand it
    over) a plain mapping."""
    return value[name] if isinstance(value, dict) else getattr(value, name)


def build_fleet(config: StackConfig) -> FleetPlan:
    """Declare the whole fleet of a validated stack; return its plan."""
    plan = plan_fleet(config)
    # Provider default tags: every AWS resource carries the environment and cost center
    # even where a component's own tags would miss it (M4).
    cloud = aws.Provider(
        "aws",
        region=plan.region,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={ENVIRONMENT: plan.environment, COST_CENTER: plan.cost_center, **MANAGED_BY}
        ),
    )
    on_aws = pulumi.ResourceOptions(providers={"aws": cloud})
    endpoint: Any
    certificate: Any
    ready: list[pulumi.Resource] = []
    if plan.cluster.create:
        new_cluster = FleetCluster(
            "cluster",
            FleetClusterArgs.from_config(
                plan.cluster, environment=plan.environment, cost_center=plan.cost_center
            ),
            opts=on_aws,
        )
        cluster = new_cluster.ref
        endpoint = new_cluster.cluster.endpoint
        certificate = new_cluster.cluster.certificate_authority.data
        ready = new_cluster.ready
        pulumi.export(
            "cluster",
            {"name": plan.cluster.name, "endpoint": endpoint, "vpcId": new_cluster.vpc.id},
        )
    else:
        existing = aws.eks.get_cluster_output(
            name=plan.cluster.name, opts=pulumi.InvokeOutputOptions(provider=cloud)
        )
        cluster = ClusterRef.existing(plan.cluster)
        endpoint = existing.endpoint
        certificate = existing.certificate_authorities.apply(
            lambda authorities: _field(authorities[0], "data")
        )
    # Nothing goes onto a new cluster before its nodes, DNS and access entries are there.
    provider = k8s.Provider(
        "cluster",
        kubeconfig=pulumi.Output.all(endpoint, certificate).apply(
            lambda values: kubeconfig(plan.cluster.name, plan.region, values[0], values[1])
        ),
        opts=pulumi.ResourceOptions(depends_on=ready),
    )
    on_cluster = pulumi.ResourceOptions(provider=provider, depends_on=ready)
    # Everything else waits for a new cluster too: node groups and Pod Identity
    # associations name it by its name only, which carries no dependency.
    both = pulumi.ResourceOptions(
        providers={"kubernetes": provider, "aws": cloud}, depends_on=ready
    )
    namespace = k8s.core.v1.Namespace(
        "namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=plan.namespace,
            labels={
                "app.kubernetes.io/part-of": "agentfleet",
                # Every pod of the fleet must meet Pod Security "restricted".
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        ),
        opts=on_cluster,
    )
    mig_tiers = [tier for tier in plan.tiers if tier.mig]
    mig_args = (
        MigConfigurationArgs(
            layouts={
                tier.name: MigLayout(gpu=tier.gpu, layout=dict(tier.mig or {}))
                for tier in mig_tiers
            }
        )
        if mig_tiers
        else None
    )
    addons = ClusterAddons(
        "addons",
        ClusterAddonsArgs(
            cluster_name=plan.cluster.name,
            region=plan.region,
            vpc_id=cluster.vpc_id,
            environment=plan.environment,
            gpu_operator=plan.addons.gpu_operator,
            keda=plan.addons.keda,
            load_balancer_controller=plan.addons.load_balancer_controller,
            cluster_autoscaler=plan.addons.cluster_autoscaler,
            prometheus=plan.addons.prometheus,
            mig=mig_args,
            cost_center=plan.cost_center,
        ),
        opts=both,
    )
    mig_config = addons.mig_configuration
    if mig_args is not None and mig_config is None:  # the cluster runs the GPU operator
        mig_config = MigConfiguration("mig", mig_args, opts=both)
    mig_names = mig_config.config_names if mig_config is not None else {}
    cluster = cluster.model_copy(
        update={
            "keda_operator_role_arn": plan.cluster.keda_operator_role_arn
            or addons.keda_operator_role_arn
        }
    )
    prometheus_address = plan.monitoring.prometheus_address or addons.prometheus_address
    hf_token: Any = pulumi.Config(NAMESPACE).get_secret("hfToken") if plan.has_hf_token else None
    tiers = {
        tier.name: FleetTier(
            tier.name,
            FleetTierArgs(
                plan=tier,
                cluster=cluster,
                environment=plan.environment,
                region=plan.region,
                namespace=plan.namespace,
                cost_center=plan.cost_center,
                mig_config=mig_names.get(tier.name),
                hf_token=hf_token,
                prometheus_address=prometheus_address,
                depends_on=(namespace,),
                addons=addons.readiness,
                worker=plan.worker if plan.worker.enabled else None,
            ),
            opts=both,
        )
        for tier in plan.tiers
    }
    FleetMonitoring(
        "fleet",
        FleetMonitoringArgs(
            environment=plan.environment,
            name_prefix=f"agentfleet-{plan.cluster.name}",
            namespace=plan.namespace,
            tiers=tuple(
                MonitoredTier(
                    tier=tier.name,
                    deployments=tuple(s.args_name for s in tiers[tier.name].services),
                    queue_name=tiers[tier.name].queue.queue_name,
                    dlq_name=tiers[tier.name].queue.dead_letter_queue.name,
                    autoscaling_group=tiers[tier.name].node_pool.autoscaling_group_name,
                    backlog_alert=tier.queue_depth_per_instance * tier.max_replicas,
                )
                for tier in plan.tiers
            ),
            ttft_p95_alert_seconds=plan.monitoring.ttft_p95_alert_seconds,
            kv_cache_alert_percent=plan.monitoring.kv_cache_alert_percent,
            budget_per_hour=plan.budget_per_hour,
            alert_emails=tuple(plan.monitoring.alert_emails),
            cost_center=plan.cost_center,
        ),
        opts=pulumi.ResourceOptions.merge(
            both, pulumi.ResourceOptions(depends_on=[namespace, *addons.readiness.prometheus])
        ),
    )
    export(plan, tiers)
    return plan


def export(plan: FleetPlan, tiers: dict[str, FleetTier]) -> None:
    """Stack outputs: per tier its endpoint, queue and dead-letter queue, instance range,
    GPUs and cost per hour; the fleet's cost per hour."""
    pulumi.export(
        "tiers",
        {
            tier.name: {
                "endpoint": tiers[tier.name].endpoint,
                "queueUrl": tiers[tier.name].queue.url,
                "deadLetterQueueUrl": tiers[tier.name].queue.dlq_url,
                **{k: v for k, v in tier_summary(tier).items() if k != "tier"},
            }
            for tier in plan.tiers
        },
    )
    pulumi.export("costPerHour", money(plan.cost_per_hour))
    pulumi.export("maxCostPerHour", money(plan.max_cost_per_hour))
