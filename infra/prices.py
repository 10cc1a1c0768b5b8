"""``agentfleet prices refresh``: AWS's own prices for the catalog's instance types, read with
the user's credentials, written as a prices file a stack names (``agentfleet:fleet.prices``).

- On-demand: the AWS Price List Query API (``pricing:GetProducts`` on ``AmazonEC2``, served
  from us-east-1), one instance type and region at a time, with TERM_MATCH filters on
  instanceType, regionCode, operatingSystem=Linux, tenancy=Shared, preInstalledSw=NA and
  capacitystatus=Used: each ``PriceList`` entry is a JSON document whose
  ``terms.OnDemand.*.priceDimensions.*.pricePerUnit.USD`` is the hourly price.
- Spot: ``ec2:DescribeSpotPriceHistory`` for Linux/UNIX from now, which gives each zone's
  current price; the file keeps the median over the region's zones, marked with the time it
  was read (spot prices move by the hour: an estimate).

IAM: ``pricing:GetProducts`` and ``ec2:DescribeSpotPriceHistory``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from facts import aws_prices
from facts.catalog import CATALOG
from facts.money import exact
from infra.arguments import writable_file
from infra.config import ConfigError
from infra.pricing import PRICES_FILE_FORMAT

PRICING_REGION = "us-east-1"
"""The Price List Query API's endpoint (it also answers from eu-central-1 and ap-south-1)."""
FILTERS = {
    "operatingSystem": "Linux",
    "tenancy": "Shared",
    "preInstalledSw": "NA",
    "capacitystatus": "Used",
}
DEFAULT_OUTPUT = "prices.json"
REGION = re.compile(r"[a-z]{2}(-[a-z]+){1,3}-\d{1,2}")

Client = Any
"""A botocore client (``pricing`` or ``ec2``)."""


def instance_types() -> list[str]:
    """Every instance type the catalog's GPUs run on, once each."""
    names = (i.name for gpu in CATALOG.values() for i in gpu.instance_types)
    return sorted(dict.fromkeys(names))


def on_demand(pricing: Client, region: str, instance_type: str) -> Decimal | None:
    """The on-demand USD an hour AWS lists for ``instance_type`` in ``region``; None when it
    lists none (the type is not offered there)."""
    filters = {"instanceType": instance_type, "regionCode": region, **FILTERS}
    prices: set[Decimal] = set()
    token = None
    while True:
        request: dict[str, Any] = {
            "ServiceCode": "AmazonEC2",
            "Filters": [
                {"Type": "TERM_MATCH", "Field": field, "Value": value}
                for field, value in filters.items()
            ],
            "FormatVersion": "aws_v1",
        }
        if token:
            request["NextToken"] = token
        page = pricing.get_products(**request)
        for item in page.get("PriceList", []):
            prices.update(_hourly(json.loads(item) if isinstance(item, str) else item))
        token = page.get("NextToken")
        if not token:
            break
    if len(prices) > 1:
        listed = ", ".join(str(price) for price in sorted(prices))
        raise ValueError(f"AWS lists several on-demand prices for {instance_type} in {region}: "
                         f"{listed}")  # fmt: skip
    return prices.pop() if prices else None


