"""ClusterAddons: what a bare EKS cluster needs before the fleet can run on it, as Helm
releases with pinned charts, each controller that calls AWS with its own least-privilege
IAM role through EKS Pod Identity."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from components import iam, karpenter
from components.addon_policies import (
    alert_publisher_policy,
    cluster_autoscaler_policy,
    keda_policy,
    load_balancer_controller_policy,
)
from components.alerting import alertmanager_config
from components.common import Args, TaggedArgs, TierName, child_options, cost_tags
from components.karpenter_policy import karpenter_controller_policy
from components.mig_config import MigConfiguration, MigConfigurationArgs
from facts import defaults
from facts import karpenter as karpenter_facts
from facts.labels import AUTOSCALER, MANAGED_BY, TIER

TYPE = "agentfleet:index:ClusterAddons"
HELM_TIMEOUT_SECONDS = 900


@dataclass(frozen=True)
class Chart:
    """A Helm chart agentfleet installs, pinned."""

    chart: str
    repository: str
    version: str
    namespace: str
    service_account: str | None = None  # the controller's, when it calls AWS


CHARTS = {
    "gpu_operator": Chart(
        "gpu-operator", "https://helm.ngc.nvidia.com/nvidia", "v25.10.1", "gpu-operator"
    ),
    "keda": Chart("keda", "https://kedacore.github.io/charts", "2.18.3", "keda", "keda-operator"),
    "load_balancer_controller": Chart(
        "aws-load-balancer-controller",
        "https://aws.github.io/eks-charts",
        "1.14.0",
        "kube-system",
        "aws-load-balancer-controller",
    ),
    "cluster_autoscaler": Chart(
        "cluster-autoscaler",
        "https://kubernetes.github.io/autoscaler",
        "9.58.0",
        "kube-system",
        "cluster-autoscaler",
    ),
    "karpenter": Chart(
        "karpenter",
        karpenter_facts.REGISTRY,
        karpenter_facts.VERSION,
        karpenter_facts.NAMESPACE,
        karpenter_facts.SERVICE_ACCOUNT,
    ),
    # Its CRDs, as a chart of their own: Helm installs a chart's crds/ once and never
    # upgrades them, so a newer Karpenter would run against its first CRDs.
    "karpenter_crd": Chart(
        "karpenter-crd",
        karpenter_facts.REGISTRY,
        karpenter_facts.VERSION,
        karpenter_facts.NAMESPACE,
    ),
    "prometheus": Chart(
        "kube-prometheus-stack",
        "https://prometheus-community.github.io/helm-charts",
        "81.2.2",
        defaults.PROMETHEUS_NAMESPACE,
    ),
}
PROMETHEUS_NAME = "agentfleet"  # fullnameOverride: the Prometheus Service is <it>-prometheus
PROMETHEUS_ADDRESS = (
    f"http://{PROMETHEUS_NAME}-prometheus.{CHARTS['prometheus'].namespace}.svc:9090"
)
ALERTMANAGER_SERVICE_ACCOUNT = f"{PROMETHEUS_NAME}-alertmanager"
"""Alertmanager's service account (the chart's default name under fullnameOverride, set
explicitly): its Pod Identity role signs the alerts it publishes to the fleet's topic."""
POD_IDENTITY_ROLE = "agentfleet.io/pod-identity-role"
# The autoscaler waits this long before it removes an idle node, and after adding one
# before it considers removing any: a GPU node takes 2-5 min to come up, so removing it
# sooner than this would only make the next burst wait for a new one.
SCALE_DOWN_UNNEEDED = "15m"
SCALE_DOWN_DELAY_AFTER_ADD = "15m"


class Addon(Args):
    """One add-on: whether agentfleet installs it, and which chart version."""

    enabled: bool = Field(True, description="Install it; off when the cluster already runs it.")
    version: str | None = Field(
        None, description="Chart version; default: the one agentfleet pins (CHARTS)."
    )


