"""The Karpenter controller's IAM policy, statement for statement the one its release
publishes (the getting-started CloudFormation template of aws/karpenter-provider-aws at the
pinned version: its NodeLifecycle, IAMIntegration, EKSIntegration, Interruption, ZonalShift
and ResourceDiscovery policies), as one document for the controller's Pod Identity role.

Every write is held to what Karpenter itself launched for this cluster: instances, volumes,
network interfaces, fleets and launch templates it creates must carry the cluster's
ownership tag and a NodePool's, and it may delete or retag only what carries them; instance
profiles likewise carry an EC2NodeClass's tag and the region's."""

from __future__ import annotations

from typing import Any

from components import iam

LAUNCHED = (
    "fleet",
    "instance",
    "volume",
    "network-interface",
    "launch-template",
    "spot-instances-request",
)
"""What RunInstances and CreateFleet create, each tagged at creation."""
LAUNCHED_FROM = ("security-group", "subnet", "capacity-reservation", "placement-group")
"""What a launch uses of the account's own (AWS's images and snapshots besides)."""
DISCOVERY = (
    "ec2:DescribeCapacityReservations",
    "ec2:DescribeImages",
    "ec2:DescribeInstances",
    "ec2:DescribeInstanceStatus",
    "ec2:DescribeInstanceTypeOfferings",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplates",
    "ec2:DescribePlacementGroups",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSpotPriceHistory",
    "ec2:DescribeSubnets",
)
"""Describe calls take no resource-level permissions: held to the cluster's region."""
EC2_SERVICES = ("ec2.amazonaws.com", "ec2.amazonaws.com.cn")
NODE_POOL_TAG = "karpenter.sh/nodepool"
NODE_CLASS_TAG = "karpenter.k8s.aws/ec2nodeclass"


def _node_lifecycle(region: str, cluster_name: str) -> list[dict[str, Any]]:
    """Launch from the account's subnets, security groups and reservations and AWS's
    images, only with Karpenter's own launch templates; tag, retag and end only what a
    NodePool of this cluster launched."""
    ec2 = f"arn:aws:ec2:{region}"
    owned = f"kubernetes.io/cluster/{cluster_name}"
    launched = [f"{ec2}:*:{kind}/*" for kind in LAUNCHED]
    launch = ["ec2:RunInstances", "ec2:CreateFleet"]
    owned_by_pool = {
        "StringEquals": {f"aws:ResourceTag/{owned}": "owned"},
        "StringLike": {f"aws:ResourceTag/{NODE_POOL_TAG}": "*"},
    }
    requested_for_pool = {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
    }
    return [
        iam.allow(
            launch,
            [f"{ec2}::image/*", f"{ec2}::snapshot/*"]
            + [f"{ec2}:*:{kind}/*" for kind in LAUNCHED_FROM],
            sid="AllowScopedEC2InstanceAccessActions",
        ),
        iam.allow(
            launch,
            f"{ec2}:*:launch-template/*",
            sid="AllowScopedEC2LaunchTemplateAccessActions",
            condition=owned_by_pool,
        ),
        iam.allow(
            [*launch, "ec2:CreateLaunchTemplate"],
            launched,
            sid="AllowScopedEC2InstanceActionsWithTags",
            condition={
                "StringEquals": requested_for_pool,
                "StringLike": {f"aws:RequestTag/{NODE_POOL_TAG}": "*"},
            },
        ),
        iam.allow(
            "ec2:CreateTags",
            launched,
            sid="AllowScopedResourceCreationTagging",
            condition={
                "StringEquals": {
                    **requested_for_pool,
                    "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"],
                },
                "StringLike": {f"aws:RequestTag/{NODE_POOL_TAG}": "*"},
            },
        ),
        iam.allow(
            "ec2:CreateTags",
            f"{ec2}:*:instance/*",
            sid="AllowScopedResourceTagging",
            condition={
                **owned_by_pool,
                "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster_name},
                "ForAllValues:StringEquals": {
                    "aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]
                },
            },
        ),
        iam.allow(
            ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
            [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
            sid="AllowScopedDeletion",
            condition=owned_by_pool,
        ),
    ]


