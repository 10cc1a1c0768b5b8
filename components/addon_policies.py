"""The IAM policies of the add-ons' controllers, each through its own Pod Identity role:
least privilege, every change limited to the fleet's own resources."""

from __future__ import annotations

from typing import Any

from components import iam
from components.autoscaler import keda_role_path
from facts.labels import AUTOSCALER, ROLE


def keda_policy(account: str, cluster_name: str) -> dict[str, Any]:
    """The KEDA operator may assume the tiers' queue-reading roles, and nothing else."""
    return iam.document(
        iam.allow(
            "sts:AssumeRole",
            f"arn:aws:iam::{account}:role{keda_role_path(cluster_name)}*",
            sid="AssumeQueueReaders",
        )
    )


def load_balancer_controller_policy(region: str, account: str, vpc_id: str) -> dict[str, Any]:
    """What the controller needs to serve TargetGroupBindings, and only that: read load
    balancers and the network, register pod IPs in the fleet's target groups, and open
    the pods' security groups (in the cluster's VPC) to the load balancer's group."""
    describe = [
        f"elasticloadbalancing:Describe{what}"
        for what in ("LoadBalancers", "Listeners", "Tags", "TargetGroups",
                     "TargetGroupAttributes", "TargetHealth")
    ] + [
        f"ec2:Describe{what}"
        for what in ("AvailabilityZones", "Instances", "NetworkInterfaces", "SecurityGroups",
                     "Subnets", "Vpcs")
    ]  # fmt: skip
    return iam.document(
        # Describe calls take no resource-level permissions.
        iam.allow(describe, "*", sid="Describe"),
        iam.allow(
            ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            f"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/*/*",
            sid="RegisterPods",
            condition={"StringEquals": {f"aws:ResourceTag/{ROLE}": "load-balancer"}},
        ),
        iam.allow(
            ["ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress"],
            f"arn:aws:ec2:{region}:{account}:security-group/*",
            sid="OpenPodSecurityGroups",
            condition={"ArnEquals": {"ec2:Vpc": f"arn:aws:ec2:{region}:{account}:vpc/{vpc_id}"}},
        ),
    )


def alert_publisher_policy(topic_arn: str) -> dict[str, Any]:
    """Alertmanager may publish to the fleet's alert topic, and do nothing else: the topic
    is KMS-encrypted, so it may also have data keys made, through SNS and for that topic
    only (SNS's encryption context names the topic)."""
    _, partition, _, region, account, _ = topic_arn.split(":", 5)
    return iam.document(
        iam.allow("sns:Publish", topic_arn, sid="PublishAlerts"),
        iam.allow(
            ["kms:GenerateDataKey", "kms:Decrypt"],
            f"arn:{partition}:kms:{region}:{account}:key/*",
            sid="EncryptAlerts",
            condition={
                "StringEquals": {
                    "kms:ViaService": f"sns.{region}.amazonaws.com",
                    "kms:EncryptionContext:aws:sns:topicArn": topic_arn,
                }
            },
        ),
    )


def cluster_autoscaler_policy(region: str, account: str, cluster_name: str) -> dict[str, Any]:
    """Read groups and instance types anywhere (no resource-level permissions exist for
    those), but resize and terminate only in the Auto Scaling groups of this cluster's
    node groups (EKS tags them k8s.io/cluster-autoscaler/<cluster>: owned)."""
    describe = [
        "autoscaling:DescribeAutoScalingGroups",
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeLaunchConfigurations",
        "autoscaling:DescribeScalingActivities",
        "autoscaling:DescribeTags",
        "ec2:DescribeImages",
        "ec2:DescribeInstanceTypes",
        "ec2:DescribeLaunchTemplateVersions",
        "ec2:GetInstanceTypesFromInstanceRequirements",
    ]
    return iam.document(
        iam.allow(describe, "*", sid="Describe"),
        iam.allow(
            "eks:DescribeNodegroup",
            f"arn:aws:eks:{region}:{account}:nodegroup/{cluster_name}/*/*",
            sid="DescribeNodeGroups",
        ),
        iam.allow(
            ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"],
            "*",
            sid="ResizeOwnGroups",
            condition={"StringEquals": {f"aws:ResourceTag/{AUTOSCALER}/{cluster_name}": "owned"}},
        ),
    )
