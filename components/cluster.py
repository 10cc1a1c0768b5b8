"""FleetCluster: a new EKS cluster for the fleet, and ClusterRef: the cluster a tier builds
into, new or existing, as the components need it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Self

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import Field, field_validator, model_validator

from components import iam
from components.common import Args, TaggedArgs, child_options, cost_tags
from components.network import load_balancer_subnets, subnet_plan
from components.node_pool import launch_template
from facts import defaults
from facts.labels import NODE_CLASS

TYPE = "agentfleet:index:FleetCluster"
LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
LOG_RETENTION_DAYS = 90
CLUSTER_POLICIES = ("arn:aws:iam::aws:policy/AmazonEKSClusterPolicy",)
NODE_POLICIES = (
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
)
"""The nodes' own rights. The VPC CNI's (ENIs and addresses on any instance) are not
among them: they go to the CNI's pods alone, through Pod Identity (CNI_POLICY), so no pod
that reaches the node's credentials gets them."""
CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
CNI_SERVICE_ACCOUNT = ("kube-system", "aws-node")
ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
EKS_ADDONS = ("vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns")
ADDON_CONFIG = {"vpc-cni": json.dumps({"enableNetworkPolicy": "true"})}
SYSTEM_NODE_LABEL = {NODE_CLASS: "system"}
SYSTEM_ROOT_VOLUME_GIB = 50  # the add-ons' images and logs


class ClusterRef(Args):
    """The cluster a tier builds into: its name, and its VPC, subnets and node role as
    strings (an existing cluster) or Outputs (a new one)."""

    name: str = Field(description="The EKS cluster's name.")
    vpc_id: Any = Field(description="The cluster's VPC.")
    subnet_ids: Annotated[tuple[Any, ...], Field(min_length=1)] = Field(
        description="Subnets for GPU nodes (and internal load balancers, unless "
        "load_balancer_subnet_ids names others)."
    )
    load_balancer_subnet_ids: tuple[Any, ...] | None = Field(
        None,
        description="Subnets for internal load balancers, where no pod runs, so vLLM can "
        "admit the load balancer by address and no pod with it. Default: subnet_ids.",
    )
    public_subnet_ids: tuple[Any, ...] | None = Field(
        None,
        description="Subnets for internet-facing load balancers (routed to an internet "
        "gateway). Default: the internal load balancers' subnets.",
    )
    node_role_arn: Any = Field(description="IAM role of the nodes.")
    ami_release: str = Field(
        "latest",
        description="The EKS-optimized AL2023 AMI release Karpenter's nodes run "
        "(amazon-eks-ami's tag, e.g. v20251209), or latest.",
    )
    karpenter_node_role: Any = Field(
        None,
        description="Name of the IAM role Karpenter's nodes run as (ClusterAddons' "
        "karpenter_node_role); None: the node role's.",
    )
    keda_operator_role_arn: Any = Field(
        None, description="The KEDA operator's IAM role, when known."
    )

    def karpenter_role(self) -> Any:
        """The name of the role Karpenter's nodes run as: the add-on's, else the node
        role's (the last part of its ARN)."""
        if self.karpenter_node_role is not None:
            return self.karpenter_node_role
        arn = pulumi.Output.from_input(self.node_role_arn)
        return arn.apply(lambda value: str(value).rsplit("/", 1)[-1])


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


def invoke_field(value: Any, name: str) -> Any:
    """A field of an invoke result's nested object, typed or (as some SDK paths hand it
    over) a plain mapping."""
    return value[name] if isinstance(value, dict) else getattr(value, name)


def _pick(names: pulumi.Output[list[str]], index: int) -> pulumi.Output[str]:
    return names.apply(lambda values: values[index])


