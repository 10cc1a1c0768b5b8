"""What the Karpenter controller needs besides its chart: the role its nodes run as (with the
EKS access entry that lets them join), and the interruption queue EventBridge fills with
the warnings EC2 gives before it takes an instance."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components import iam
from components.common import short_name
from facts import karpenter


@dataclass(frozen=True)
class NodeRole:
    role: aws.iam.Role
    attachments: list[aws.iam.RolePolicyAttachment]
    access_entry: aws.eks.AccessEntry


def node_role(
    prefix: str,
    *,
    cluster_name: str,
    cni_on_node: bool,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> NodeRole:
    """The role Karpenter's nodes run as (``<prefix>-node-role``): EC2 assumes it, with
    AWS's worker-node policies (and the CNI's where ``cni_on_node``), and an EC2_LINUX
    access entry so a node running as it can join ``cluster_name``. Karpenter makes the
    instance profiles for it."""
    role = aws.iam.Role(
        f"{prefix}-node-role",
        description=f"GPU nodes Karpenter launches for {cluster_name}",
        assume_role_policy=iam.trust({"Service": "ec2.amazonaws.com"}),
        tags=dict(tags),
        opts=opts,
    )
    policies = karpenter.NODE_ROLE_POLICIES + ((karpenter.CNI_POLICY,) if cni_on_node else ())
    attachments = [
        aws.iam.RolePolicyAttachment(
            f"{prefix}-node-{policy}",
            role=role.name,
            policy_arn=f"arn:aws:iam::aws:policy/{policy}",
            opts=opts,
        )
        for policy in policies
    ]
    entry = aws.eks.AccessEntry(
        f"{prefix}-node-access",
        cluster_name=cluster_name,
        principal_arn=role.arn,
        type="EC2_LINUX",
        tags=dict(tags),
        opts=opts,
    )
    return NodeRole(role, attachments, entry)


def interruption_queue_policy(queue_arn: str) -> dict[str, Any]:
    """EventBridge (and SQS itself) may send to the queue; nothing reaches it but over TLS."""
    return {
        "Version": iam.VERSION,
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {
                "Sid": "EventBridgeSends",
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }


def interruption_queue_name(cluster_name: str) -> str:
    """The cluster's interruption queue: within SQS's 80 characters, one per cluster."""
    return short_name(cluster_name, "karpenter", limit=80)


def event_pattern(source: str, detail_type: str) -> str:
    return json.dumps({"source": [source], "detail-type": [detail_type]})


@dataclass(frozen=True)
class InterruptionQueue:
    queue: aws.sqs.Queue
    policy: aws.sqs.QueuePolicy
    rules: dict[str, aws.cloudwatch.EventRule]
    targets: list[aws.cloudwatch.EventTarget]


def interruption_queue(
    prefix: str, *, cluster_name: str, tags: Mapping[str, str], opts: pulumi.ResourceOptions
) -> InterruptionQueue:
    """The queue Karpenter reads EC2's warnings from (``<prefix>-interruptions``, named
    after ``cluster_name``, SSE-SQS, five minutes' retention), with one EventBridge rule
    per kind of warning (``facts.karpenter.INTERRUPTION_EVENTS``) sending to it."""
    queue = aws.sqs.Queue(
        f"{prefix}-interruptions",
        name=interruption_queue_name(cluster_name),
        message_retention_seconds=karpenter.INTERRUPTION_RETENTION_SECONDS,
        sqs_managed_sse_enabled=True,
        tags=dict(tags),
        opts=opts,
    )
    policy = aws.sqs.QueuePolicy(
        f"{prefix}-interruptions",
        queue_url=queue.url,
        policy=queue.arn.apply(lambda arn: json.dumps(interruption_queue_policy(arn))),
        opts=opts,
    )
    rules, targets = {}, []
    for kind, (source, detail_type) in karpenter.INTERRUPTION_EVENTS.items():
        rule = aws.cloudwatch.EventRule(
            f"{prefix}-{kind}",
            description=f"{detail_type} events, to Karpenter's interruption queue",
            event_pattern=event_pattern(source, detail_type),
            tags=dict(tags),
            opts=opts,
        )
        rules[kind] = rule
        targets.append(
            aws.cloudwatch.EventTarget(
                f"{prefix}-{kind}",
                rule=rule.name,
                target_id="KarpenterInterruptionQueueTarget",
                arn=queue.arn,
                opts=opts,
            )
        )
    return InterruptionQueue(queue, policy, rules, targets)
