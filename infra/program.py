"""What the Pulumi program declares, composed from the components: the program
(``infra/__main__.py``) calls ``build_fleet`` and nothing else declares resources. The
numbers come from the plan (``infra.plan``) and reach the components through
``infra.wiring``; this module only declares, in order."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import ClusterAddons, FleetCluster, FleetMonitoring, FleetTier, MigConfiguration
from components.cluster import ClusterRef
from components.mig_config import config_name
from facts import defaults
from facts.labels import COST_CENTER, ENVIRONMENT, MANAGED_BY
from infra import wiring
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


@dataclass(frozen=True)
class _Cluster:
    """The cluster the fleet goes onto, and the options everything else is declared with."""

    ref: ClusterRef
    provider: k8s.Provider
    on_cluster: pulumi.ResourceOptions
    """Kubernetes objects outside the components: the cluster's provider, after it is up."""
    both: pulumi.ResourceOptions
    """Components: both providers, and after a new cluster's nodes, DNS and access."""
    kubernetes_version: Any
    """The cluster's version: the stack's, else a new cluster's default or what the
    existing cluster reports."""


def _cluster(plan: FleetPlan, cloud: aws.Provider) -> _Cluster:
    """A new cluster (``create: true``) or the existing one the stack names, and a
    Kubernetes provider for it."""
    endpoint: Any
    certificate: Any
    version: Any = plan.cluster.kubernetes_version
    ready: list[pulumi.Resource] = []
    if plan.cluster.create:
        version = version or defaults.KUBERNETES_VERSION
        built = FleetCluster(
            "cluster",
            wiring.new_cluster(plan),
            opts=pulumi.ResourceOptions(providers={"aws": cloud}),
        )
        ref, ready = built.ref, built.ready
        endpoint = built.cluster.endpoint
        certificate = built.cluster.certificate_authority.data
        pulumi.export(
            "cluster", {"name": plan.cluster.name, "endpoint": endpoint, "vpcId": built.vpc.id}
        )
    else:
        existing = aws.eks.get_cluster_output(
            name=plan.cluster.name, opts=pulumi.InvokeOutputOptions(provider=cloud)
        )
        ref = wiring.existing_cluster(plan.cluster)
        endpoint = existing.endpoint
        certificate = existing.certificate_authorities.apply(
            lambda authorities: _field(authorities[0], "data")
        )
        version = version or existing.version
    # Nothing goes onto a new cluster before its nodes, DNS and access entries are there.
    provider = k8s.Provider(
        "cluster",
        kubeconfig=pulumi.Output.all(endpoint, certificate).apply(
            lambda values: kubeconfig(plan.cluster.name, plan.region, values[0], values[1])
        ),
        opts=pulumi.ResourceOptions(depends_on=ready),
    )
    return _Cluster(
        ref=ref,
        provider=provider,
        on_cluster=pulumi.ResourceOptions(provider=provider, depends_on=ready),
        # Everything else waits for a new cluster too: node groups and Pod Identity
        # associations name it by its name only, which carries no dependency.
        both=pulumi.ResourceOptions(
            providers={"kubernetes": provider, "aws": cloud}, depends_on=ready
        ),
        kubernetes_version=version,
    )


def _namespace(plan: FleetPlan, opts: pulumi.ResourceOptions) -> k8s.core.v1.Namespace:
    """The fleet's namespace: every pod in it must meet Pod Security "restricted"."""
    return k8s.core.v1.Namespace(
        "namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=plan.namespace,
            labels={
                "app.kubernetes.io/part-of": "agentfleet",
                "pod-security.kubernetes.io/enforce": "restricted",
                "pod-security.kubernetes.io/enforce-version": "latest",
                "pod-security.kubernetes.io/warn": "restricted",
                "pod-security.kubernetes.io/audit": "restricted",
            },
        ),
        opts=opts,
    )


def build_fleet(config: StackConfig) -> FleetPlan:
    """Plan a validated stack (``ConfigError`` before anything is declared), declare the
    whole fleet from the plan, and return the plan."""
    plan = plan_fleet(config)
    declare_fleet(plan)
    return plan


def declare_fleet(plan: FleetPlan) -> None:
    """Declare the whole fleet of a plan, and export it."""
    # Provider default tags: every AWS resource carries the environment and cost center
    # even where a component's own tags would miss it (M4).
    cloud = aws.Provider(
        "aws",
        region=plan.region,
        default_tags=aws.ProviderDefaultTagsArgs(
            tags={ENVIRONMENT: plan.environment, COST_CENTER: plan.cost_center, **MANAGED_BY}
        ),
    )
    cluster = _cluster(plan, cloud)
    namespace = _namespace(plan, cluster.on_cluster)
    layouts = wiring.mig_layouts(plan)
    mig = wiring.mig_configuration(layouts)
    addons = ClusterAddons(
        "addons",
        wiring.addons(plan, cluster.ref.vpc_id, mig, cluster.kubernetes_version),
        opts=cluster.both,
    )
    if mig is not None and addons.mig_configuration is None:  # the cluster runs the operator
        MigConfiguration("mig", mig, opts=cluster.both)
    ref = cluster.ref.model_copy(
        update={
            "keda_operator_role_arn": plan.cluster.keda_operator_role_arn
            or addons.keda_operator_role_arn
        }
    )
    hf_token: Any = pulumi.Config(NAMESPACE).get_secret("hfToken") if plan.has_hf_token else None
    tiers = {
        tier.name: FleetTier(
            tier.name,
            wiring.tier(
                plan,
                tier,
                cluster=ref,
                layout=layouts.get(tier.name),
                mig_config=config_name(tier.name) if tier.name in layouts else None,
                hf_token=hf_token,
                prometheus_address=plan.monitoring.prometheus_address or addons.prometheus_address,
                depends_on=(namespace,),
                readiness=addons.readiness,
            ),
            opts=cluster.both,
        )
        for tier in plan.tiers
    }
    FleetMonitoring(
        "fleet",
        wiring.monitoring(
            plan, tuple(wiring.monitored(tier, tiers[tier.name]) for tier in plan.tiers)
        ),
        opts=pulumi.ResourceOptions.merge(
            cluster.both,
            pulumi.ResourceOptions(depends_on=[namespace, *addons.readiness.prometheus]),
        ),
    )
    export(plan, tiers)


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