class SystemNodes(Args):
    """The CPU node group of a new cluster: controllers, add-ons and MCP servers (C3)."""

    instance_type: str = Field(
        defaults.SYSTEM_NODE_INSTANCE_TYPE, description="Instance type of the CPU nodes."
    )
    min_size: Annotated[int, Field(ge=1, le=100)] = Field(
        defaults.SYSTEM_NODES_MIN,
        description="Fewest nodes; two keep the controllers up through a node's loss.",
    )
    max_size: Annotated[int, Field(ge=1, le=1000)] = Field(
        defaults.SYSTEM_NODES_MAX, description="Most nodes the cluster autoscaler may add."
    )

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.min_size > self.max_size:
            raise ValueError(f"min_size ({self.min_size}) is above max_size ({self.max_size})")
        return self


class FleetClusterArgs(TaggedArgs):
    """Inputs of a FleetCluster."""

    name: str = Field(description="The cluster's name.")
    kubernetes_version: str = Field(defaults.KUBERNETES_VERSION, description="Kubernetes version.")
    vpc_cidr: str = Field(defaults.VPC_CIDR, description="The VPC's address range.")
    availability_zones: Annotated[int, Field(ge=2, le=6)] = Field(
        defaults.AVAILABILITY_ZONES,
        description="Zones for subnets and nodes: at least two, so a tier survives one's loss.",
    )
    admin_role_arns: tuple[str, ...] = Field(
        (), description="IAM roles given cluster-admin through access entries."
    )
    public_access_cidrs: tuple[str, ...] = Field(
        (), description="CIDRs that may reach the API endpoint from the internet; none: private."
    )
    nodes: SystemNodes = Field(default_factory=SystemNodes, description="The CPU node group.")

    @field_validator("public_access_cidrs")
    @classmethod
    def _no_empty_cidr(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not cidr for cidr in value):
            raise ValueError("a public access CIDR is empty")
        return value


