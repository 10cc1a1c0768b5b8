"""The cluster keys (``agentfleet:cluster``: an existing EKS cluster, or a new one and its
CPU nodes) and the add-ons (``agentfleet:addons``)."""

from __future__ import annotations

import ipaddress
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from facts import defaults
from infra.config.fields import ROLE_ARN, Cidr, ConfigModel, KeyedError, SubnetId


class NodeGroupConfig(ConfigModel):
    """The CPU node group of a new cluster: controllers, add-ons and MCP servers (C3)."""

    instance_type: Annotated[StrictStr, StringConstraints(pattern=r"^[a-z0-9-]+\.[a-z0-9]+$")] = (
        Field(defaults.SYSTEM_NODE_INSTANCE_TYPE, description="Instance type of the CPU nodes.")
    )
    min_size: Annotated[StrictInt, Field(ge=1, le=100)] = Field(
        defaults.SYSTEM_NODES_MIN,
        description="Fewest nodes; two keep the controllers up through a node's loss.",
    )
    max_size: Annotated[StrictInt, Field(ge=1, le=1000)] = Field(
        defaults.SYSTEM_NODES_MAX, description="Most nodes the cluster autoscaler may add."
    )

    @model_validator(mode="after")
    def _range(self) -> NodeGroupConfig:
        if self.min_size > self.max_size:
            raise KeyedError("minSize", f"{self.min_size} is above maxSize ({self.max_size})")
        return self


EXISTING_CLUSTER_KEYS = ("vpc_id", "subnet_ids", "node_role_arn")
NEW_CLUSTER_KEYS = (
    "vpc_cidr",
    "availability_zones",
    "admin_role_arns",
    "public_access_cidrs",
    "system_nodes",
)


