"""KarpenterNodePool: a tier's GPU nodes as a Karpenter NodePool and its EC2NodeClass,
instead of a managed node group and its launch template."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, Self

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field, model_validator

from components.common import child_options, cost_tags
from components.node_pool import ROOT_DEVICE, GpuNodePoolArgs
from facts import karpenter, names
from facts.catalog import CATALOG
from facts.labels import (
    GPU_RESOURCE,
    GPU_TAINT_KEY,
    MANAGED_BY,
)

TYPE = "agentfleet:index:KarpenterNodePool"
PoolRole = Literal["whole", "floor", "burst", "overflow"]
WEIGHTS: dict[PoolRole, int] = {"floor": 100, "burst": 50, "whole": 10, "overflow": 10}
"""Karpenter tries a higher weight first: a tier's floor, then its spot burst, then the
on-demand nodes between its floor and its ceiling, in the order the plan costs them."""
EXPIRE_AFTER = "Never"
"""Karpenter replaces an expired node without asking its disruption budgets; drift (a new
AMI, a changed EC2NodeClass) replaces nodes within them, so that keeps nodes current."""


def instance_types(args: GpuNodePoolArgs) -> list[str]:
    """The types Karpenter may choose for the tier: the planned one, and every other of
    the catalog's with the same GPU and as many of them, at least its vCPUs and memory
    (a replica sized for it fits) and an instance store where the tier uses one. A
    reservation is for its own type only."""
    planned = args.instance_type_facts
    if args.reservation is not None:
        return [planned.name]
    return [planned.name] + [
        candidate.name
        for candidate in CATALOG[args.gpu].instance_types
        if candidate.name != planned.name
        and candidate.gpus == planned.gpus
        and candidate.vcpus >= planned.vcpus
        and candidate.memory_gib >= planned.memory_gib
        and (candidate.instance_store_gb > 0 or not args.instance_store)
    ]


class KarpenterNodePoolArgs(GpuNodePoolArgs):
    """Inputs of a KarpenterNodePool: a node group's, with what Karpenter adds."""

    node_role: Any = Field(
        description="Name of the IAM role the nodes run as (Karpenter makes its instance "
        "profile; its access entry must exist)."
    )
    ami_release: Annotated[str, Field(pattern=r"^(latest|v\d{8})$")] = Field(
        "latest",
        description="The EKS-optimized AL2023 AMI release (amazon-eks-ami's tag, e.g. "
        "v20251209) the nodes run; latest: each new release drifts every node.",
    )
    pool_role: PoolRole = Field(
        "whole",
        description="whole: every node of a tier without a burst; floor: the on-demand "
        "nodes up to the tier's floor, kept when empty; burst: spot nodes above the floor; "
        "overflow: on-demand nodes between the floor and the ceiling.",
    )
    consolidate_after_seconds: Annotated[int, Field(ge=0)] = Field(
        description="How long a node stays empty before Karpenter removes it: longer than "
        "the tier's scale-in window, so a node outlives the replica that left it."
    )

    @model_validator(mode="after")
    def _karpenter_can(self) -> Self:
        if self.mig_layout is not None:
            raise ValueError(
                "mig_layout: Karpenter cannot provision MIG nodes (it knows no MIG "
                "resources before a node exists); use a node group"
            )
        return self

    @property
    def capacity_types(self) -> list[karpenter.CapacityType]:
        if self.reservation is not None:
            return [karpenter.RESERVED]
        return [karpenter.CAPACITY_TYPES[self.capacity]]

    def gpu_limit(self) -> int:
        return self.max_size * self.gpus_per_node


def tier_pools(
    own: GpuNodePoolArgs, burst: GpuNodePoolArgs | None, **added: Any
) -> dict[str, KarpenterNodePoolArgs]:
    """A tier's NodePools, by name, from its node groups' args (``own``, ``burst``) and
    ``added`` (node_role, consolidate_after_seconds). A tier without a burst has one. A
    bursting one has its floor (on-demand, kept when empty: NodePools have no minimum, so
    the floor's replicas launch these nodes and the pool never gives them back), its burst
    (spot) and the on-demand nodes between floor and ceiling, tried in that order."""

    def pool(base: GpuNodePoolArgs, **update: Any) -> KarpenterNodePoolArgs:
        return KarpenterNodePoolArgs.model_validate({**dict(base), **added, **update})

    if burst is None:
        return {own.tier: pool(own)}
    pools = {}
    if own.min_size > 0:
        pools[own.tier] = pool(own, max_size=own.min_size, pool_role="floor")
    pools[names.burst_pool(own.tier)] = pool(burst, pool_role="burst")
    if own.max_size > own.min_size:
        pools[names.overflow_pool(own.tier)] = pool(
            own,
            min_size=0,
            max_size=own.max_size - own.min_size,
            reservation=None,
            pool_role="overflow",
        )
    return pools


