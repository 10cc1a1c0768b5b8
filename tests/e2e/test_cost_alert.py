"""The in-cluster cost alert (K3), evaluated by Prometheus's own rule tester (promtool) on a
node list priced from AWS's price list as shipped: it reports what the nodes cost and fires
when that passes the budget, and stays quiet below it."""

from __future__ import annotations

import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.monitoring import NODE_TIER_LABEL
from facts import aws_prices
from facts.resource_types import PROMETHEUS_RULE
from infra.config import parse_stack_config
from infra.offline.manifests import manifest
from infra.offline.mocks import run_program
from infra.plan import plan_fleet
from tests.helpers import stack_values, tool_from_env

pytestmark = pytest.mark.integration


def cost_rule_and_plan(values: dict[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    values = values or stack_values("prod")
    registrations, _ = run_program(values, stack="prod")
    rules = next(manifest(r) for r in registrations if r.type == PROMETHEUS_RULE)["spec"]["groups"]
    group = next(g for g in rules if g["name"] == "agentfleet-cost")
    return group, plan_fleet(parse_stack_config(values))


def nodes(counts: dict[str, int]) -> list[dict[str, str]]:
    """kube-state-metrics' kube_node_labels for that many nodes of each tier."""
    return [
        {
            "series": f'kube_node_labels{{{NODE_TIER_LABEL}="{tier}",node="{tier}-{i}"}}',
            "values": "1x30",
        }
        for tier, count in counts.items()
        for i in range(count)
    ]


def table_cost(plan: Any, counts: dict[str, int]) -> Decimal:
    """The node list's cost an hour at AWS's on-demand prices for us-east-1 (the table)."""
    prices = aws_prices.ON_DEMAND["us-east-1"]
    return sum(
        (count * prices[plan.tier(t).instance.name] for t, count in counts.items()), Decimal(0)
    )


def promtool_test(tmp_path: Path, group: dict[str, Any], counts: dict[str, int],
                  cost: Decimal, fires: bool) -> None:  # fmt: skip
    rule = group["rules"][0]
    spent = rule["expr"].rsplit(" > ", 1)[0]
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [group]}))
    expected = (
        [{"exp_labels": dict(rule["labels"]), "exp_annotations": dict(rule["annotations"])}]
        if fires
        else []
    )
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": nodes(counts),
                "promql_expr_test": [
                    {
                        # in hundred-thousandths of a dollar, whole: exact in a float
                        "expr": f"round(({spent}) * 100000)",
                        "eval_time": "5m",
                        "exp_samples": [{"labels": "{}", "value": int(cost * 100000)}],
                    },
                ],
                "alert_rule_test": [
                    {"eval_time": "20m", "alertname": rule["alert"], "exp_alerts": expected}
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test))
    promtool = tool_from_env("AGENTFLEET_PROMTOOL", "promtool")
    done = subprocess.run([str(promtool), "test", "rules", "test.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_fleet_at_its_ceiling_stays_under_the_budget(tmp_path: Path) -> None:
    group, plan = cost_rule_and_plan()
    counts = {tier.name: tier.max_instances for tier in plan.tiers}
    cost = table_cost(plan, counts)
    assert cost < plan.budget_per_hour
    promtool_test(tmp_path, group, counts, cost, fires=False)


def test_nodes_beyond_the_budget_fire_the_alert(tmp_path: Path) -> None:
    group, plan = cost_rule_and_plan()
    counts = {tier.name: tier.max_instances for tier in plan.tiers}
    price = aws_prices.ON_DEMAND["us-east-1"]["g6e.2xlarge"]
    counts["lightweight"] += int((plan.budget_per_hour - table_cost(plan, counts)) / price) + 1
    cost = table_cost(plan, counts)
    assert cost > plan.budget_per_hour
    promtool_test(tmp_path, group, counts, cost, fires=True)


def test_a_reservation_counts_whole_whether_its_nodes_run_or_not(tmp_path: Path) -> None:
    """A capacity reservation of 12 p4de.24xlarge under the mid-tier is billed for 12 while
    3 run: the alert counts 12 at the reservation's price (AWS's on-demand rate)."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["mid-tier"]["reservation"] = {
        "kind": "capacity-reservation",
        "id": "cr-0123456789abcdef0",
        "instances": 12,
        "subnetIds": ["subnet-0a1b2c3d4e5f60002"],
    }
    group, plan = cost_rule_and_plan(values)
    counts = {"orchestrator": 2, "mid-tier": 3, "lightweight": 2}
    cost = table_cost(plan, {**counts, "mid-tier": 12})
    assert cost < plan.budget_per_hour
    promtool_test(tmp_path, group, counts, cost, fires=False)