class ClusterConfig(ConfigModel):
    """The EKS cluster the fleet is built into: an existing one (name, vpcId, subnetIds,
    nodeRoleArn), or with `create: true` a new one agentfleet builds (VPC, private
    endpoint, encrypted secrets, logs, Pod Identity, a CPU node group)."""

    name: Annotated[StrictStr, StringConstraints(pattern=r"^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$")] = (
        Field(description="The EKS cluster's name.")
    )
    create: StrictBool = Field(
        False, description="Build a new cluster with this name instead of using an existing one."
    )
    node_provisioner: Literal["cluster-autoscaler", "karpenter"] = Field(
        "cluster-autoscaler",
        description="What provisions the tiers' GPU nodes: cluster-autoscaler (an EKS managed "
        "node group per tier, scaled by the cluster autoscaler add-on) or karpenter (a "
        "Karpenter NodePool and EC2NodeClass per tier, the Karpenter add-on instead of the "
        "cluster autoscaler; MIG tiers need node groups).",
    )
    ami_release: Annotated[StrictStr, StringConstraints(pattern=r"^(latest|v\d{8})$")] | None = (
        Field(
            None,
            description="With nodeProvisioner: karpenter: the EKS-optimized Amazon Linux 2023 "
            "AMI release the GPU nodes run, as amazon-eks-ami tags it (e.g. v20251209). "
            "Default latest: every new release replaces every GPU node, one at a time a "
            "NodePool (drift); pin it in production and move it when you choose.",
        )
    )
    vpc_id: Annotated[StrictStr, StringConstraints(pattern=r"^vpc-[0-9a-f]{1,17}$")] | None = Field(
        None,
        description="Existing cluster: its VPC; load balancers and their security groups go here.",
    )
    subnet_ids: Annotated[list[SubnetId], Field(min_length=1)] | None = Field(
        None,
        description="Existing cluster: subnets for GPU nodes and internal load balancers; use "
        "subnets in at least two availability zones so a tier survives the loss of one (C7).",
    )
    load_balancer_subnet_ids: Annotated[list[SubnetId], Field(min_length=2)] | None = Field(
        None,
        description="Existing cluster: subnets for the tiers' load balancers, in at least two "
        "availability zones, where no node runs: vLLM then admits these subnets' addresses "
        "and no pod with them. Default: subnetIds (and vLLM admits every pod there too).",
    )
    node_role_arn: Annotated[StrictStr, StringConstraints(pattern=ROLE_ARN)] | None = Field(
        None, description="Existing cluster: IAM role of the GPU nodes (the cluster's node role)."
    )
    keda_operator_role_arn: Annotated[StrictStr, StringConstraints(pattern=ROLE_ARN)] | None = (
        Field(
            None,
            description="IAM role of the KEDA operator; only it may assume the tiers' "
            "queue-reading roles. Default: the role of the KEDA add-on when agentfleet installs "
            "it, else any principal of the account that IAM allows.",
        )
    )
    kubernetes_version: Annotated[StrictStr, StringConstraints(pattern=r"^1\.\d{2}$")] | None = (
        Field(
            None,
            description="The cluster's Kubernetes minor; the cluster autoscaler add-on runs the "
            f"release of the same minor ({', '.join(defaults.CLUSTER_AUTOSCALER_IMAGE_TAGS)}). "
            f"New cluster: the version it is built with, default {defaults.KUBERNETES_VERSION}. "
            "Existing cluster: the version it runs; default: what the cluster reports.",
        )
    )
    vpc_cidr: Cidr | None = Field(
        None,
        description="New cluster: the VPC's address range, /16 to /20. "
        f"Default {defaults.VPC_CIDR}.",
    )
    availability_zones: Annotated[StrictInt, Field(ge=2, le=6)] | None = Field(
        None,
        description="New cluster: availability zones to spread subnets and nodes over (at least "
        f"two, C7). Default {defaults.AVAILABILITY_ZONES}.",
    )
    admin_role_arns: list[Annotated[StrictStr, StringConstraints(pattern=ROLE_ARN)]] | None = Field(
        None,
        description="New cluster: IAM roles given cluster-admin through EKS access entries "
        "(the identity running `pulumi up` gets it too, as the cluster's creator).",
    )
    public_access_cidrs: list[Cidr] | None = Field(
        None,
        description="New cluster: CIDRs that may reach the API endpoint from the internet. "
        "Default: none, the endpoint is private (eks-private-endpoint).",
    )
    system_nodes: NodeGroupConfig | None = Field(
        None, description="New cluster: the CPU node group for controllers and MCP servers."
    )

    @field_validator("subnet_ids", "load_balancer_subnet_ids")
    @classmethod
    def _distinct(cls, value: list[str] | None) -> list[str] | None:
        repeated = sorted({subnet for subnet in value or () if value.count(subnet) > 1})  # type: ignore[union-attr]
        if repeated:
            raise ValueError(f"subnet listed twice: {', '.join(repeated)}")
        return value

    @field_validator("vpc_cidr")
    @classmethod
    def _vpc_size(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ipaddress.ip_network(value, strict=True)
        except ValueError as error:
            raise ValueError(f"{value}: {error}") from None
        if not 16 <= int(value.rsplit("/", 1)[1]) <= 20:
            raise ValueError(f"{value}: a VPC for a fleet needs a /16 to /20 range")
        return value

    @model_validator(mode="after")
    def _one_kind(self) -> ClusterConfig:
        for key in EXISTING_CLUSTER_KEYS:
            given = getattr(self, key) is not None
            if self.create and given:
                raise KeyedError(
                    to_camel(key), "a new cluster (create: true) makes its own; remove it"
                )
            if not self.create and not given:
                raise KeyedError(
                    to_camel(key), "required for an existing cluster (or set create: true)"
                )
        if not self.create:
            for key in NEW_CLUSTER_KEYS:
                if getattr(self, key) is not None:
                    raise KeyedError(to_camel(key), "only for a new cluster (create: true)")
        if self.ami_release is not None and self.node_provisioner != "karpenter":
            raise KeyedError(
                "amiRelease",
                "only with nodeProvisioner: karpenter (a node group's AMI follows its "
                "Kubernetes version)",
            )
        if self.create and self.load_balancer_subnet_ids is not None:
            raise KeyedError(
                "loadBalancerSubnetIds", "a new cluster (create: true) makes its own; remove it"
            )
        return self

    @property
    def nodes(self) -> NodeGroupConfig:
        return self.system_nodes or NodeGroupConfig()


class AddonConfig(ConfigModel):
    """One cluster add-on, installed by agentfleet as a Helm release with a pinned chart."""

    enabled: StrictBool = Field(
        True, description="Install it; turn it off when the cluster already runs it."
    )
    version: Annotated[StrictStr, StringConstraints(min_length=1)] | None = Field(
        None,
        description="Chart version; default: the one agentfleet pins (docs/operating.md). An "
        "unpinned one is reported by helm-chart-pinned.",
    )


class AddonsConfig(ConfigModel):
    """The cluster add-ons the fleet needs, each on by default. Turn one off when the
    cluster already runs it; docs/operating.md says what it must then provide."""

    gpu_operator: AddonConfig = Field(
        default_factory=AddonConfig,
        description="NVIDIA GPU operator: device plugin, MIG manager (mixed strategy, the "
        "MigConfiguration config map), DCGM exporter.",
    )
    keda: AddonConfig = Field(
        default_factory=AddonConfig,
        description="KEDA: the ScaledObjects that scale tiers on queue depth (A1).",
    )
    load_balancer_controller: AddonConfig = Field(
        default_factory=AddonConfig,
        description="AWS Load Balancer Controller: the TargetGroupBindings of user-facing tiers.",
    )
    cluster_autoscaler: AddonConfig = Field(
        default_factory=AddonConfig,
        description="Cluster autoscaler: adds and removes GPU nodes as replicas come and go.",
    )
    karpenter: AddonConfig = Field(
        default_factory=AddonConfig,
        description="Karpenter, with cluster.nodeProvisioner: karpenter: its controller (Pod "
        "Identity with upstream's IAM policy), its nodes' role and access entry, the "
        "interruption queue and its EventBridge rules. Off: the cluster already runs Karpenter "
        "and its nodes run as cluster.nodeRoleArn.",
    )
    prometheus: AddonConfig = Field(
        default_factory=AddonConfig,
        description="kube-prometheus-stack: the Prometheus Operator (PrometheusRule CRD) and a "
        "Prometheus for the alerts (M1, M2). Off: set monitoring.prometheusAddress.",
    )