def _hourly(product: dict[str, Any]) -> Iterable[Decimal]:
    """The hourly USD prices of one price-list product (its RunInstances SKU only: the
    Linux base, not a licensed or reserved variant)."""
    attributes = (product.get("product") or {}).get("attributes") or {}
    if attributes.get("operation", "RunInstances") != "RunInstances":
        return
    if attributes.get("marketoption", "OnDemand") != "OnDemand":
        return
    for term in ((product.get("terms") or {}).get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = Decimal(str((dimension.get("pricePerUnit") or {}).get("USD", "0")))
            if dimension.get("unit") == "Hrs" and usd > 0:
                yield usd.normalize()


def spot(ec2: Client, types: Sequence[str], now: datetime) -> dict[str, Decimal]:
    """The median over zones of each type's current spot price (Linux/UNIX)."""
    latest: dict[tuple[str, str], tuple[datetime, Decimal]] = {}
    token = None
    while True:
        request: dict[str, Any] = {
            "InstanceTypes": list(types),
            "ProductDescriptions": ["Linux/UNIX"],
            "StartTime": now,
        }
        if token:
            request["NextToken"] = token
        page = ec2.describe_spot_price_history(**request)
        for entry in page.get("SpotPriceHistory", []):
            key = (entry["InstanceType"], entry["AvailabilityZone"])
            seen = latest.get(key)
            if seen is None or entry["Timestamp"] > seen[0]:
                latest[key] = (entry["Timestamp"], Decimal(entry["SpotPrice"]))
        token = page.get("NextToken")
        if not token:
            break
    by_type: dict[str, list[Decimal]] = {}
    for (name, _zone), (_, price) in latest.items():
        by_type.setdefault(name, []).append(price)
    return {name: statistics.median(prices).normalize() for name, prices in by_type.items()}


def refresh(
    regions: Sequence[str],
    pricing: Client,
    ec2_for: Callable[[str], Client],
    now: datetime,
    progress: Callable[[str], None] = lambda _: None,
) -> dict[str, Any]:
    """A prices file's document for ``regions``: each catalog type AWS offers there, its
    on-demand price and its spot estimate."""
    types = instance_types()
    document: dict[str, Any] = {
        "format": PRICES_FILE_FORMAT,
        "source": "AWS Price List Query API (pricing:GetProducts) and ec2:DescribeSpotPriceHistory",
        "asOf": now.date().isoformat(),
        "spotAsOf": now.isoformat(timespec="seconds"),
        "regions": {},
    }
    for index, region in enumerate(regions, start=1):
        progress(f"[{index}/{len(regions)}] {region}: on-demand prices of {len(types)} types")
        listed = {name: on_demand(pricing, region, name) for name in types}
        offered = [name for name, price in listed.items() if price is not None]
        progress(f"[{index}/{len(regions)}] {region}: spot prices")
        spots = spot(ec2_for(region), offered, now) if offered else {}
        document["regions"][region] = {
            name: {"onDemand": _text(listed[name]), "spot": _text(spots.get(name))}
            for name in offered
        }
    return document


def _text(price: Decimal | None) -> str | None:
    """A price as the file keeps it: exact, no exponent, no trailing zeros."""
    return None if price is None else exact(price)


def add_parser(commands: Any) -> None:
    prices = commands.add_parser(
        "prices",
        help="AWS's prices for the catalog's instance types",
        description="Prices for the plan, the simulator, the cost tags and the budget.",
        allow_abbrev=False,
    )
    actions = prices.add_subparsers(dest="action", required=True, metavar="ACTION")
    refresh_parser = actions.add_parser(
        "refresh",
        help="read AWS's price list and spot price history into a prices file",
        description="Read AWS's on-demand price list (pricing:GetProducts) and the current "
        "spot prices (ec2:DescribeSpotPriceHistory) of the catalog's instance types with "
        "your AWS credentials, and write a prices file; name it in a stack as "
        "agentfleet:fleet.prices.",
        allow_abbrev=False,
    )
    refresh_parser.add_argument(
        "--region",
        action="append",
        dest="regions",
        metavar="R",
        help=f"a region to price (repeat it); default: {', '.join(aws_prices.ON_DEMAND)}",
    )
    refresh_parser.add_argument(
        "--output",
        type=Path,
        default=Path(DEFAULT_OUTPUT),
        metavar="FILE",
        help=f"the prices file to write (default: {DEFAULT_OUTPUT})",
    )


def run(args: argparse.Namespace, clients: Callable[[str, str], Client] | None = None) -> int:
    """Refresh and write the file; exit 2 when AWS cannot be read with these credentials."""
    import botocore.exceptions
    import botocore.session

    def client(service: str, region: str) -> Client:
        return botocore.session.get_session().create_client(service, region_name=region)

    make = clients or client
    writable_file(args.output, "--output")
    regions = args.regions or list(aws_prices.ON_DEMAND)
    for region in regions:
        if not REGION.fullmatch(region):
            raise ConfigError([("--region", f"{region!r} is not an AWS region (e.g. us-east-1)")])
    try:
        document = refresh(
            regions,
            make("pricing", PRICING_REGION),
            lambda region: make("ec2", region),
            datetime.now(UTC),
            progress=lambda line: print(line, file=sys.stderr, flush=True),
        )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as error:
        raise ConfigError([("aws", f"cannot read AWS's prices: {error}")]) from None
    except (ValueError, KeyError, TypeError) as error:  # an answer not shaped as documented
        raise ConfigError([("aws", f"AWS's answer could not be read: {error}")]) from None
    try:
        args.output.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise ConfigError([("--output", f"cannot write {args.output}: {error.strerror}")]) from None
    priced = sum(len(types) for types in document["regions"].values())
    print(f"wrote {args.output}: {priced} instance prices in {len(regions)} region(s)")
    return 0
