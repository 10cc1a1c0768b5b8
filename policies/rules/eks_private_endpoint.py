"""Security: an EKS cluster's API endpoint is private, or public only to given CIDRs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import EKS_CLUSTER
from policies.building import PolicyMeta, Report, policy
from policies.properties import dig, items

OPEN = frozenset({"0.0.0.0/0", "::/0"})


META = PolicyMeta(
    name="eks-private-endpoint",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:cluster.publicAccessCidrs",
        "agentfleet:cluster",
    ),
    description="An EKS cluster's API endpoint is private, or public only to given CIDRs, and "
    "private access is on.",
    remediation="Set vpcConfig.endpointPrivateAccess: true and either endpointPublicAccess: "
    "false or publicAccessCidrs limited to your networks (agentfleet:cluster.publicAccessCidrs).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != EKS_CLUSTER:
        args.not_applicable("not an EKS cluster")
    vpc = args.props.get("vpcConfig")
    if dig(vpc, "endpointPrivateAccess") is not True:
        report(
            "the API endpoint has no private access (endpointPrivateAccess is not true); nodes "
            "and controllers would reach the API over the internet. Set "
            "vpcConfig.endpointPrivateAccess: true."
        )
    if dig(vpc, "endpointPublicAccess") is False:
        return
    # EKS opens the public endpoint unless told otherwise, to every address by default.
    cidrs = [str(cidr) for cidr in items(dig(vpc, "publicAccessCidrs"))]
    if not cidrs or OPEN.intersection(cidrs):
        report(
            "the API endpoint is public to the whole internet; want it private, or public only "
            "to given CIDRs. Set vpcConfig.endpointPublicAccess: false, or publicAccessCidrs "
            "to your networks (agentfleet:cluster.publicAccessCidrs)."
        )


POLICY = policy(META, check)
