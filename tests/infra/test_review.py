"""What a pull request's reviewer reads: `plan --sarif` (valid SARIF 2.1.0 pointing at the
breaching key's line), `plan --baseline` (the exact cost delta, resources and findings
against the target branch's stack file) and `plan --summary` (the same as Markdown)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from facts.money import cents
from infra.cli import main
from infra.config import parse_stack_config
from infra.offline.policy_client import Finding, PolicyInfo
from infra.plan import plan_fleet
from infra.review import _findings_markdown, finding_key
from policies.pack import discover
from tests.helpers import REPO, stack_values

SCHEMA = json.loads((REPO / "tests" / "data" / "sarif-schema-2.1.0.json").read_text())
PROD = REPO / "stacks" / "Pulumi.prod.yaml"
HEALTH_KEY = "agentfleet:fleet.tiers.orchestrator.loadBalancer.healthCheckIntervalSeconds"


def write_stack(directory: Path, values: dict[str, Any], name: str = "prod") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"Pulumi.{name}.yaml"
    path.write_text(yaml.safe_dump({"config": values}, sort_keys=False))
    return path


def slow_health_check() -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["loadBalancer"][
        "healthCheckIntervalSeconds"
    ] = 30
    return values


def doubled_orchestrator() -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["expectedConcurrency"] *= 2
    return values


def line_of(path: Path, text: str) -> int:
    (number,) = [n for n, line in enumerate(path.read_text().splitlines(), 1) if text in line]
    return number


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


# --- SARIF --------------------------------------------------------------------------------


@pytest.mark.integration
def test_sarif_of_a_mandatory_breach_validates_and_points_at_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack = write_stack(tmp_path / "stacks", slow_health_check())
    out = tmp_path / "plan.sarif"
    status, _, err = run(capsys, "plan", "--config", str(stack), "--sarif", str(out))
    assert (status, err) == (1, "")  # the exit status of a mandatory finding, unchanged
    log = json.loads(out.read_text())
    jsonschema.validate(log, SCHEMA)
    (run_,) = log["runs"]
    rules = run_["tool"]["driver"]["rules"]
    (result,) = [r for r in run_["results"] if r["ruleId"] != "images-pinned-by-digest"]
    assert result["ruleId"] == "lb-health-check-interval"
    assert result["level"] == "error"
    assert rules[result["ruleIndex"]]["id"] == "lb-health-check-interval"
    region = result["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": line_of(stack, "healthCheckIntervalSeconds: 30")}
    assert HEALTH_KEY in result["message"]["text"]
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"].endswith(
        "::orchestrator-tg"
    )
    # One rule per policy, from the pack's own metadata.
    rule = rules[result["ruleIndex"]]
    assert rule["properties"]["checklistItem"] == "C6"
    assert "loadBalancer.healthCheckIntervalSeconds" in rule["help"]["text"]
    assert rule["defaultConfiguration"] == {"level": "error"}
    assert len(rules) == len({r["id"] for r in rules}) == len(discover())


@pytest.mark.integration
def test_sarif_levels_follow_the_configured_enforcement(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack = write_stack(tmp_path, slow_health_check())
    config = tmp_path / "policy-config.json"
    config.write_text(
        json.dumps({"lb-health-check-interval": "advisory", "images-pinned-by-digest": "disabled"})
    )
    out = tmp_path / "plan.sarif"
    status, _, _ = run(
        capsys, "plan", "--config", str(stack), "--policy-config", str(config), "--sarif", str(out)
    )
    assert status == 0
    log = json.loads(out.read_text())
    jsonschema.validate(log, SCHEMA)
    (result,) = log["runs"][0]["results"]
    assert result["level"] == "warning"
    rule = log["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert rule["defaultConfiguration"] == {"level": "warning"}


@pytest.mark.integration
def test_the_shipped_stacks_advisories_are_warnings_at_the_image_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """prod gives its images by tag: three warnings, one per vLLM Deployment, at the line
    of the image key the file sets (fleet.worker.image; vllmImage is left to its default)."""
    out = tmp_path / "plan.sarif"
    status, _, _ = run(capsys, "plan", "--stack", "prod", "--sarif", str(out))
    log = json.loads(out.read_text())
    jsonschema.validate(log, SCHEMA)
    results = log["runs"][0]["results"]
    assert status == 0
    assert {(r["ruleId"], r["level"]) for r in results} == {("images-pinned-by-digest", "warning")}
    assert len(results) == 3
    line = line_of(PROD, "image: 123456789012.dkr.ecr")
    assert {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in results} == {line}


def info(keys: tuple[str, ...]) -> PolicyInfo:
    return PolicyInfo("p", "mandatory", "resource", "d", {}, keys=keys)


LINES = {
    "config.agentfleet:fleet": 5,
    "config.agentfleet:fleet.budgetPerHourUsd": 6,
    "config.agentfleet:fleet.tiers.chat": 9,
    "config.agentfleet:fleet.tiers.chat.gpu": 10,
}


@pytest.mark.parametrize(
    ("keys", "tier", "expected"),
    [
        # the policy's first key the file sets
        (("agentfleet:fleet.tiers.<tier>.gpu",), "chat", ("agentfleet:fleet.tiers.chat.gpu", 10)),
        # a key the file leaves to its default: the tier's own line
        (("agentfleet:fleet.tiers.<tier>.minInstances",), "chat",
         ("agentfleet:fleet.tiers.chat", 9)),
        # a tier key with no tier (a fleet-wide resource): the next key, else the fleet
        (("agentfleet:fleet.tiers.<tier>.gpu", "agentfleet:fleet.budgetPerHourUsd"), None,
         ("agentfleet:fleet.budgetPerHourUsd", 6)),
        (("agentfleet:fleet.tiers.<tier>.gpu",), None, ("agentfleet:fleet", 5)),
    ],
)  # fmt: skip
def test_a_finding_points_at_the_first_key_the_file_sets(
    keys: tuple[str, ...], tier: str | None, expected: tuple[str, int]
) -> None:
    finding = Finding("p", "mandatory", "", "m")
    assert finding_key(finding, info(keys), tier, LINES) == expected


def test_a_file_without_the_fleet_key_points_at_its_first_line() -> None:
    assert finding_key(Finding("p", "mandatory", "", "m"), None, None, {}) == ("", 1)


# --- baseline and summary -------------------------------------------------------------


@pytest.mark.integration
def test_baseline_reports_the_exact_cost_delta_of_doubling_the_orchestrator(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    head = write_stack(tmp_path / "head", doubled_orchestrator())
    summary = tmp_path / "summary.md"
    status, out, err = run(
        capsys, "plan", "--config", str(head), "--baseline", str(PROD), "--json",
        "--summary", str(summary),
    )  # fmt: skip
    assert (status, err) == (0, "")
    shown = json.loads(out)
    before = plan_fleet(parse_stack_config(stack_values("prod")))
    after = plan_fleet(parse_stack_config(doubled_orchestrator()))
    delta = after.cost_per_hour - before.cost_per_hour
    # 500 -> 1,000 interactions: the autoscaler holds 7 -> 15 p5.4xlarge at $6.88/h
    assert delta == Decimal("55.04")
    baseline = shown["baseline"]
    assert baseline["costPerHour"] == float(cents(before.cost_per_hour)) == 547.38
    assert baseline["floorCostPerHour"] == float(cents(before.floor_cost_per_hour)) == 45.69
    assert baseline["delta"]["floorCostPerHour"] == 0.0  # the floor stays at two
    assert baseline["maxCostPerHour"] == float(cents(before.max_cost_per_hour))
    assert baseline["delta"]["costPerHour"] == float(delta)
    assert baseline["delta"]["maxCostPerHour"] == float(
        cents(after.max_cost_per_hour - before.max_cost_per_hour)
    )
    assert baseline["delta"]["resources"] == {"create": 0, "update": 4, "delete": 0}
    assert baseline["findings"] == {"new": [], "fixed": []}
    assert shown["changeSummary"] == {"create": 0, "update": 4, "same": 166, "delete": 0}
    updated = [step for step in shown["steps"] if step["op"] == "update"]
    assert sorted(step["newState"]["type"] for step in updated) == [
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "aws:eks/nodeGroup:NodeGroup",
        "kubernetes:keda.sh/v1alpha1:ScaledObject",
        "kubernetes:monitoring.coreos.com/v1:PrometheusRule",
    ]
    node_group = next(s for s in updated if s["newState"]["type"].endswith("NodeGroup"))
    assert node_group["diffReasons"] == ["scalingConfig"]
    assert node_group["oldState"]["urn"] == node_group["newState"]["urn"]
    text = summary.read_text()
    assert "## agentfleet plan: `prod`" in text
    assert "No mandatory finding." in text
    assert "| expected concurrency | $547.38 | $602.42 | +$55.04 |" in text
    assert "| floor (overnight) | $45.69 | $45.69 | ±$0.00 |" in text
    assert "| `aws:eks/nodeGroup:NodeGroup` | 0 | 1 | 0 |" in text
    assert "**New findings:** none." in text


@pytest.mark.integration
def test_baseline_names_new_and_fixed_findings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    broken = write_stack(tmp_path / "broken", slow_health_check())
    summary = tmp_path / "summary.md"
    status, out, _ = run(
        capsys, "plan", "--config", str(broken), "--baseline", str(PROD), "--summary",
        str(summary),
    )  # fmt: skip
    assert status == 1
    assert "findings: 1 new, 0 fixed" in out
    assert "new: [mandatory] lb-health-check-interval: health check every 30 s" in out
    text = summary.read_text()
    assert "**1 mandatory finding: the plan fails**" in text
    assert "| mandatory | `lb-health-check-interval` | `orchestrator-tg` |" in text
    assert "| `aws:lb/targetGroup:TargetGroup` | 0 | 1 | 0 |" in text
    status, out, _ = run(
        capsys, "plan", "--stack", "prod", "--baseline", str(broken), "--json"
    )  # fmt: skip
    assert status == 0
    fixed = json.loads(out)["baseline"]["findings"]
    assert fixed["new"] == []
    assert [f["policy"] for f in fixed["fixed"]] == ["lb-health-check-interval"]


def test_a_broken_baseline_exits_2_naming_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    baseline = tmp_path / "Pulumi.prod.yaml"
    baseline.write_text("config: [unclosed\n")
    summary = tmp_path / "summary.md"
    status, out, err = run(
        capsys, "plan", "--stack", "prod", "--baseline", str(baseline), "--summary", str(summary)
    )
    assert (status, out) == (2, "")
    assert f"--baseline {baseline}" in err
    assert not summary.exists()


@pytest.mark.integration
def test_a_summary_without_a_baseline_shows_the_plan(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    summary = tmp_path / "summary.md"
    status, _, _ = run(capsys, "plan", "--stack", "prod", "--summary", str(summary))
    text = summary.read_text()
    assert status == 0
    assert "| expected concurrency | $547.38 |" in text
    assert "| floor (overnight) | $45.69 |" in text
    assert "| every tier at its ceiling | $756.44 |" in text
    assert "Prices: AWS's price list as of 2026-08-26, us-east-1." in text
    assert "resources to create (no baseline given)." in text
    assert "| advisory | `images-pinned-by-digest` | `orchestrator-deployment` |" in text


def test_the_summary_quotes_what_findings_say_without_letting_it_become_markdown() -> None:
    """A finding quotes stack values: in a pull-request comment they must show as text, not
    as a link, an image, an HTML tag or emphasis (GitHub renders all of those)."""
    said = "model [x](https://evil.example) <img src=x onerror=alert(1)> **loud** `code` | cell"
    finding = Finding("model-shape-known", "advisory", "urn:pulumi:p::a::t::orchestrator", said)
    (row,) = _findings_markdown("All findings", [finding])[-1:]
    assert "<img" not in row
    assert "](" not in row
    assert "**" not in row.replace("\\*", "")
    assert row.count(" | ") == 3  # the quoted "|" does not open a fifth cell
    assert row.endswith(
        "model \\[x\\]\\(https://evil.example\\) &lt;img src=x onerror=alert\\(1\\)&gt; "
        "\\*\\*loud\\*\\* \\`code\\` \\| cell |"
    )
