"""Security: an EKS cluster envelope-encrypts Kubernetes secrets with a KMS key."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import EKS_CLUSTER, Report, dig, items, resource_policy


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


POLICY = resource_policy("eks-secrets-encryption", check)