class AddonReadiness(BaseModel):
    """The releases each kind of fleet object waits for; empty when the add-on is not
    installed here (the cluster provides it)."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    gpu_operator: tuple[Any, ...] = Field((), description="What GPU pods wait for.")
    keda: tuple[Any, ...] = Field((), description="What ScaledObjects wait for.")
    load_balancer_controller: tuple[Any, ...] = Field(
        (), description="What TargetGroupBindings wait for."
    )
    prometheus: tuple[Any, ...] = Field((), description="What monitors and rules wait for.")
    karpenter: tuple[Any, ...] = Field(
        (), description="What NodePools and EC2NodeClasses wait for."
    )


class ClusterAddonsArgs(TaggedArgs):
    """Inputs of ClusterAddons."""

    cluster_name: str = Field(description="The EKS cluster (Pod Identity, auto-discovery).")
    region: str = Field(description="AWS region of the cluster.")
    vpc_id: Any = Field(description="The cluster's VPC (the load balancer controller).")
    gpu_operator: Addon = Field(default_factory=Addon, description="NVIDIA GPU operator.")
    keda: Addon = Field(default_factory=Addon, description="KEDA.")
    load_balancer_controller: Addon = Field(
        default_factory=Addon, description="AWS Load Balancer Controller."
    )
    cluster_autoscaler: Addon = Field(default_factory=Addon, description="Cluster autoscaler.")
    karpenter: Addon = Field(
        default_factory=lambda: Addon(enabled=False),
        description="Karpenter, the node provisioner of the tiers' NodePools: its chart, its "
        "controller's role, the role its nodes run as and the interruption queue. Off by "
        "default (the cluster autoscaler provisions node groups).",
    )
    karpenter_cni_on_node: bool = Field(
        False,
        description="Give Karpenter's nodes the VPC CNI's rights (an existing cluster whose "
        "CNI takes them from the node); a new cluster gives the CNI a role of its own.",
    )
    kubernetes_version: Any = Field(
        None,
        description="The cluster's Kubernetes version, e.g. 1.34 (a string or an Output such "
        "as aws.eks.get_cluster_output(...).version): the cluster autoscaler runs the release "
        "of the same minor (facts.defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS), and a minor it "
        "has none for stops the deployment. None: the chart's default image.",
    )
    prometheus: Addon = Field(default_factory=Addon, description="kube-prometheus-stack.")
    alert_topic_name: str | None = Field(
        None,
        description="The SNS topic (in this account and region) Alertmanager sends every "
        "alert to, signing with its own Pod Identity role: FleetMonitoring's "
        "<name_prefix>-alerts. None: the chart's routing, which sends every alert to its "
        "'null' receiver.",
    )
    burst_tiers: tuple[TierName, ...] = Field(
        (),
        description="Tiers that burst onto spot above an on-demand floor (FleetTier's "
        "burst): the cluster autoscaler's priority expander tries their burst node groups "
        "first and falls back to the rest when spot is short.",
    )
    mig: MigConfigurationArgs | None = Field(
        None,
        description="The fleet's MIG layouts: with the GPU operator on, their config map is "
        "made in its namespace before it starts, and its MIG manager is pointed at it.",
    )

    def version(self, addon: str) -> str:
        return getattr(self, addon).version or CHARTS[addon].version


def burst_group_pattern(tier: str) -> str:
    """The Auto Scaling groups of a tier's burst node group, as the priority expander
    matches them: EKS names a managed node group's group ``eks-<node group>-<id>``, and
    pulumi-aws autonames the node group (``tfbridge.AutoName("nodeGroupName")``) after its
    resource, ``<tier>-burst-nodes``, plus ``-`` and 7 hex digits. No tier may be named
    ``<tier>-burst`` (the stack config refuses it), so no other group matches."""
    return f"^eks-{tier}-burst-nodes-[0-9a-f]+-.*"


def expander_priorities(burst_tiers: tuple[str, ...]) -> str:
    """The priority expander's config: burst node groups first, everything else after."""
    lines = [f"{defaults.BURST_PRIORITY}:"]
    lines += [f"  - {burst_group_pattern(tier)}" for tier in burst_tiers]
    lines += [f"{defaults.FLOOR_PRIORITY}:", "  - .*"]
    return "\n".join(lines) + "\n"


