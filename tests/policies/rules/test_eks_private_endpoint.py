"""Security: an EKS cluster's API endpoint is private, or public only to given CIDRs."""

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
    sandbox_with,
)

NAME = "eks-private-endpoint"
PUBLIC_TO_ALL = (
    "the API endpoint is public to the whole internet; want it private, or public only to "
    "given CIDRs. Set vpcConfig.endpointPublicAccess: false, or publicAccessCidrs to your "
    "networks (agentfleet:cluster.publicAccessCidrs)."
)
SUBJECT = (EKS_CLUSTER, "cluster-cluster", "sandbox")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "eks-private-ok": (EKS_CLUSTER, sandbox_cluster, same, []),
    "eks-private-only": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: p["vpcConfig"].update(endpointPublicAccess=False, publicAccessCidrs=None),
        [],
    ),
    "eks-public-to-all": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: p["vpcConfig"].update(publicAccessCidrs=["10.1.0.0/16", "0.0.0.0/0"]),
        [PUBLIC_TO_ALL],
    ),
    "eks-public-by-default": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: [
            p["vpcConfig"].pop("endpointPublicAccess"),
            p["vpcConfig"].pop("publicAccessCidrs"),
        ],
        [PUBLIC_TO_ALL],
    ),
    "eks-no-private-access": (
        EKS_CLUSTER,
        sandbox_cluster,
        lambda p: p["vpcConfig"].update(endpointPrivateAccess=False),
        [
            "the API endpoint has no private access (endpointPrivateAccess is not true); nodes "
            "and controllers would reach the API over the internet. Set "
            "vpcConfig.endpointPrivateAccess: true."
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return sandbox_with(lambda cluster: cluster.update(publicAccessCidrs=["0.0.0.0/0"]))
