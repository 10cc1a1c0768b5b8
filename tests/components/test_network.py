"""A new cluster's address plan (FleetCluster's pure core): the subnets of each zone,
none overlapping, all inside the VPC."""

from __future__ import annotations

import ipaddress

import pytest

from components.network import subnet_plan


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


@pytest.mark.parametrize("zones", [2, 3, 4, 5, 6])
def test_subnets_never_overlap_and_stay_in_the_vpc(zones: int) -> None:
    vpc = ipaddress.IPv4Network("10.40.0.0/16")
    private, public = subnet_plan(str(vpc), zones)
    nets = [ipaddress.IPv4Network(n) for n in private + public]
    assert len(nets) == 2 * zones
    assert all(net.subnet_of(vpc) for net in nets)
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])