def _instance_profiles(
    region: str, account: str, cluster_name: str, node_role_arn: str
) -> list[dict[str, Any]]:
    """Hand the node role to EC2, in instance profiles of an EC2NodeClass of this cluster."""
    profiles = f"arn:aws:iam::{account}:instance-profile/*"
    owned = f"kubernetes.io/cluster/{cluster_name}"
    profile_of_class = {
        f"aws:ResourceTag/{owned}": "owned",
        "aws:ResourceTag/topology.kubernetes.io/region": region,
    }
    profile_requested = {
        f"aws:RequestTag/{owned}": "owned",
        "aws:RequestTag/eks:eks-cluster-name": cluster_name,
        "aws:RequestTag/topology.kubernetes.io/region": region,
    }
    return [
        iam.allow(
            "iam:PassRole",
            node_role_arn,
            sid="AllowPassingInstanceRole",
            condition={"StringEquals": {"iam:PassedToService": list(EC2_SERVICES)}},
        ),
        iam.allow(
            "iam:CreateInstanceProfile",
            profiles,
            sid="AllowScopedInstanceProfileCreationActions",
            condition={
                "StringEquals": profile_requested,
                "StringLike": {f"aws:RequestTag/{NODE_CLASS_TAG}": "*"},
            },
        ),
        iam.allow(
            "iam:TagInstanceProfile",
            profiles,
            sid="AllowScopedInstanceProfileTagActions",
            condition={
                "StringEquals": {**profile_of_class, **profile_requested},
                "StringLike": {
                    f"aws:ResourceTag/{NODE_CLASS_TAG}": "*",
                    f"aws:RequestTag/{NODE_CLASS_TAG}": "*",
                },
            },
        ),
        iam.allow(
            [
                "iam:AddRoleToInstanceProfile",
                "iam:RemoveRoleFromInstanceProfile",
                "iam:DeleteInstanceProfile",
            ],
            profiles,
            sid="AllowScopedInstanceProfileActions",
            condition={
                "StringEquals": profile_of_class,
                "StringLike": {f"aws:ResourceTag/{NODE_CLASS_TAG}": "*"},
            },
        ),
    ]


def karpenter_controller_policy(
    region: str, account: str, cluster_name: str, node_role_arn: str, queue_arn: str
) -> dict[str, Any]:
    """The controller's rights in ``region`` for ``cluster_name``: launch and end nodes
    that run as ``node_role_arn``, read the interruption queue ``queue_arn``."""
    profiles = f"arn:aws:iam::{account}:instance-profile/*"
    cluster_arn = f"arn:aws:eks:{region}:{account}:cluster/{cluster_name}"
    return iam.document(
        *_node_lifecycle(region, cluster_name),
        *_instance_profiles(region, account, cluster_name, node_role_arn),
        # EKS integration: the API server's endpoint.
        iam.allow("eks:DescribeCluster", cluster_arn, sid="AllowAPIServerEndpointDiscovery"),
        # Interruption: the queue EventBridge fills.
        iam.allow(
            ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"],
            queue_arn,
            sid="AllowInterruptionQueueActions",
        ),
        # Zonal shift: whether ARC has moved the cluster's traffic out of a zone.
        iam.allow(
            "arc-zonal-shift:GetManagedResource",
            "*",
            sid="AllowZonalShiftStatusReadOnly",
            condition={"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}},
        ),
        # Resource discovery: instance types, prices, images, subnets, profiles.
        iam.allow(
            list(DISCOVERY),
            "*",
            sid="AllowRegionalReadActions",
            condition={"StringEquals": {"aws:RequestedRegion": region}},
        ),
        iam.allow(
            "ssm:GetParameter",
            f"arn:aws:ssm:{region}::parameter/aws/service/*",
            sid="AllowSSMReadActions",
        ),
        iam.allow("pricing:GetProducts", "*", sid="AllowPricingReadActions"),
        iam.allow("iam:ListInstanceProfiles", "*", sid="AllowUnscopedInstanceProfileListAction"),
        iam.allow("iam:GetInstanceProfile", profiles, sid="AllowInstanceProfileReadActions"),
    )
