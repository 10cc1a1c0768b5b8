"""A new cluster's address plan (FleetCluster's pure core): the subnets of each zone,
none overlapping, all inside the VPC."""

from __future__ import annotations

import ipaddress

import pytest

from components.network import load_balancer_subnets, subnet_plan


@pytest.mark.parametrize(
    ("cidr", "zones", "private", "public"),
    [
        ("10.0.0.0/16", 3, ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"],
         ["10.0.224.0/22", "10.0.228.0/22", "10.0.232.0/22"]),
        ("172.16.0.0/20", 2, ["172.16.0.0/23", "172.16.2.0/23"],
         ["172.16.14.0/26", "172.16.14.64/26"]),
    ],
)  # fmt: skip
def test_subnet_plan(cidr: str, zones: int, private: list[str], public: list[str]) -> None:
    assert subnet_plan(cidr, zones) == (private, public)


@pytest.mark.parametrize("vpc", ["10.40.0.0/16", "172.16.0.0/20"])
@pytest.mark.parametrize("zones", [2, 3, 4, 5, 6])
def test_subnets_never_overlap_and_stay_in_the_vpc(zones: int, vpc: str) -> None:
    """Nodes, public and load balancers' subnets apart, the last big enough for an ALB (a
    /27 at least, with eight addresses free: AWS's minimum)."""
    private, public = subnet_plan(vpc, zones)
    balancers = load_balancer_subnets(vpc, zones)
    assert min(ipaddress.IPv4Network(b).num_addresses for b in balancers) >= 32
    nets = [ipaddress.IPv4Network(n) for n in private + public + balancers]
    assert len(nets) == 3 * zones
    assert all(net.subnet_of(ipaddress.IPv4Network(vpc)) for net in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
