"""AWS's on-demand prices for the catalog's instance types, held to AWS's price list as
published (aws/karpenter-provider-aws ``pkg/providers/pricing/zz_generated.pricing_aws.go``,
generated from the AWS Price List API for us-east-1 on 2026-07-20; instances.vantage.sh for
the other regions, 2026-08-26)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from facts import aws_prices
from facts.catalog import CATALOG

REGIONS = (
    "us-east-1",
    "us-east-2",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-northeast-1",
    "ap-southeast-2",
)


@pytest.mark.parametrize(
    ("instance_type", "price"),
    [
        ("g6e.2xlarge", "2.24208"),  # one L40S: about three times the seed's $0.72
        ("p4de.24xlarge", "27.44705"),  # eight A100 80GB, after June 2025's cut (40.96575)
        ("p5.48xlarge", "55.04"),  # eight H100, after June 2025's cut (98.32)
        ("p5.4xlarge", "6.88"),  # one H100, offered since August 2025
    ],
)
def test_us_east_1_is_aws_published_on_demand_price(instance_type: str, price: str) -> None:
    assert aws_prices.on_demand("us-east-1", instance_type) == Decimal(price)


def test_every_catalog_instance_type_has_a_us_east_1_price() -> None:
    types = {i.name for gpu in CATALOG.values() for i in gpu.instance_types}
    assert types == set(aws_prices.ON_DEMAND["us-east-1"])


def test_the_table_covers_the_regions_a_stack_may_name() -> None:
    assert tuple(aws_prices.ON_DEMAND) == REGIONS
    assert aws_prices.on_demand("eu-west-1", "g6e.2xlarge") is None  # not offered there
    assert aws_prices.on_demand("mars-1", "g6e.2xlarge") is None


def test_aws_prices_the_one_gpu_p5_at_an_eighth_of_the_eight() -> None:
    """A check against the price list's own structure: the single-H100 p5.4xlarge is priced
    per GPU like the p5.48xlarge in every region that offers both."""
    for region, prices in aws_prices.ON_DEMAND.items():
        if "p5.4xlarge" in prices and "p5.48xlarge" in prices:
            assert prices["p5.48xlarge"] / 8 == prices["p5.4xlarge"], region


def test_regions_price_a_type_no_lower_than_us_east_1() -> None:
    us = aws_prices.ON_DEMAND["us-east-1"]
    for region, prices in aws_prices.ON_DEMAND.items():
        for instance_type, price in prices.items():
            assert price >= us[instance_type], (region, instance_type)
