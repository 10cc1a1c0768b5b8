"""Security: an EKS cluster envelope-encrypts Kubernetes secrets with a KMS key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import EKS_CLUSTER
from policies.building import PolicyMeta, Report, policy
from policies.properties import dig, items

META = PolicyMeta(
    name="eks-secrets-encryption",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=("agentfleet:cluster",),
    description="An EKS cluster envelope-encrypts Kubernetes secrets with a KMS key.",
    remediation="Set encryptionConfig: provider.keyArn of a KMS key and resources: [secrets] "
    "(components.FleetCluster does).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != EKS_CLUSTER:
        args.not_applicable("not an EKS cluster")
    config = args.props.get("encryptionConfig")
    if not config:
        report(
            "Kubernetes secrets are not envelope-encrypted (no encryptionConfig); want a KMS "
            "key for secrets. Set encryptionConfig with provider.keyArn and resources: "
            "[secrets]."
        )
        return
    if "secrets" not in [str(resource) for resource in items(dig(config, "resources"))]:
        report('encryptionConfig does not cover secrets; add "secrets" to its resources.')
    if not dig(config, "provider", "keyArn"):
        report("encryptionConfig names no KMS key; set provider.keyArn.")


POLICY = policy(META, check)
