"""AWS's own on-demand prices for the catalog's instance types, per region: what an account
is billed for the nodes a stack declares (Linux, shared tenancy, no pre-installed software,
USD an instance-hour), as AWS's public price list gives them.

Sources, each read from the AWS price list:
- us-east-1: aws/karpenter-provider-aws ``pkg/providers/pricing/zz_generated.pricing_aws.go``
  (generated from the AWS Price List API at 2026-07-20T13:44:30Z, commit 6fc13b5236),
  matched row for row by instances.vantage.sh (snapshot of 2026-08-26) and by
  skypilot-org/skypilot-catalog ``catalogs/v8/aws/vms.csv``;
- the other regions: instances.vantage.sh (2026-08-26), spot-checked against the same
  skypilot catalog.

AWS cut P4 and P5 on-demand prices in June 2025 (p5.48xlarge $98.32 to $55.04 in us-east-1,
p4de.24xlarge $40.96575 to $27.44705); the figures here are after it. A type missing from a
region was found in neither source there: ``ec2:DescribeInstanceTypeOfferings`` says for
certain. The live figures come from ``pricing:GetProducts`` (TERM_MATCH on instanceType,
regionCode, operatingSystem=Linux, tenancy=Shared, preInstalledSw=NA, capacitystatus=Used).

The plan's default prices (``agentfleet:fleet.prices: aws``, ``infra.pricing``); no spot
prices are shipped (docs/capacity-and-cost.md, Prices).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

PRICES_AS_OF = "2026-08-26"
"""The date of the newest source."""

_G6E = (
    "g6e.xlarge",
    "g6e.2xlarge",
    "g6e.4xlarge",
    "g6e.8xlarge",
    "g6e.16xlarge",
    "g6e.12xlarge",
    "g6e.24xlarge",
    "g6e.48xlarge",
)


def _row(names: tuple[str, ...], prices: str) -> dict[str, Decimal]:
    return dict(zip(names, (Decimal(price) for price in prices.split()), strict=True))


_US = {
    **_row(_G6E, "1.861 2.24208 3.00424 4.52856 7.57719 10.49264 15.06559 30.13118"),
    "p4de.24xlarge": Decimal("27.44705"),
    "p5.4xlarge": Decimal("6.88"),
    "p5.48xlarge": Decimal("55.04"),
}
_US_EAST_2 = {key: price for key, price in _US.items() if key != "p4de.24xlarge"}

ON_DEMAND: Mapping[str, Mapping[str, Decimal]] = MappingProxyType(
    {
        "us-east-1": MappingProxyType(_US),
        "us-east-2": MappingProxyType(_US_EAST_2),
        "us-west-2": MappingProxyType(dict(_US)),
        "eu-west-1": MappingProxyType({}),
        "eu-central-1": MappingProxyType(
            {
                **_row(_G6E, "2.327 2.8035 3.75651 5.66252 9.47454 13.12002 18.83806 37.67612"),
                "p4de.24xlarge": Decimal("34.29122"),
            }
        ),
        "ap-northeast-1": MappingProxyType(
            {
                **_row(_G6E, "2.699 3.25168 4.35703 6.56775 10.98917 15.21742 21.84956 43.69912"),
                "p4de.24xlarge": Decimal("37.6223"),
                "p5.4xlarge": Decimal("8.6"),
                "p5.48xlarge": Decimal("68.8"),
            }
        ),
        "ap-southeast-2": MappingProxyType(
            {"p5.4xlarge": Decimal("8.944"), "p5.48xlarge": Decimal("71.552")}
        ),
    }
)
"""USD an instance-hour, by region and instance type."""


def on_demand(region: str, instance_type: str) -> Decimal | None:
    """AWS's on-demand price of ``instance_type`` in ``region``; None where the sources list
    none (the type is not offered there, or the region is not in the table)."""
    return ON_DEMAND.get(region, {}).get(instance_type)
