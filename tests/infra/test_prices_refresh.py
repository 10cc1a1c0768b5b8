"""``agentfleet prices refresh`` against botocore's Stubber: responses shaped as AWS returns
them (a PriceList of JSON strings, SpotPriceHistory per zone), no network; the file it
writes is the one ``plan`` then prices the fleet with."""

from __future__ import annotations

import argparse
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.stub import ANY, Stubber

from infra import prices
from infra.config import ConfigError, parse_stack_config
from infra.plan import plan_fleet
from tests.helpers import stack_values

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
REGION = "us-east-1"
# What the stub's price list says: deliberately not the shipped table's figures.
ON_DEMAND = {"g6e.2xlarge": "2.5", "p4de.24xlarge": "30", "p5.4xlarge": "7.2"}
SPOT = {"g6e.2xlarge": ["0.91", "0.95", "1.30"]}


def product(instance_type: str, usd: str, operation: str = "RunInstances") -> str:
    """One PriceList entry as GetProducts returns it: a JSON document in a string."""
    sku = "SKU" + instance_type.replace(".", "")
    return json.dumps(
        {
            "product": {
                "productFamily": "Compute Instance",
                "attributes": {
                    "instanceType": instance_type,
                    "regionCode": REGION,
                    "operatingSystem": "Linux",
                    "tenancy": "Shared",
                    "preInstalledSw": "NA",
                    "capacitystatus": "Used",
                    "operation": operation,
                    "marketoption": "OnDemand",
                },
                "sku": sku,
            },
            "serviceCode": "AmazonEC2",
            "terms": {
                "OnDemand": {
                    f"{sku}.JRTCKXETXF": {
                        "priceDimensions": {
                            f"{sku}.JRTCKXETXF.6YS6EN2CT7": {
                                "unit": "Hrs",
                                "pricePerUnit": {"USD": f"{Decimal(usd):.10f}"},
                                "description": f"${usd} per On Demand Linux {instance_type}",
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                    }
                }
            },
            "version": "20261201000000",
            "publicationDate": "2026-12-01T00:00:00Z",
        }
    )


def client(service: str, region: str) -> Any:
    session = botocore.session.get_session()
    return session.create_client(
        service, region_name=region, aws_access_key_id="test", aws_secret_access_key="test"
    )


def stubbed() -> tuple[Any, Any, list[Stubber]]:
    pricing, ec2 = client("pricing", "us-east-1"), client("ec2", REGION)
    pricing_stub, ec2_stub = Stubber(pricing), Stubber(ec2)
    for name in prices.instance_types():
        filters = {"instanceType": name, "regionCode": REGION, **prices.FILTERS}
        expected = {
            "ServiceCode": "AmazonEC2",
            "Filters": [{"Type": "TERM_MATCH", "Field": k, "Value": v} for k, v in filters.items()],
            "FormatVersion": "aws_v1",
        }
        listed = [product(name, ON_DEMAND[name])] if name in ON_DEMAND else []
        if name == "g6e.2xlarge":  # a licensed variant that is not the Linux base
            listed.append(product(name, "9.99", operation="RunInstances:0800"))
        response = {"FormatVersion": "aws_v1", "PriceList": listed}
        pricing_stub.add_response("get_products", response, expected)
    history = [
        {
            "AvailabilityZone": f"{REGION}{zone}",
            "InstanceType": name,
            "ProductDescription": "Linux/UNIX",
            "SpotPrice": price,
            "Timestamp": NOW - timedelta(minutes=5),
        }
        for name, zone_prices in SPOT.items()
        for zone, price in zip("abc", zone_prices, strict=False)
    ]
    history.append({**history[0], "SpotPrice": "5.00", "Timestamp": NOW - timedelta(hours=2)})
    ec2_stub.add_response(
        "describe_spot_price_history",
        {"SpotPriceHistory": history},
        {
            "InstanceTypes": sorted(ON_DEMAND),
            "ProductDescriptions": ["Linux/UNIX"],
            "StartTime": ANY,
        },
    )
    pricing_stub.activate()
    ec2_stub.activate()
    return pricing, ec2, [pricing_stub, ec2_stub]


def test_refresh_reads_the_price_list_and_the_spot_history() -> None:
    pricing, ec2, stubs = stubbed()
    document = prices.refresh([REGION], pricing, lambda _: ec2, NOW)
    for stub in stubs:
        stub.assert_no_pending_responses()
    types = document["regions"][REGION]
    assert set(types) == set(ON_DEMAND)  # the types AWS lists no price for are left out
    assert {name: entry["onDemand"] for name, entry in types.items()} == ON_DEMAND
    # the median of each zone's latest price: 0.95, not the older 5.00
    assert types["g6e.2xlarge"]["spot"] == "0.95"
    assert types["p5.4xlarge"]["spot"] is None
    assert document["asOf"] == "2026-12-06"
    assert document["spotAsOf"] == "2026-12-06T12:00:00+00:00"


def test_plan_prices_the_fleet_from_the_written_file(tmp_path: Path) -> None:
    pricing, ec2, _ = stubbed()
    made = {"pricing": pricing, "ec2": ec2}
    output = tmp_path / "prices.json"
    args = argparse.Namespace(regions=[REGION], output=output)
    before = datetime.now(UTC).date()
    assert prices.run(args, clients=lambda service, _: made[service]) == 0
    after = datetime.now(UTC).date()
    values = stack_values("prod")
    values["agentfleet:fleet"]["prices"] = str(output)
    plan = plan_fleet(parse_stack_config(values))
    assert plan.prices.source == "file"
    # the day the refresh ran (UTC), as the file records it; the run may straddle midnight
    assert plan.prices.as_of == json.loads(output.read_text())["asOf"]
    assert plan.prices.as_of in {before.isoformat(), after.isoformat()}
    for tier in plan.tiers:
        listed = Decimal(ON_DEMAND[tier.instance.name])
        assert tier.price_per_instance_hour == listed, tier.name
        assert tier.cost_per_hour == tier.instances * listed, tier.name
        assert tier.spot_price == (
            Decimal("0.95") if tier.instance.name == "g6e.2xlarge" else None
        ), tier.name


def test_a_missing_prices_file_is_a_config_error_naming_the_key(tmp_path: Path) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["prices"] = str(tmp_path / "nowhere.json")
    with pytest.raises(ConfigError) as raised:
        plan_fleet(parse_stack_config(values))
    assert raised.value.problems[0][0] == "agentfleet:fleet.prices"
    assert "no prices file" in raised.value.problems[0][1]


def test_a_region_the_file_lacks_is_named(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"format": "agentfleet-prices/1", "asOf": "x", "regions": {}}))
    values = stack_values("prod")
    values["agentfleet:fleet"]["prices"] = str(path)
    with pytest.raises(ConfigError, match="has no prices for us-east-1"):
        plan_fleet(parse_stack_config(values))


