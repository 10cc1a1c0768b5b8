"""Every role EKS Pod Identity hands out trusts only the service account it is associated
with: Pod Identity tags the STS session with the pod's cluster, namespace and service
account, and each trust policy holds the tags to its association's. Without that, any Pod
Identity association in the account (another team's, or one made for a pod of the user's
own image) could take a fleet role."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.offline.mocks import Registration, run_program
from tests.helpers import STACKS, stack_values

ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
ROLE = "aws:iam/role:Role"


def trusts(trust: dict[str, Any], session: dict[str, str]) -> bool:
    """IAM's evaluation of a trust policy for Pod Identity's AssumeRole with ``session``'s
    tags: an Allow for the service whose StringEquals conditions all hold."""
    for statement in trust["Statement"]:
        if statement.get("Principal") != {"Service": "pods.eks.amazonaws.com"}:
            continue
        tests = statement.get("Condition", {}).get("StringEquals", {})
        if all(session.get(key.removeprefix("aws:RequestTag/")) == v for key, v in tests.items()):
            return True
    return False


def role_of(registrations: list[Registration], association: Registration) -> Registration:
    return next(r for r in registrations if r.type == ROLE and r.urn in association.dependencies)


@pytest.mark.parametrize("stack", STACKS)
def test_each_role_trusts_only_the_service_account_it_is_associated_with(stack: str) -> None:
    registrations, _ = run_program(stack_values(stack), stack=stack)
    associations = [r for r in registrations if r.type == ASSOCIATION]
    assert len(associations) >= 4
    for association in associations:
        trust = json.loads(role_of(registrations, association).inputs["assumeRolePolicy"])
        own = {
            "eks-cluster-name": association.inputs["clusterName"],
            "kubernetes-namespace": association.inputs["namespace"],
            "kubernetes-service-account": association.inputs["serviceAccount"],
        }
        assert trusts(trust, own), association.name
        for key, other in (
            ("kubernetes-service-account", "mcp-server"),
            ("kubernetes-namespace", "default"),
            ("eks-cluster-name", "another-cluster"),
        ):
            assert not trusts(trust, {**own, key: other}), (association.name, key)
        assert not trusts(trust, {}), association.name  # session tags turned off