def cluster_autoscaler_image_tag(version: str) -> str:
    """The cluster autoscaler release for a cluster of ``version`` (``1.34`` or
    ``1.34.2``): the one of its minor. Any other pairing is unsupported upstream."""
    minor = ".".join(str(version).split(".")[:2])
    tag = defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS.get(minor)
    if tag is None:
        supported = ", ".join(defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS)
        raise pulumi.RunError(
            f"the cluster runs Kubernetes {version}; agentfleet's cluster autoscaler add-on "
            f"supports {supported} (its minor must match the cluster's). Upgrade the cluster, "
            "or turn the add-on off (agentfleet:addons.clusterAutoscaler.enabled: false) and "
            "run one of the cluster's minor."
        )
    return tag


class ClusterAddons(pulumi.ComponentResource):
    """The cluster add-ons the fleet needs, each a Helm release with its chart pinned:
    the NVIDIA GPU operator (driver and toolkit off, as the EKS NVIDIA AMI has both; MIG
    manager on with the mixed strategy and the fleet's MIG config map; DCGM exporter),
    KEDA, the AWS Load Balancer Controller, the cluster autoscaler (auto-discovery of the
    cluster's node groups, scale-down that waits out a GPU node's cold start; node group
    minimums keep the tiers' floors) and kube-prometheus-stack (Prometheus Operator and a
    Prometheus that loads every PrometheusRule). KEDA, the load balancer controller and
    the autoscaler each get an IAM role through EKS Pod Identity with a least-privilege
    policy."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        releases: dict[str, k8s.helm.v3.Release]
        roles: dict[str, aws.iam.Role]
        mig_configuration: MigConfiguration | None
        keda_operator_role_arn: pulumi.Output[str] | None
        """The IAM role KEDA's operator runs as, when this installs KEDA."""
        karpenter_node_role: aws.iam.Role | None
        """The role Karpenter's nodes run as, when this installs Karpenter."""
        prometheus_address: str | None
        """The Prometheus the fleet's triggers query, when this installs it."""
        readiness: AddonReadiness

    def __init__(
        self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self._name, self._args = name, args
        self._child = child_options(self, opts)
        self.releases, self.roles = {}, {}
        self.mig_configuration = None
        self.keda_operator_role_arn = None
        self.karpenter_node_role = None
        self.prometheus_address = None
        account = aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id

        if args.gpu_operator.enabled:
            self._gpu_operator()
        if args.keda.enabled:
            identity = self._controller_role(
                "keda",
                account.apply(lambda acct: json.dumps(keda_policy(acct, args.cluster_name))),
            )
            self.keda_operator_role_arn = identity.role_arn
            self._release(
                "keda",
                {
                    "serviceAccount": {
                        "operator": {"create": True, "name": CHARTS["keda"].service_account}
                    },
                    # Credentials come from EKS Pod Identity, not IRSA annotations.
                    "podIdentity": {"aws": {"irsa": {"enabled": False}}},
                },
                create_namespace=True,
                after=[identity],
            )
        if args.load_balancer_controller.enabled:
            self._load_balancer_controller(account)
        if args.cluster_autoscaler.enabled:
            self._cluster_autoscaler(account)
        if args.karpenter.enabled:
            self._karpenter(account)
        if args.prometheus.enabled:
            self._prometheus(account)

        def released(addon: str) -> tuple[Any, ...]:
            return (self.releases[addon],) if addon in self.releases else ()

        self.readiness = AddonReadiness(
            gpu_operator=released("gpu_operator"),
            keda=released("keda"),
            load_balancer_controller=released("load_balancer_controller"),
            prometheus=released("prometheus"),
            karpenter=released("karpenter"),
        )
        self.register_outputs(
            {
                "releases": self.releases,
                "keda_operator_role_arn": self.keda_operator_role_arn,
                "prometheus_address": self.prometheus_address,
            }
        )

    def _load_balancer_controller(self, account: pulumi.Output[str]) -> None:
        """The AWS Load Balancer Controller, for the fleet's TargetGroupBindings only."""
        args = self._args
        identity = self._controller_role(
            "load_balancer_controller",
            pulumi.Output.all(account, args.vpc_id).apply(
                lambda values: json.dumps(
                    load_balancer_controller_policy(args.region, values[0], values[1])
                )
            ),
        )
        self._release(
            "load_balancer_controller",
            {
                "clusterName": args.cluster_name,
                "region": args.region,
                "vpcId": args.vpc_id,
                "replicaCount": 2,
                "serviceAccount": {
                    "create": True,
                    "name": CHARTS["load_balancer_controller"].service_account,
                },
                # It only serves the fleet's TargetGroupBindings: no Service webhook
                # taking over other LoadBalancer Services, no IngressClass.
                "enableServiceMutatorWebhook": False,
                "createIngressClassResource": False,
            },
            after=[identity],
        )

    def _cluster_autoscaler(self, account: pulumi.Output[str]) -> None:
        """The cluster autoscaler: the cluster's node groups by auto-discovery, and patience
        with GPU nodes, which take minutes to come up."""
        args = self._args
        identity = self._controller_role(
            "cluster_autoscaler",
            account.apply(
                lambda acct: json.dumps(
                    cluster_autoscaler_policy(args.region, acct, args.cluster_name)
                )
            ),
        )
        after: list[pulumi.Resource] = [identity]
        if args.burst_tiers:
            after.append(
                k8s.core.v1.ConfigMap(
                    f"{self._name}-priority-expander",
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=defaults.PRIORITY_EXPANDER_CONFIG_MAP,
                        namespace=CHARTS["cluster_autoscaler"].namespace,
                    ),
                    data={"priorities": expander_priorities(args.burst_tiers)},
                    opts=self._child,
                )
            )
        image: dict[str, Any] = {}
        if args.kubernetes_version is not None:
            image["tag"] = pulumi.Output.from_input(args.kubernetes_version).apply(
                cluster_autoscaler_image_tag
            )
        self._release(
            "cluster_autoscaler",
            {
                **({"image": image} if image else {}),
                "cloudProvider": "aws",
                "awsRegion": args.region,
                "autoDiscovery": {
                    "clusterName": args.cluster_name,
                    "tags": [
                        f"{AUTOSCALER}/enabled",
                        f"{AUTOSCALER}/{args.cluster_name}",
                    ],
                },
                "rbac": {
                    "serviceAccount": {
                        "create": True,
                        "name": CHARTS["cluster_autoscaler"].service_account,
                    }
                },
                "extraArgs": {
                    "scale-down-unneeded-time": SCALE_DOWN_UNNEEDED,
                    "scale-down-delay-after-add": SCALE_DOWN_DELAY_AFTER_ADD,
                    "max-node-provision-time": "15m",
                    # vLLM's cache is an emptyDir: without this no GPU node would go.
                    "skip-nodes-with-local-storage": "false",
                    "balance-similar-node-groups": "true",
                    # Spot bursts first where a tier has one; least waste among equals.
                    "expander": "priority,least-waste" if args.burst_tiers else "least-waste",
                },
            },
            after=after,
        )

    def _karpenter(self, account: pulumi.Output[str]) -> None:
        """Karpenter: the role of its nodes, the queue of EC2's interruption warnings, and
        the controller with upstream's policy, on the nodes it does not provision."""
        args, prefix = self._args, f"{self._name}-karpenter"
        tags = cost_tags("fleet", args.environment, args.cost_center, "addon")
        nodes = karpenter.node_role(
            prefix, cluster_name=args.cluster_name, cni_on_node=args.karpenter_cni_on_node,
            tags=tags, opts=self._child,
        )  # fmt: skip
        self.karpenter_node_role = nodes.role
        queue_tags = cost_tags("fleet", args.environment, args.cost_center, "interruption-queue")
        warnings = karpenter.interruption_queue(
            prefix, cluster_name=args.cluster_name, tags=queue_tags, opts=self._child
        )
        policy = pulumi.Output.all(account, nodes.role.arn, warnings.queue.arn).apply(
            lambda values: json.dumps(
                karpenter_controller_policy(args.region, values[0], args.cluster_name,
                                            values[1], values[2])
            )
        )  # fmt: skip
        identity = self._controller_role("karpenter", policy)
        self._release("karpenter_crd", {})
        self._release(
            "karpenter",
            {
                "serviceAccount": {"create": True, "name": CHARTS["karpenter"].service_account},
                "settings": {
                    "clusterName": args.cluster_name,
                    "interruptionQueue": karpenter.interruption_queue_name(args.cluster_name),
                },
                # Upstream's sizing for the controller; it schedules only on nodes no
                # NodePool made (the chart's affinity), the cluster's system nodes.
                "controller": {
                    "resources": {
                        "requests": {"cpu": "1", "memory": "1Gi"},
                        "limits": {"cpu": "1", "memory": "1Gi"},
                    }
                },
            },
            after=[identity, nodes.access_entry, *warnings.targets, self.releases["karpenter_crd"]],
            skip_crds=True,
        )

    def _prometheus(self, account: pulumi.Output[str]) -> None:
        """kube-prometheus-stack, loading every PrometheusRule and monitor of the cluster,
        its Alertmanager sending every alert to the fleet's topic when there is one."""
        args, every = self._args, dict[str, Any]()
        alertmanager: dict[str, Any] = {
            "serviceAccount": {"create": True, "name": ALERTMANAGER_SERVICE_ACCOUNT}
        }
        after: list[pulumi.Resource] = []
        if args.alert_topic_name is not None:
            name, region = args.alert_topic_name, args.region
            topic_arn = account.apply(lambda acct: f"arn:aws:sns:{region}:{acct}:{name}")
            identity = self._controller_role(
                "prometheus",
                topic_arn.apply(lambda arn: json.dumps(alert_publisher_policy(arn))),
                service_account=ALERTMANAGER_SERVICE_ACCOUNT,
            )
            after.append(identity)
            # Pod Identity fills credentials in only when a pod is created: naming the role
            # on the pods makes a running Alertmanager restart when it gets one.
            alertmanager["alertmanagerSpec"] = {
                "podMetadata": {"annotations": {POD_IDENTITY_ROLE: identity.role_arn}}
            }
            alertmanager["config"] = topic_arn.apply(lambda arn: alertmanager_config(arn, region))
        self._release(
            "prometheus",
            {
                "fullnameOverride": PROMETHEUS_NAME,
                "alertmanager": alertmanager,
                "grafana": {"enabled": False},  # the fleet's dashboard is CloudWatch's
                # kube_node_labels carries only allowlisted labels: the tier, for the
                # running-cost alert (FleetMonitoring).
                "kube-state-metrics": {"metricLabelsAllowlist": [f"nodes=[{TIER}]"]},
                "prometheus": {
                    "prometheusSpec": {
                        # Load every PrometheusRule and monitor of every namespace, not
                        # only the chart's own (the release label) nor only its namespace
                        # (what a nil namespace selector means to the operator).
                        "ruleSelectorNilUsesHelmValues": False,
                        "ruleSelector": every,
                        "ruleNamespaceSelector": every,
                        "serviceMonitorSelectorNilUsesHelmValues": False,
                        "serviceMonitorSelector": every,
                        "serviceMonitorNamespaceSelector": every,
                        "podMonitorSelectorNilUsesHelmValues": False,
                        "podMonitorSelector": every,
                        "podMonitorNamespaceSelector": every,
                    }
                },
            },
            create_namespace=True,
            after=after,
        )
        self.prometheus_address = PROMETHEUS_ADDRESS

    def _gpu_operator(self) -> None:
        args, chart = self._args, CHARTS["gpu_operator"]
        namespace = k8s.core.v1.Namespace(
            f"{self._name}-gpu-operator-namespace",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=chart.namespace,
                # The operator's daemonsets load kernel modules and reach the devices.
                labels={**MANAGED_BY, "pod-security.kubernetes.io/enforce": "privileged"},
            ),
            opts=self._child,
        )
        mig_manager: dict[str, Any] = {"enabled": True}
        after: list[pulumi.Resource] = [namespace]
        if args.mig is not None:
            mig = args.mig.model_copy(update={"namespace": chart.namespace})
            self.mig_configuration = MigConfiguration(
                "mig",
                mig,
                opts=pulumi.ResourceOptions.merge(
                    self._child, pulumi.ResourceOptions(depends_on=[namespace])
                ),
            )
            mig_manager["config"] = {
                "create": False,
                "name": mig.config_map_name,
                "default": "all-disabled",
            }
            after.append(self.mig_configuration)
        self._release(
            "gpu_operator",
            {
                # The EKS NVIDIA AMI already has the driver and the container toolkit.
                "driver": {"enabled": False},
                "toolkit": {"enabled": False},
                "mig": {"strategy": "mixed"},
                "migManager": mig_manager,
                "devicePlugin": {"enabled": True},
                "dcgmExporter": {
                    "enabled": True,
                    "serviceMonitor": {"enabled": args.prometheus.enabled},
                },
            },
            after=after,
        )

    def _controller_role(
        self, addon: str, policy: pulumi.Output[str], service_account: str | None = None
    ) -> aws.eks.PodIdentityAssociation:
        """An IAM role for a controller's service account (the chart's, or
        ``service_account``), through EKS Pod Identity; its release must wait for the
        association, or the controller's pods start without credentials (Pod Identity
        fills them in only when a pod is created)."""
        args, chart = self._args, CHARTS[addon]
        service_account = service_account or chart.service_account
        assert service_account is not None
        identity = iam.pod_identity(
            f"{self._name}-{addon.replace('_', '-')}",
            description=f"{chart.chart} in {args.cluster_name}, through EKS Pod Identity",
            policy=policy,
            cluster_name=args.cluster_name,
            namespace=chart.namespace,
            service_account=service_account,
            tags=cost_tags("fleet", args.environment, args.cost_center, "addon"),
            opts=self._child,
        )
        self.roles[addon] = identity.role
        return identity.association

    def _release(
        self,
        addon: str,
        values: dict[str, Any],
        *,
        create_namespace: bool = False,
        after: list[pulumi.Resource] | None = None,
        skip_crds: bool = False,
    ) -> None:
        chart = CHARTS[addon]
        oci = chart.repository.startswith("oci://")  # a registry: the chart by its address
        self.releases[addon] = k8s.helm.v3.Release(
            f"{self._name}-{addon.replace('_', '-')}",
            name=chart.chart if addon != "prometheus" else "prometheus",
            chart=f"{chart.repository}/{chart.chart}" if oci else chart.chart,
            version=self._args.version(addon.removesuffix("_crd")),  # a chart's CRDs: its own
            repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=chart.repository),
            namespace=chart.namespace,
            create_namespace=create_namespace,
            values=values,
            skip_crds=skip_crds,
            timeout=HELM_TIMEOUT_SECONDS,
            opts=pulumi.ResourceOptions.merge(
                self._child, pulumi.ResourceOptions(depends_on=after or [])
            ),
        )
