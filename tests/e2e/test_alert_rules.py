"""The fleet's Prometheus alerts, evaluated by Prometheus's own rule tester (promtool) on the
rules each shipped stack renders: series in, alerts out."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from facts.resource_types import PROMETHEUS_RULE
from infra.offline.manifests import manifest
from infra.offline.mocks import run_program
from tests.helpers import STACKS, stack_values, tool_from_env

pytestmark = pytest.mark.integration


def rendered_groups(stack: str) -> list[dict[str, Any]]:
    registrations, _ = run_program(stack_values(stack), stack=stack)
    groups: list[dict[str, Any]] = next(
        manifest(r) for r in registrations if r.type == PROMETHEUS_RULE
    )["spec"]["groups"]
    return groups


def tiers_of(groups: list[dict[str, Any]]) -> list[str]:
    return [g["name"].removeprefix("agentfleet-") for g in groups if g["name"] != "agentfleet-cost"]


def tier_rule(groups: list[dict[str, Any]], tier: str, alert: str) -> dict[str, Any]:
    group = next(g for g in groups if g["name"] == f"agentfleet-{tier}")
    rule: dict[str, Any] = next(r for r in group["rules"] if r["alert"] == alert)
    return rule


def a_pod(rule: dict[str, Any]) -> dict[str, str]:
    """Labels of one pod the rule's selector matches (its first Deployment's)."""
    namespace = re.search(r'namespace="([^"]+)"', rule["expr"]).group(1)  # type: ignore[union-attr]
    deployment = re.search(r'pod=~"\(([^|)]+)', rule["expr"]).group(1)  # type: ignore[union-attr]
    return {"namespace": namespace, "pod": f"{deployment}-6d5f8b7c9-x2k4q"}


def promtool_test(
    tmp_path: Path, groups: list[dict[str, Any]], series: list[dict[str, str]],
    alert: str, eval_time: str, expected: list[dict[str, Any]],
) -> None:  # fmt: skip
    """``promtool test rules``: the stack's rules over ``series`` (one sample a minute),
    ``alert`` at ``eval_time`` firing with the ``expected`` labels (none: quiet)."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    test = {
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "tests": [
            {
                "interval": "1m",
                "input_series": series,
                "alert_rule_test": [
                    {"eval_time": eval_time, "alertname": alert, "exp_alerts": expected}
                ],
            }
        ],
    }
    (tmp_path / "test.yaml").write_text(yaml.safe_dump(test))
    promtool = tool_from_env("AGENTFLEET_PROMTOOL", "promtool")
    check = subprocess.run([str(promtool), "check", "rules", "rules.yaml"], cwd=tmp_path,
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr
    done = subprocess.run([str(promtool), "test", "rules", "test.yaml"], cwd=tmp_path,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("stack", STACKS)
def test_a_worker_that_cannot_reach_its_queue_for_five_minutes_is_an_alert(
    tmp_path: Path, stack: str
) -> None:
    """The worker's agentfleet_worker_queue_reachable at 0 (the pod stays Ready for the
    load balancer): pending for the rule's 5 minutes, then firing, per pod; a worker whose
    receives succeed again by then stays quiet."""
    groups = rendered_groups(stack)
    tier = next(
        g["name"].removeprefix("agentfleet-") for g in groups if g["name"] != "agentfleet-cost"
    )
    rule = tier_rule(groups, tier, "QueueWorkerQueueUnreachable")
    pod = a_pod(rule)
    labels = ",".join(f'{k}="{v}"' for k, v in pod.items())
    down = [{"series": f"agentfleet_worker_queue_reachable{{{labels}}}", "values": "0x10"}]
    fired = [{"exp_labels": {**rule["labels"], "pod": pod["pod"]},
              "exp_annotations": rule["annotations"]}]  # fmt: skip
    promtool_test(tmp_path, groups, down, rule["alert"], "4m", [])
    promtool_test(tmp_path, groups, down, rule["alert"], "6m", fired)
    back = [{"series": f"agentfleet_worker_queue_reachable{{{labels}}}", "values": "0 0 0 1x8"}]
    promtool_test(tmp_path, groups, back, rule["alert"], "6m", [])


def threshold_of(rule: dict[str, Any]) -> float:
    return float(rule["expr"].rsplit(">", 1)[1])


def histogram(labels: str, threshold: float, slow: bool) -> list[dict[str, str]]:
    """A minute's 60 first tokens, every minute, all in one bucket: between 2 and 4 times
    the threshold (slow), or between a quarter and a half of it."""
    bounds = [threshold / 4, threshold / 2, threshold * 2, threshold * 4]
    home = 3 if slow else 1
    series = []
    for index, bound in enumerate([*bounds, float("inf")]):
        le = "+Inf" if bound == float("inf") else f"{bound:g}"
        step = 60 if index >= home else 0
        series.append({"series": f'vllm:time_to_first_token_seconds_bucket{{{labels},le="{le}"}}',
                       "values": f"0+{step}x20"})  # fmt: skip
    return series


@pytest.mark.parametrize("stack", STACKS)
def test_each_tier_pages_when_its_own_ttft_p95_passes_its_threshold(
    tmp_path: Path, stack: str
) -> None:
    """M1 as Prometheus evaluates it: a tier whose p95 time to first token sits above its
    own threshold (below its own target) for the rule's 5 minutes fires; one whose p95 is
    below it stays quiet. The user-facing 0.5 s tier and a background tier's minute each
    against their own threshold, not one fleet-wide half second."""
    groups = rendered_groups(stack)
    for tier in tiers_of(groups):
        rule = tier_rule(groups, tier, "VllmTimeToFirstTokenP95High")
        labels = ",".join(f'{k}="{v}"' for k, v in a_pod(rule).items())
        limit = threshold_of(rule)
        fired = [{"exp_labels": rule["labels"], "exp_annotations": rule["annotations"]}]
        promtool_test(tmp_path, groups, histogram(labels, limit, slow=True), rule["alert"],
                      "12m", fired)  # fmt: skip
        promtool_test(tmp_path, groups, histogram(labels, limit, slow=False), rule["alert"],
                      "12m", [])  # fmt: skip


def test_the_kv_cache_alert_fires_above_85_percent_for_5_minutes(tmp_path: Path) -> None:
    """M2: vLLM's kv_cache_usage_perc (a ratio) at 0.9 on one pod for more than 5 minutes
    fires for that pod; at 0.8 it stays quiet."""
    groups = rendered_groups("prod")
    rule = tier_rule(groups, "orchestrator", "VllmKvCacheHigh")
    pod = a_pod(rule)
    labels = ",".join(f'{k}="{v}"' for k, v in pod.items())
    fired = [{"exp_labels": {**rule["labels"], "pod": pod["pod"]},
              "exp_annotations": rule["annotations"]}]  # fmt: skip
    high = [{"series": f"vllm:kv_cache_usage_perc{{{labels}}}", "values": "0.9x10"}]
    promtool_test(tmp_path, groups, high, rule["alert"], "7m", fired)
    low = [{"series": f"vllm:kv_cache_usage_perc{{{labels}}}", "values": "0.8x10"}]
    promtool_test(tmp_path, groups, low, rule["alert"], "7m", [])
