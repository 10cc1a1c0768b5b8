"""Security: an EKS cluster envelope-encrypts Kubernetes secrets with a KMS key."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    EKS_CLUSTER,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    same,
    sandbox_cluster,
    sandbox_cluster_registration,
    stack_resources,
)

NAME = "eks-secrets-encryption"
SUBJECT = (EKS_CLUSTER, "cluster-cluster", "sandbox")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "eks-secrets-ok": (EKS_CLUSTER, sandbox_cluster, same, []),
    "eks-secrets-none": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: p.pop("encryptionConfig"),
        [
            "Kubernetes secrets are not envelope-encrypted (no encryptionConfig); want a KMS key "
            "for secrets. Set encryptionConfig with provider.keyArn and resources: [secrets]."
        ],
    ),
    "eks-secrets-other-resources": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: p["encryptionConfig"].update(resources=["configmaps"]),
        ['encryptionConfig does not cover secrets; add "secrets" to its resources.'],
    ),
    "eks-secrets-no-key": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: p["encryptionConfig"]["provider"].pop("keyArn"),
        ["encryptionConfig names no KMS key; set provider.keyArn."],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """The sandbox's cluster as a hand-written program might declare it: no KMS for secrets."""
    registrations = stack_resources("sandbox")
    del sandbox_cluster_registration(registrations).inputs["encryptionConfig"]
    return registrations
