"""What an instance-hour costs, from the price list a stack names (``agentfleet:fleet.prices``):

- ``aws`` (the default): AWS's on-demand price list as shipped (``facts.aws_prices``), no
  spot prices;
- ``seed``: the seed's list prices per GPU-hour (the catalog's, a GPU cloud's), for a fleet
  priced like the seed's;
- a prices file that ``agentfleet prices refresh`` wrote from the account's own view of
  AWS's price list and spot price history.

A tier's ``pricePerGpuHour`` and ``spotPricePerGpuHour`` win over any of them
(``tier_prices``), and its capacity follows from them (``capacity_for``: K1, K2). Plain
data, no Pulumi; the planner asks for each tier's instance type.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from facts import aws_prices
from facts.catalog import CATALOG, PRICE_DATE, Capacity, Gpu, InstanceType
from infra.config import ConfigError, TierConfig, project_root
from infra.config.fields import MAX_MONEY
from infra.fitting import FitError

Source = Literal["aws", "seed", "file"]
PRICES_FILE_FORMAT = "agentfleet-prices/1"
DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_PRICES_FILE_BYTES = 4 * 2**20


class PricesError(ValueError):
    """A prices file that cannot be read, or a price list with no price for a type."""


@dataclass(frozen=True)
class InstancePrice:
    """USD an instance-hour."""

    on_demand: Decimal
    spot: Decimal | None = None


@dataclass(frozen=True)
class PriceList:
    """The prices of one region."""

    source: Source
    region: str | None
    """None for the seed's prices, which are the same everywhere."""
    as_of: str
    instances: Mapping[str, InstancePrice] = field(default_factory=dict)
    """USD an instance-hour by instance type; empty for ``seed`` (priced per GPU)."""
    spot_as_of: str | None = None
    """When the spot figures were read (they move hourly: an estimate)."""
    path: str | None = None

    def per_gpu(self, gpu: Gpu, instance: InstanceType) -> tuple[Decimal, Decimal | None]:
        """On-demand and spot USD a GPU-hour of ``gpu`` on ``instance``; PricesError when the
        list has no on-demand price for the type in its region."""
        if self.source == "seed":
            return gpu.on_demand_price, gpu.spot_price
        price = self.instances.get(instance.name)
        if price is None:
            listed = f"the prices file {self.path}" if self.source == "file" else "AWS's price list"
            raise PricesError(
                f"{listed} (as of {self.as_of}) has no on-demand price for {instance.name} in "
                f"{self.region} (AWS may not offer it there)"
            )
        spot = None if price.spot is None else price.spot / instance.gpus
        return price.on_demand / instance.gpus, spot

    def describe(self) -> str:
        if self.source == "seed":
            return f"the seed's list prices ({self.as_of})"
        if self.source == "file":
            return f"the prices file {self.path} (AWS's price list as of {self.as_of})"
        return f"AWS's price list as of {self.as_of}"

    def to_json(self) -> dict[str, Any]:
        shown: dict[str, Any] = {"source": self.source, "region": self.region, "asOf": self.as_of}
        if self.spot_as_of is not None:
            shown["spotAsOf"] = self.spot_as_of
        if self.path is not None:
            shown["file"] = self.path
        return shown


def seed_prices(region: str | None = None) -> PriceList:
    return PriceList("seed", region, PRICE_DATE)


def aws_price_list(region: str) -> PriceList:
    """AWS's on-demand prices as shipped for ``region``. The shipped table has no spot
    prices (they move by the hour and by zone): a prices file from ``agentfleet prices
    refresh`` or a tier's ``spotPricePerGpuHour`` gives them."""
    instances = {
        name: InstancePrice(price) for name, price in aws_prices.ON_DEMAND.get(region, {}).items()
    }
    return PriceList("aws", region, aws_prices.PRICES_AS_OF, MappingProxyType(instances))


def price_list(setting: str, region: str, base: Path | None = None) -> PriceList:
    """The prices ``agentfleet:fleet.prices`` names for ``region``: ``aws``, ``seed`` or a
    prices file (a relative path from ``base``, by default the project's folder, the one
    holding Pulumi.yaml: the same whether ``agentfleet`` or the Pulumi CLI, which runs the
    program from ``infra/``, reads it)."""
    if setting == "aws":
        return aws_price_list(region)
    if setting == "seed":
        return seed_prices(region)
    if base is None:
        try:
            base = project_root()
        except ConfigError:
            base = Path.cwd()
    return read_prices_file(base / setting, region, setting)


