"""Karpenter (aws/karpenter-provider-aws), as agentfleet runs it: the keys its NodePools and
EC2NodeClasses use, and what its interruption queue listens to. The controller's chart and
IAM policy are pinned to one release; these facts are from that release."""

from __future__ import annotations

from typing import Literal

VERSION = "1.14.1"
"""The release the chart, the CRDs (karpenter.sh/v1, karpenter.k8s.aws/v1) and the IAM
policy agentfleet declares are from."""
REGISTRY = "oci://public.ecr.aws/karpenter"
"""Where the release's charts are: ``karpenter`` (the controller) and ``karpenter-crd``
(its CRDs, which Helm upgrades only from a chart of their own)."""
CHART = f"{REGISTRY}/karpenter"
NAMESPACE = "kube-system"
SERVICE_ACCOUNT = "karpenter"
"""The chart names its service account after the release; agentfleet names both so."""

NODE_POOL_API = "karpenter.sh/v1"
NODE_CLASS_API = "karpenter.k8s.aws/v1"
NODE_CLASS_GROUP = "karpenter.k8s.aws"

CAPACITY_TYPE = "karpenter.sh/capacity-type"
"""The well-known label a NodePool's requirements choose capacity by."""
NODE_POOL_LABEL = "karpenter.sh/nodepool"
"""What Karpenter labels its nodes (and tags its instances) with: the NodePool's name."""
INSTANCE_TYPE = "node.kubernetes.io/instance-type"

CapacityType = Literal["on-demand", "spot", "reserved"]
CAPACITY_TYPES: dict[str, CapacityType] = {
    "on-demand": "on-demand",
    "spot": "spot",
}
"""A tier's capacity (the catalog's on-demand or spot) as Karpenter's capacity type."""
RESERVED: CapacityType = "reserved"
"""Capacity in an On-Demand Capacity Reservation or a Capacity Block: Karpenter launches
into the reservations its EC2NodeClass selects (capacityReservationSelectorTerms)."""

AMI_FAMILY = "al2023"
"""The EKS-optimized Amazon Linux 2023 AMIs (``al2023@<release>``): for an instance type
with NVIDIA GPUs Karpenter picks the NVIDIA variant (driver and container toolkit
installed), as EKS does for a node group's AL2023_x86_64_NVIDIA."""

INTERRUPTION_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": (
        "aws.ec2",
        "EC2 Capacity Reservation Instance Interruption Warning",
    ),
}
"""The EventBridge rules that feed the interruption queue, by name: (source, detail-type),
as its release's template declares them. On a spot interruption warning, a scheduled
maintenance event or an instance stopping or terminating, Karpenter taints and drains the
node, and for spot starts a replacement at once; a rebalance recommendation it only
records."""
INTERRUPTION_RETENTION_SECONDS = 300
"""An interruption message older than five minutes is about a node already gone."""

EMPTY_NODE_SECONDS = 900
"""The least time a GPU node stays empty before Karpenter removes it, as the cluster
autoscaler's scale-down-unneeded-time: a GPU node takes minutes to come up, so removing it
sooner would only make the next burst wait for a new one."""

BATCH_IDLE_SECONDS = 1.0
"""The chart's settings.batchIdleDuration: Karpenter launches for the pods pending once no
new one has come for a second (settings.batchMaxDuration, 10 s, caps the wait). A scale-out
makes its pods at once, so its nodes are asked for a second after; the cluster
autoscaler's next scan is up to its --scan-interval (10 s) away."""
SPOT_WARNING_SECONDS = 120.0
"""EC2's spot interruption notice comes two minutes before it takes the instance: Karpenter
drains the node on it and asks for a replacement at once."""

NODE_ROLE_POLICIES = (
    "AmazonEKSWorkerNodePolicy",
    "AmazonEC2ContainerRegistryPullOnly",
    "AmazonSSMManagedInstanceCore",
)
"""AWS managed policies of the role Karpenter's nodes run as. The VPC CNI's
AmazonEKS_CNI_Policy only where the CNI takes its rights from the node (an existing
cluster); a cluster agentfleet builds gives the CNI its own role."""
CNI_POLICY = "AmazonEKS_CNI_Policy"
