"""IAM policy documents, built the same way by every component that writes one, and the
Pod Identity role of a service account."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

VERSION = "2012-10-17"
POD_IDENTITY = {"Service": "pods.eks.amazonaws.com"}
# EKS Pod Identity tags the session with the pod's cluster, namespace and account.
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


def allow(
    actions: str | Sequence[str],
    resource: str | Sequence[str],
    *,
    sid: str | None = None,
    condition: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One Allow statement."""
    statement: dict[str, Any] = {"Sid": sid} if sid else {}
    statement.update(
        Effect="Allow",
        Action=actions if isinstance(actions, str) else list(actions),
        Resource=resource if isinstance(resource, str) else list(resource),
    )
    if condition:
        statement["Condition"] = dict(condition)
    return statement


def tls_only(bucket_arn: str) -> dict[str, Any]:
    """A bucket policy's statement refusing every request not made over TLS."""
    return {
        "Sid": "TlsOnly",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def document(*statements: Mapping[str, Any]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [dict(s) for s in statements]}


def trust(
    principal: Mapping[str, str],
    actions: str | Sequence[str] = "sts:AssumeRole",
    condition: Mapping[str, Any] | None = None,
) -> str:
    """A role's trust policy: who may assume it (and on what ``condition``)."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": dict(principal),
        "Action": actions if isinstance(actions, str) else list(actions),
    }
    if condition:
        statement["Condition"] = dict(condition)
    return json.dumps(document(statement))


def pod_identity_trust(cluster_name: str, namespace: str, service_account: str) -> str:
    """A role that EKS Pod Identity hands to the pods of one service account, and no other:
    Pod Identity tags the session it asks STS for with the pod's cluster, namespace and
    service account (EKS user guide, "Create IAM role with trust policy required by EKS
    Pod Identity"), and the trust holds it to them, so an association made elsewhere in
    the account cannot take the role."""
    return trust(
        POD_IDENTITY,
        POD_IDENTITY_ACTIONS,
        {
            "StringEquals": {
                "aws:RequestTag/eks-cluster-name": cluster_name,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account,
            }
        },
    )


@dataclass(frozen=True)
class PodIdentity:
    role: aws.iam.Role
    policy: aws.iam.RolePolicy
    association: aws.eks.PodIdentityAssociation


def pod_identity(
    prefix: str,
    *,
    description: str,
    policy: pulumi.Input[str],
    cluster_name: str,
    namespace: str,
    service_account: str,
    tags: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> PodIdentity:
    """A role that EKS Pod Identity gives the pods of ``namespace/service_account``, with
    one inline ``policy``: ``<prefix>-role``, ``<prefix>-policy``, ``<prefix>-pod-identity``.
    What runs as the account must wait for the association: Pod Identity fills credentials
    in only when a pod is created."""
    role = aws.iam.Role(
        f"{prefix}-role",
        description=description,
        assume_role_policy=pod_identity_trust(cluster_name, namespace, service_account),
        tags=dict(tags),
        opts=opts,
    )
    inline = aws.iam.RolePolicy(f"{prefix}-policy", role=role.id, policy=policy, opts=opts)
    association = aws.eks.PodIdentityAssociation(
        f"{prefix}-pod-identity",
        cluster_name=cluster_name,
        namespace=namespace,
        service_account=service_account,
        role_arn=role.arn,
        tags=dict(tags),
        opts=opts,
    )
    return PodIdentity(role, inline, association)
