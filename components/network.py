"""The address plan of a new cluster's VPC (FleetCluster's pure core): plain functions,
no Pulumi."""

from __future__ import annotations

import ipaddress


def subnet_plan(vpc_cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """(private, public) subnet CIDRs, one of each per availability zone.

    The VPC is cut in eight; each zone's private subnet takes one eighth (a /19 of a
    /16: 8,190 addresses, since the VPC CNI gives every pod an address of its own), and
    the last eighth is cut again in eight for the public subnets, which hold only the
    NAT gateways and internet-facing load balancers.
    """
    network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    if not 2 <= zones <= 7:
        raise ValueError(f"{zones} availability zones: the plan holds 2 to 7")
    eighths = list(network.subnets(prefixlen_diff=3))
    public = list(eighths[-1].subnets(prefixlen_diff=3))
    return [str(net) for net in eighths[:zones]], [str(net) for net in public[:zones]]


def load_balancer_subnets(vpc_cidr: str, zones: int) -> list[str]:
    """Internal load balancers' subnet CIDRs, one per availability zone, where no node and
    so no pod ever gets an address: the seventh eighth of the VPC (the private subnets
    take at most six), cut in eight. The vLLM pods can then let in these blocks alone and
    know it is the load balancer calling (a /22 of a /16, a /26 of a /20; an ALB needs a
    /27 with eight free addresses)."""
    network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    if not 2 <= zones <= 6:
        raise ValueError(f"{zones} availability zones: load balancer subnets hold 2 to 6")
    seventh = list(network.subnets(prefixlen_diff=3))[6]
    return [str(net) for net in list(seventh.subnets(prefixlen_diff=3))[:zones]]