def _node_class_spec(args: KarpenterNodePoolArgs, tags: dict[str, str]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "role": args.node_role,
        "amiSelectorTerms": [{"alias": f"{karpenter.AMI_FAMILY}@{args.ami_release}"}],
        "subnetSelectorTerms": [{"id": subnet} for subnet in args.launch_subnets],
        # EKS tags the cluster security group it makes with the cluster's name.
        "securityGroupSelectorTerms": [{"tags": {"aws:eks:cluster-name": args.cluster_name}}],
        # IMDSv2 only, one hop: pods never reach the node role (as the launch templates).
        "metadataOptions": {
            "httpEndpoint": "enabled",
            "httpProtocolIPv6": "disabled",
            "httpPutResponseHopLimit": 1,
            "httpTokens": "required",
        },
        "blockDeviceMappings": [
            {
                "deviceName": ROOT_DEVICE,
                "rootVolume": True,
                "ebs": {
                    "volumeSize": f"{args.disk_size_gib}Gi",
                    "volumeType": "gp3",
                    "encrypted": True,
                    "deleteOnTermination": True,
                },
            }
        ],
        "tags": tags,
        # One-minute metrics: the fleet's dashboard counts these nodes by instance type.
        "detailedMonitoring": True,
    }
    if args.instance_store:
        # nodeadm stripes the instance store as RAID0 under kubelet's and containerd's data.
        spec["instanceStorePolicy"] = "RAID0"
    if args.reservation is not None:
        spec["capacityReservationSelectorTerms"] = [{"id": args.reservation.id}]
    return spec


def _node_pool_spec(args: KarpenterNodePoolArgs, name: str, types: list[str]) -> dict[str, Any]:
    budgets: list[dict[str, Any]] = [{"nodes": "1"}]  # one node of the pool at a time
    if args.pool_role == "floor":  # the floor's nodes go only when drifted, one at a time
        budgets = [{"nodes": "0", "reasons": ["Empty", "Underutilized"]}, {"nodes": "1"}]
    return {
        "weight": WEIGHTS[args.pool_role],
        "limits": {GPU_RESOURCE: str(args.gpu_limit())},
        "disruption": {
            # Only an empty node goes: a node that serves is never consolidated away.
            "consolidationPolicy": "WhenEmpty",
            "consolidateAfter": f"{args.consolidate_after_seconds}s",
            "budgets": budgets,
        },
        "template": {
            "metadata": {"labels": args.node_labels()},
            "spec": {
                "nodeClassRef": {
                    "group": karpenter.NODE_CLASS_GROUP,
                    "kind": "EC2NodeClass",
                    "name": name,
                },
                "taints": [{"key": GPU_TAINT_KEY, "value": "true", "effect": "NoSchedule"}],
                "requirements": [
                    {
                        "key": karpenter.INSTANCE_TYPE,
                        "operator": "In",
                        "values": types,
                    },
                    {
                        "key": karpenter.CAPACITY_TYPE,
                        "operator": "In",
                        "values": args.capacity_types,
                    },
                ],
                "expireAfter": EXPIRE_AFTER,
            },
        },
    }


class KarpenterNodePool(pulumi.ComponentResource):
    """A tier's GPU nodes as Karpenter provisions them: a NodePool (the tier's instance
    types and capacity type, its ceiling in GPUs, the ``nvidia.com/gpu`` NoSchedule taint,
    tier labels, consolidation of empty nodes only) and its EC2NodeClass (the NVIDIA AL2023
    AMI, IMDSv2, the encrypted gp3 root volume or the instance store as RAID0, the tier's
    cost tags on instances and volumes, the tier's reservation)."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        node_class: k8s.apiextensions.CustomResource
        node_pool: k8s.apiextensions.CustomResource
        node_pool_name: str
        """The NodePool's Kubernetes name (Karpenter labels its nodes with it)."""
        labels: dict[str, str]
        """The Kubernetes labels of its nodes."""
        types: list[str]
        """The instance types it may launch."""

    def __init__(
        self, name: str, args: KarpenterNodePoolArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags(args.tier, args.environment, args.cost_center, "node-pool", args.marks())
        self.node_pool_name = name
        self.labels = args.node_labels()
        self.types = instance_types(args)
        metadata = k8s.meta.v1.ObjectMetaArgs(name=name, labels={**MANAGED_BY})
        self.node_class = k8s.apiextensions.CustomResource(
            names.karpenter_node_class(name),
            api_version=karpenter.NODE_CLASS_API,
            kind="EC2NodeClass",
            metadata=metadata,
            spec=_node_class_spec(args, tags),
            opts=child,
        )
        self.node_pool = k8s.apiextensions.CustomResource(
            names.karpenter_node_pool(name),
            api_version=karpenter.NODE_POOL_API,
            kind="NodePool",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=name, labels={**MANAGED_BY}, annotations=tags),
            spec=_node_pool_spec(args, name, self.types),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.node_class])
            ),
        )
        self.register_outputs({"node_pool_name": name, "labels": self.labels})
