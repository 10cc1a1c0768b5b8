"""What the Pulumi program declares, composed from the components: the program
(``infra/__main__.py``) calls ``build_fleet`` and nothing else declares resources.

Reading, planning, wiring, declaring, in that order: the stack's config is planned
(``infra.plan``), the plan is mapped onto every component's args (``infra.wiring``), and
only then is anything declared; what one component outputs reaches the next here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import (
    ClusterAddons,
    ClusterAddonsArgs,
    FleetMonitoring,
    FleetMonitoringArgs,
    FleetTier,
    FleetTierArgs,
    LoadBalancerLogs,
    LoadBalancerLogsArgs,
    MigConfiguration,
    ModelStore,
    ModelStoreArgs,
    ModelWeights,
)
from components.cluster import connect
from components.isolation import default_deny_policy
from infra import wiring
from infra.config import NAMESPACE, StackConfig
from infra.plan import FleetPlan, plan_fleet


def build_fleet(config: StackConfig) -> FleetPlan:
    """Plan a validated stack (``ConfigError`` before anything is declared), declare the
    whole fleet from the plan, and return the plan."""
    plan = plan_fleet(config)
    declare_fleet(plan)
    return plan


def declare_fleet(plan: FleetPlan) -> None:
    """Declare the whole fleet of a plan, and export it: the wiring first, then each
    component in turn, given what those before it output."""
    wired = wiring.fleet(plan)
    cloud = aws.Provider(
        "aws",
        region=wired.region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=wired.default_tags),
    )
    connection = connect(wired.cluster, wired.region, cloud, wired.kubernetes_version)
    if connection.cluster is not None:
        pulumi.export(
            "cluster",
            {
                "name": wired.cluster_name,
                "endpoint": connection.cluster.cluster.endpoint,
                "vpcId": connection.cluster.vpc.id,
            },
        )
    ref, ready, version = connection.ref, connection.ready, connection.kubernetes_version
    # Everything waits for a new cluster: node groups and Pod Identity associations name
    # it by its name only, which carries no dependency.
    both = pulumi.ResourceOptions(
        providers={"kubernetes": connection.provider, "aws": cloud}, depends_on=ready
    )
    namespace = k8s.core.v1.Namespace(
        "namespace",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=wired.namespace, labels=dict(wired.namespace_labels)
        ),
        opts=pulumi.ResourceOptions(provider=connection.provider, depends_on=ready),
    )
    default_deny_policy(
        "namespace-default-deny",
        wired.namespace,
        pulumi.ResourceOptions(provider=connection.provider, depends_on=[namespace, *ready]),
    )
    addons = ClusterAddons(
        "addons",
        ClusterAddonsArgs(**wired.addons, vpc_id=ref.vpc_id, kubernetes_version=version),
        opts=both,
    )
    if wired.mig is not None and addons.mig_configuration is None:  # the cluster runs it
        MigConfiguration("mig", wired.mig, opts=both)
    karpenter_nodes = addons.karpenter_node_role
    ref = ref.model_copy(
        update={
            "keda_operator_role_arn": wired.keda_operator_role_arn or addons.keda_operator_role_arn,
            "karpenter_node_role": None if karpenter_nodes is None else karpenter_nodes.name,
            "ami_release": wired.ami_release or "latest",
        }
    )
    hf_token: Any = pulumi.Config(NAMESPACE).get_secret("hfToken") if wired.has_hf_token else None
    store = None
    if wired.model_store is not None:
        placed = {"vpc_id": ref.vpc_id, "subnet_ids": tuple(ref.subnet_ids), "hf_token": hf_token}
        store = ModelStore(
            "models",
            ModelStoreArgs(**wired.model_store, **placed, depends_on=(namespace,)),
            opts=both,
        )
    logs = _access_logs(wired, both)
    tiers = {
        tier.name: FleetTier(
            tier.name,
            FleetTierArgs(
                **tier.args,
                cluster=ref,
                hf_token=hf_token,
                prometheus_address=wired.prometheus_address or addons.prometheus_address,
                depends_on=(namespace,),
                addons=addons.readiness,
                weights=_weights(store, tier.weights_folders),
                access_logs_bucket=logs,
            ),
            opts=both,
        )
        for tier in wired.tiers
    }
    FleetMonitoring(
        "fleet",
        FleetMonitoringArgs(
            **wired.monitoring,
            tiers=tuple(
                tiers[tier.name]
                .watched(tier.name, tier.backlog_alert, tier.node_price_per_hour)
                .model_copy(
                    update={
                        "reserved_instances": tier.reserved_instances,
                        "ttft_alert_seconds": tier.ttft_alert_seconds,
                    }
                )
                for tier in wired.tiers
            ),
        ),
        opts=pulumi.ResourceOptions.merge(
            both, pulumi.ResourceOptions(depends_on=[namespace, *addons.readiness.prometheus])
        ),
    )
    _export(wired, tiers)


def _access_logs(wired: wiring.FleetWiring, opts: pulumi.ResourceOptions) -> Any:
    """The bucket the user-facing tiers' load balancers log to; None without one."""
    if wired.load_balancer_logs is None:
        return None
    logs = LoadBalancerLogs(
        "load-balancer-logs", LoadBalancerLogsArgs(**wired.load_balancer_logs), opts=opts
    )
    return logs.bucket_name


def _weights(store: ModelStore | None, folders: Mapping[str, str]) -> ModelWeights | None:
    """What a tier needs to stream its models from S3 (the folders the wiring found), from
    the store: its key, the addresses its pods may reach, the mirrors to wait for."""
    if store is None or not folders:
        return None
    return ModelWeights(
        folders=dict(folders),
        kms_key_arn=store.kms_key_arn,
        https_cidrs=store.https_cidrs,
        after=tuple(
            store.mirrored[folder] for folder in folders.values() if folder in store.mirrored
        ),
    )


def _export(wired: wiring.FleetWiring, tiers: Mapping[str, FleetTier]) -> None:
    """The stack's outputs: per tier its endpoint, its API key's Secret, queue and
    dead-letter queue, instance
    range, GPUs and cost per hour; the fleet's cost per hour."""
    pulumi.export(
        "tiers",
        {
            tier.name: {
                "endpoint": tiers[tier.name].endpoint,
                # where the key its API requires is (kubectl get secret ...), not the key
                "apiKeySecret": tiers[tier.name].api_key.metadata.name,
                "queueUrl": tiers[tier.name].queue.url,
                "deadLetterQueueUrl": tiers[tier.name].queue.dlq_url,
                **tier.outputs,
            }
            for tier in wired.tiers
        },
    )
    pulumi.export("costPerHour", wired.cost_per_hour)
    pulumi.export("maxCostPerHour", wired.max_cost_per_hour)