class FleetCluster(pulumi.ComponentResource):
    """A new EKS cluster for the fleet: a VPC over several availability zones (private
    subnets for nodes, subnets of their own for internal load balancers, public ones for NAT
    gateways and internet-facing load balancers, one of each per zone), the cluster with a
    private API endpoint (public access off, or only from the given CIDRs), secrets
    envelope-encrypted with a KMS key of its own, every control-plane log type on, API
    access entries (the creator and the given admin roles), the VPC CNI, kube-proxy, CoreDNS
    and EKS Pod Identity Agent add-ons (the CNI's rights on a Pod Identity role, not the
    node's), and an on-demand CPU node group for controllers and MCP servers. GPU tiers
    build into it as into an existing cluster."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        cluster: aws.eks.Cluster
        vpc: aws.ec2.Vpc
        private_subnets: list[aws.ec2.Subnet]
        public_subnets: list[aws.ec2.Subnet]
        load_balancer_subnets: list[aws.ec2.Subnet]
        """Internal load balancers' subnets: no node, so no pod, has an address there."""
        cni_role: aws.iam.Role
        """The VPC CNI's role, which only its pods (kube-system/aws-node) may take."""
        secrets_key: aws.kms.Key
        node_role: aws.iam.Role
        system_nodes: aws.eks.NodeGroup
        ref: ClusterRef
        ready: list[pulumi.Resource]
        """What must exist before anything runs on the cluster: nodes, add-ons, access."""

    def __init__(
        self, name: str, args: FleetClusterArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        self._name, self._args = name, args
        self._child = child_options(self, opts)
        self._tags = cost_tags("fleet", args.environment, args.cost_center, "cluster")
        self._network()
        self.secrets_key = self._secrets_key()
        self.cluster = self._cluster()
        self.node_role, node_attachments = self._service_role(
            "node", "ec2.amazonaws.com", NODE_POLICIES
        )
        access = self._admins()
        early = {"eks-pod-identity-agent": self._eks_addon("eks-pod-identity-agent")}
        early["kube-proxy"] = self._eks_addon("kube-proxy")
        self.cni_role, cni_rights = self._cni_role()
        # The CNI's pods get their credentials from the Pod Identity agent.
        early["vpc-cni"] = self._eks_addon(
            "vpc-cni", after=[early["eks-pod-identity-agent"], cni_rights]
        )
        self.system_nodes = self._system_nodes([*node_attachments, early["vpc-cni"]])
        # CoreDNS needs nodes to run on.
        coredns = self._eks_addon("coredns", after=[self.system_nodes])
        self.ready = [self.cluster, self.system_nodes, coredns, *early.values(), *access]
        self.ref = ClusterRef(
            name=args.name,
            vpc_id=self.vpc.id,
            subnet_ids=tuple(subnet.id for subnet in self.private_subnets),
            load_balancer_subnet_ids=tuple(subnet.id for subnet in self.load_balancer_subnets),
            public_subnet_ids=tuple(subnet.id for subnet in self.public_subnets),
            node_role_arn=self.node_role.arn,
        )
        self.register_outputs(
            {
                "cluster": self.cluster,
                "vpc_id": self.vpc.id,
                "endpoint": self.cluster.endpoint,
                "node_role_arn": self.node_role.arn,
            }
        )

    def _after(self, *resources: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions.merge(
            self._child, pulumi.ResourceOptions(depends_on=list(resources))
        )

    def _network(self) -> None:
        """The VPC: per zone a public subnet with a NAT gateway, a private subnet that goes
        out through the NAT gateway of its own zone, and a subnet for internal load
        balancers (routed like the private one) where no node runs."""
        name, args, tags, child = self._name, self._args, self._tags, self._child
        private_cidrs, public_cidrs = subnet_plan(args.vpc_cidr, args.availability_zones)
        balancer_cidrs = load_balancer_subnets(args.vpc_cidr, args.availability_zones)
        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={**tags, "Name": args.name},
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags={**tags, "Name": args.name}, opts=child
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags={**tags, "Name": f"{args.name}-public"},
            opts=child,
        )
        zones = aws.get_availability_zones_output(
            state="available", opts=pulumi.InvokeOutputOptions(parent=self)
        ).names
        self.private_subnets, self.public_subnets, self.load_balancer_subnets = [], [], []
        for index, (private_cidr, public_cidr, balancer_cidr) in enumerate(
            zip(private_cidrs, public_cidrs, balancer_cidrs, strict=True)
        ):
            public = self._subnet("public", index, public_cidr, public_routes, zones)
            address = aws.ec2.Eip(f"{name}-nat-{index}", domain="vpc", tags=tags, opts=child)
            nat = aws.ec2.NatGateway(
                f"{name}-nat-{index}",
                allocation_id=address.id,
                subnet_id=public.id,
                tags={**tags, "Name": f"{args.name}-{index}"},
                opts=self._after(gateway),
            )
            routes = aws.ec2.RouteTable(
                f"{name}-private-{index}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags={**tags, "Name": f"{args.name}-private-{index}"},
                opts=child,
            )
            self.private_subnets.append(self._subnet("private", index, private_cidr, routes, zones))
            self.load_balancer_subnets.append(
                self._subnet("load-balancer", index, balancer_cidr, routes, zones)
            )
            self.public_subnets.append(public)

    def _subnet(
        self,
        kind: str,
        index: int,
        cidr: str,
        routes: aws.ec2.RouteTable,
        zones: pulumi.Output[list[str]],
    ) -> aws.ec2.Subnet:
        """A subnet in the index-th zone, routed through ``routes``; the AWS Load Balancer
        Controller finds the load balancers' subnets by their role tags (internet-facing in
        the public ones, internal in the load balancers' own, none among the nodes')."""
        name, args, child = self._name, self._args, self._child
        elb_role = {"public": "elb", "load-balancer": "internal-elb"}.get(kind)
        created = aws.ec2.Subnet(
            f"{name}-{kind}-{index}",
            vpc_id=self.vpc.id,
            cidr_block=cidr,
            availability_zone=_pick(zones, index),
            map_public_ip_on_launch=False,
            tags={
                **self._tags,
                f"kubernetes.io/cluster/{args.name}": "shared",
                "Name": f"{args.name}-{kind}-{index}",
                **({f"kubernetes.io/role/{elb_role}": "1"} if elb_role else {}),
            },
            opts=child,
        )
        aws.ec2.RouteTableAssociation(
            f"{name}-{kind}-{index}", subnet_id=created.id, route_table_id=routes.id, opts=child
        )
        return created

    def _secrets_key(self) -> aws.kms.Key:
        """The KMS key that envelope-encrypts the cluster's Kubernetes secrets."""
        name, args = self._name, self._args
        key = aws.kms.Key(
            f"{name}-secrets",
            description=f"Envelope encryption of the Kubernetes secrets of {args.name}",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=self._tags,
            opts=self._child,
        )
        aws.kms.Alias(
            f"{name}-secrets",
            name=f"alias/eks/{args.name}",
            target_key_id=key.key_id,
            opts=self._child,
        )
        return key

    def _service_role(
        self, kind: str, service: str, policies: tuple[str, ...]
    ) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
        """A role an AWS service assumes, with AWS's managed policies attached."""
        role = aws.iam.Role(
            f"{self._name}-{kind}-role",
            assume_role_policy=iam.trust({"Service": service}),
            tags=self._tags,
            opts=self._child,
        )
        return role, [
            aws.iam.RolePolicyAttachment(
                f"{self._name}-{kind}-{policy.rsplit('/', 1)[1]}",
                role=role.name,
                policy_arn=policy,
                opts=self._child,
            )
            for policy in policies
        ]

    def _cni_role(self) -> tuple[aws.iam.Role, aws.iam.RolePolicyAttachment]:
        """The VPC CNI's rights on a role of its own that EKS Pod Identity gives only to
        kube-system/aws-node (the add-on makes the association), instead of on the node
        role, which anything reaching the instance metadata could borrow."""
        namespace, account = CNI_SERVICE_ACCOUNT
        role = aws.iam.Role(
            f"{self._name}-cni-role",
            description=f"VPC CNI of {self._args.name}",
            assume_role_policy=iam.pod_identity_trust(self._args.name, namespace, account),
            tags=self._tags,
            opts=self._child,
        )
        rights = aws.iam.RolePolicyAttachment(
            f"{self._name}-cni-{CNI_POLICY.rsplit('/', 1)[1]}",
            role=role.name,
            policy_arn=CNI_POLICY,
            opts=self._child,
        )
        return role, rights

    def _cluster(self) -> aws.eks.Cluster:
        """The cluster: private API endpoint (public only to the given CIDRs), secrets
        encrypted with its own key, every control-plane log kept, API access entries."""
        name, args = self._name, self._args
        cluster_role, attachments = self._service_role(
            "cluster", "eks.amazonaws.com", CLUSTER_POLICIES
        )
        logs = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/eks/{args.name}/cluster",
            retention_in_days=LOG_RETENTION_DAYS,
            tags=self._tags,
            opts=self._child,
        )
        return aws.eks.Cluster(
            f"{name}-cluster",
            name=args.name,
            version=args.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=[subnet.id for subnet in self.private_subnets],
                endpoint_private_access=True,
                endpoint_public_access=bool(args.public_access_cidrs),
                public_access_cidrs=list(args.public_access_cidrs) or None,
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.secrets_key.arn),
                resources=["secrets"],
            ),
            enabled_cluster_log_types=list(LOG_TYPES),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=True
            ),
            tags=self._tags,
            opts=self._after(logs, *attachments),
        )

    def _admins(self) -> list[pulumi.Resource]:
        """Cluster-admin access entries for the given roles."""
        access: list[pulumi.Resource] = []
        for index, principal in enumerate(self._args.admin_role_arns):
            entry = aws.eks.AccessEntry(
                f"{self._name}-admin-{index}",
                cluster_name=self.cluster.name,
                principal_arn=principal,
                type="STANDARD",
                tags=self._tags,
                opts=self._child,
            )
            access.append(
                aws.eks.AccessPolicyAssociation(
                    f"{self._name}-admin-{index}",
                    cluster_name=self.cluster.name,
                    principal_arn=entry.principal_arn,
                    policy_arn=ADMIN_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=self._child,
                )
            )
        return access

    def _eks_addon(self, addon: str, after: list[pulumi.Resource] | None = None) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{self._name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            resolve_conflicts_on_create="OVERWRITE",
            # The VPC CNI enforces NetworkPolicies (the inference pods' isolation) only
            # with its network policy agent on.
            configuration_values=ADDON_CONFIG.get(addon),
            pod_identity_associations=(
                [
                    aws.eks.AddonPodIdentityAssociationArgs(
                        role_arn=self.cni_role.arn, service_account=CNI_SERVICE_ACCOUNT[1]
                    )
                ]
                if addon == "vpc-cni"
                else None
            ),
            tags=self._tags,
            opts=self._after(*(after or [])),
        )

    def _system_nodes(self, after: list[pulumi.Resource]) -> aws.eks.NodeGroup:
        """The on-demand CPU node group for controllers, add-ons and MCP servers."""
        nodes = self._args.nodes
        # Its launch template tags the instances and volumes (EKS copies none of the node
        # group's tags to them).
        template = launch_template(
            f"{self._name}-system-launch-template",
            name_prefix=f"{self._args.name}-system-",
            description="CPU nodes for controllers, add-ons and MCP servers",
            node_name=f"{self._args.name}-system",
            root_volume_gib=SYSTEM_ROOT_VOLUME_GIB,
            instance_store=False,
            tags=self._tags,
            opts=self._child,
        )
        return aws.eks.NodeGroup(
            f"{self._name}-system-nodes",
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=template.id, version=template.latest_version.apply(str)
            ),
            cluster_name=self.cluster.name,
            node_role_arn=self.node_role.arn,
            subnet_ids=[subnet.id for subnet in self.private_subnets],
            instance_types=[nodes.instance_type],
            capacity_type="ON_DEMAND",
            ami_type="AL2023_x86_64_STANDARD",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=nodes.min_size, desired_size=nodes.min_size, max_size=nodes.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            labels=SYSTEM_NODE_LABEL,
            tags=self._tags,
            opts=self._after(*after),
        )