def read_prices_file(path: Path, region: str, shown: str | None = None) -> PriceList:
    """The prices of ``region`` in a prices file; PricesError saying what is wrong."""
    name = shown or str(path)
    try:
        if path.stat().st_size > MAX_PRICES_FILE_BYTES:
            raise PricesError(f"{name} is larger than a prices file can be (4 MiB)")
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PricesError(f"no prices file at {name}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PricesError(f"cannot read the prices file {name}: {error}") from None
    if not isinstance(document, dict) or document.get("format") != PRICES_FILE_FORMAT:
        raise PricesError(
            f"{name} is not a prices file (format {PRICES_FILE_FORMAT}, as "
            "agentfleet prices refresh writes)"
        )
    regions = document.get("regions")
    if not isinstance(regions, dict) or region not in regions:
        listed = ", ".join(sorted(map(str, regions))) if isinstance(regions, dict) else "none"
        raise PricesError(f"{name} has no prices for {region} (it has: {listed})")
    types = regions[region]
    if not isinstance(types, dict):
        raise PricesError(f"{name}: regions.{region} must map instance types to their prices")
    instances = {}
    for type_name, entry in types.items():
        where = f"{name}: regions.{region}.{type_name}"
        if not isinstance(entry, dict):
            raise PricesError(f"{where} must be an object with onDemand (and spot) prices")
        instances[str(type_name)] = InstancePrice(
            _money(entry.get("onDemand"), f"{where}.onDemand"),
            _money(entry.get("spot"), f"{where}.spot", optional=True),
        )
    as_of, spot_as_of = document.get("asOf"), document.get("spotAsOf")
    if not isinstance(as_of, str) or not DATE.match(as_of):
        raise PricesError(f"{name}: asOf must be the date the prices were read (YYYY-MM-DD)")
    if spot_as_of is not None and (not isinstance(spot_as_of, str) or not DATE.match(spot_as_of)):
        raise PricesError(f"{name}: spotAsOf must be when the spot prices were read (ISO 8601)")
    return PriceList(
        "file", region, as_of, MappingProxyType(instances), spot_as_of=spot_as_of, path=name
    )


def _money(value: object, where: str, optional: bool = False) -> Any:
    """A price in USD from a prices file: a positive decimal of at most a million."""
    if value is None and optional:
        return None
    numeric = isinstance(value, str | int | float) and not isinstance(value, bool)
    try:
        price = Decimal(str(value)) if numeric else None
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or not 0 < price <= MAX_MONEY:
        raise PricesError(
            f"{where} must be a price in USD above 0 and at most {MAX_MONEY:,} (got {value!r})"
        )
    return price


# --- a tier's prices and capacity ---------------------------------------------------


def default_capacity(user_facing: bool, on_demand: Decimal, spot: Decimal | None) -> Capacity:
    """K1: on-demand for user-facing tiers. K2: spot for background tiers only where spot
    is cheaper than on-demand."""
    if not user_facing and spot is not None and spot < on_demand:
        return "spot"
    return "on-demand"


def tier_prices(
    tier: TierConfig, instance: InstanceType, prices: PriceList
) -> tuple[Decimal, Decimal | None]:
    """On-demand and spot USD a GPU-hour: the stack's own where it sets them, else the price
    list's for the instance type; FitError (key ``pricePerGpuHour``) when neither has one."""
    gpu = CATALOG[tier.gpu]
    try:
        listed, listed_spot = prices.per_gpu(gpu, instance)
    except PricesError as error:
        if tier.price_per_gpu_hour is None:
            hint = "set pricePerGpuHour, or agentfleet:fleet.prices: seed"
            raise FitError("pricePerGpuHour", f"{error}; {hint}") from None
        listed, listed_spot = tier.price_per_gpu_hour, None
    spot = (
        tier.spot_price_per_gpu_hour
        if "spot_price_per_gpu_hour" in tier.model_fields_set
        else listed_spot
    )
    return tier.price_per_gpu_hour or listed, spot


def capacity_for(tier: TierConfig, on_demand: Decimal, spot: Decimal | None) -> Capacity:
    """The capacity the tier asks for; FitError when spot is asked for with no spot price."""
    where = "the stack" if "spot_price_per_gpu_hour" in tier.model_fields_set else "the prices"
    if tier.capacity == "spot" and spot is None:
        raise FitError(
            "capacity",
            f"spot capacity needs a spot price and {where} have none for {tier.gpu}; set "
            "spotPricePerGpuHour or use on-demand",
        )
    if tier.burst is not None and spot is None:
        raise FitError(
            "burst.capacity",
            f"a burst onto spot needs a spot price and {where} have none for {tier.gpu}; "
            "set spotPricePerGpuHour",
        )
    if tier.capacity is not None:
        return tier.capacity
    if tier.burst is not None:
        return "on-demand"
    return default_capacity(tier.user_facing, on_demand, spot)