@pytest.mark.parametrize(
    ("regions", "reason"),
    [
        ({"us-east-1": "cheap"}, "regions.us-east-1 must map instance types to their prices"),
        ({"us-east-1": {"g6e.2xlarge": 2.5}}, "must be an object with onDemand (and spot)"),
        ({"us-east-1": {"g6e.2xlarge": {"onDemand": "1e999999"}}}, "at most 1,000,000"),
        ({"us-east-1": {"g6e.2xlarge": {"onDemand": "-1"}}}, "above 0"),
        ({"us-east-1": {"g6e.2xlarge": {"onDemand": True}}}, "must be a price in USD"),
        ({"us-east-1": {"g6e.2xlarge": {"onDemand": "2", "spot": "NaN"}}}, "must be a price"),
    ],
)
def test_a_malformed_prices_file_is_a_config_error_naming_the_entry(
    tmp_path: Path, regions: dict[str, Any], reason: str
) -> None:
    path = tmp_path / "prices.json"
    document = {"format": "agentfleet-prices/1", "asOf": "2026-12-06", "regions": regions}
    path.write_text(json.dumps(document))
    values = stack_values("prod")
    values["agentfleet:fleet"]["prices"] = str(path)
    with pytest.raises(ConfigError) as raised:
        plan_fleet(parse_stack_config(values))
    ((key, said),) = raised.value.problems
    assert key == "agentfleet:fleet.prices"
    assert reason in said


def test_a_prices_file_without_its_date_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"format": "agentfleet-prices/1", "asOf": [1], "regions": {
        "us-east-1": {"g6e.2xlarge": {"onDemand": "2"}}}}))  # fmt: skip
    values = stack_values("prod")
    values["agentfleet:fleet"]["prices"] = str(path)
    with pytest.raises(ConfigError, match="asOf must be the date the prices were read"):
        plan_fleet(parse_stack_config(values))


def test_a_relative_prices_file_is_read_from_the_project_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The Pulumi CLI runs the program from infra/; agentfleet from anywhere in the project:
    both read prices.json beside Pulumi.yaml."""
    from infra import pricing

    project = tmp_path / "project"
    (project / "infra").mkdir(parents=True)
    (project / "Pulumi.yaml").write_text("name: p\nruntime: python\n")
    document = {"format": "agentfleet-prices/1", "asOf": "2026-12-06",
                "regions": {REGION: {"g6e.2xlarge": {"onDemand": "2.5"}}}}  # fmt: skip
    (project / "prices.json").write_text(json.dumps(document))
    monkeypatch.chdir(project / "infra")
    listed = pricing.price_list("prices.json", REGION)
    assert listed.instances["g6e.2xlarge"].on_demand == Decimal("2.5")


def test_refresh_of_an_answer_it_cannot_read_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Two Linux base prices for one type (AWS's answer not as documented) exit 2, not 3."""
    from infra.cli import main

    pricing = client("pricing", "us-east-1")
    stub = Stubber(pricing)
    twice = [product("g6e.2xlarge", "2.5"), product("g6e.2xlarge", "2.6")]
    stub.add_response("get_products", {"FormatVersion": "aws_v1", "PriceList": twice}, None)
    stub.activate()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(prices, "instance_types", lambda: ["g6e.2xlarge"])
        args = argparse.Namespace(regions=[REGION], output=Path("unused.json"))
        with pytest.raises(ConfigError, match="AWS's answer could not be read: AWS lists "):
            prices.run(args, clients=lambda service, _: pricing)
    assert main(["prices", "refresh", "--region", "not a region"]) == 2
    assert "--region: 'not a region' is not an AWS region" in capsys.readouterr().err