@dataclass(frozen=True)
class ClusterConnection:
    """The cluster a fleet goes onto, and how everything else is declared onto it."""

    ref: ClusterRef
    provider: k8s.Provider
    """A Kubernetes provider for the cluster, created once a new cluster is ready."""
    ready: list[pulumi.Resource]
    """What must exist before anything goes onto a new cluster (its nodes, DNS and access
    entries); empty for an existing one."""
    kubernetes_version: Any
    """The version asked for, else what the existing cluster reports."""
    cluster: FleetCluster | None = None
    """The new cluster, when one was declared."""


def connect(
    cluster: FleetClusterArgs | ClusterRef,
    region: str,
    cloud: aws.Provider,
    kubernetes_version: str | None = None,
) -> ClusterConnection:
    """A new cluster (``FleetClusterArgs``, declared here as ``cluster``) or an existing
    one (``ClusterRef``, read by its name), and a Kubernetes provider for it."""
    ready: list[pulumi.Resource] = []
    built = None
    if isinstance(cluster, ClusterRef):
        existing = aws.eks.get_cluster_output(
            name=cluster.name, opts=pulumi.InvokeOutputOptions(provider=cloud)
        )
        ref, name = cluster, cluster.name
        endpoint: Any = existing.endpoint
        certificate: Any = existing.certificate_authorities.apply(
            lambda authorities: invoke_field(authorities[0], "data")
        )
        version: Any = kubernetes_version or existing.version
    else:
        built = FleetCluster(
            "cluster", cluster, opts=pulumi.ResourceOptions(providers={"aws": cloud})
        )
        ref, ready, name = built.ref, built.ready, cluster.name
        endpoint, certificate = built.cluster.endpoint, built.cluster.certificate_authority.data
        version = kubernetes_version
    provider = k8s.Provider(
        "cluster",
        kubeconfig=pulumi.Output.all(endpoint, certificate).apply(
            lambda values: kubeconfig(name, region, values[0], values[1])
        ),
        opts=pulumi.ResourceOptions(depends_on=ready),
    )
    return ClusterConnection(ref, provider, ready, version, built)
