"""Each stack policy over the prod stack as the components build it, and over that stack
broken one way at a time; plus the guard that keeps a failing policy from killing the pack."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from policies.metadata import POLICIES as META
from policies.support import guarded
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from infra.offline.mocks import Registration
from policies.pack import all_policies
from tests.policies.support import check_stack, find, hand_declared, stack_resources

POLICIES = {policy.name: policy for policy in all_policies()}
STACK_POLICIES = [m.name for m in META.values() if m.kind == "stack"]


def without(*types: str) -> Callable[[list[Registration]], list[Registration]]:
    return lambda rs: [r for r in rs if r.type not in types]


def edit(name: str, change: Callable[[dict[str, Any]], object]) -> Callable[..., Any]:
    def apply(registrations: list[Registration]) -> list[Registration]:
        change(find(registrations, name).inputs)
        return registrations

    return apply


def rules(registrations: list[Registration]) -> list[dict[str, Any]]:
    rule = find(registrations, "fleet-rules").inputs
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def set_rule(alert: str, tier: str, expr: str) -> Callable[..., Any]:
    def apply(registrations: list[Registration]) -> list[Registration]:
        for rule in rules(registrations):
            if rule["alert"] == alert and rule["labels"]["tier"] == tier:
                rule["expr"] = expr
        return registrations

    return apply


def urn(registrations: list[Registration], name: str) -> str:
    return find(registrations, name).urn


@pytest.mark.parametrize("name", STACK_POLICIES)
@pytest.mark.parametrize("stack", ["dev", "staging", "prod"])
def test_shipped_stacks_pass(name: str, stack: str) -> None:
    # [] (checked, nothing wrong) or None (nothing to check, e.g. no load balancer in dev)
    assert not check_stack(POLICIES[name], stack_resources(stack))


PODS = '{namespace="agentfleet",pod=~"(orchestrator-vllm)-.*"}'
# fmt: off
# (policy, how the prod stack is broken, [(message, resource name at fault or None)])
CASES: dict[str, tuple[str, Callable[..., Any], list[tuple[str, str | None]]]] = {
    "c4-no-queues": ("task-queue-per-pool",
        without("aws:sqs/queue:Queue", "kubernetes:keda.sh/v1alpha1:ScaledObject"),
        [(f"tier {t} has no task queue: agents would call it directly and overload it; want an "
          f"SQS queue tagged agentfleet.io/tier={t}. Add one (components.AgentQueue).",
          f"{t}-deployment") for t in ("orchestrator", "mid-tier", "lightweight")]),
    "c7-one-node": ("min-two-gpu-instances",
        edit("orchestrator-nodes", lambda i: i["scalingConfig"].update(minSize=1.0)),
        [("tier orchestrator behind a load balancer keeps 1 GPU instance(s) at its floor; want "
          "at least 2 so one can fail. Set minInstances.", "orchestrator-nodes")]),
    "c7-one-replica": ("min-two-gpu-instances",
        edit("orchestrator-scaled-object", lambda i: i["spec"].update(minReplicaCount=1.0)),
        [("tier orchestrator behind a load balancer may scale to 1 replica(s) "
          "(minReplicaCount); want at least 2. Set minInstances.", "orchestrator-scaled-object")]),
    "m1-missing": ("ttft-p95-alert",
        without("kubernetes:monitoring.coreos.com/v1:PrometheusRule"),
        [(f"tier {t} has no p95 time-to-first-token alert; want one on histogram_quantile(0.95, "
          "vllm:time_to_first_token_seconds_bucket) below the SLA. Add it "
          "(components.FleetMonitoring).", f"{t}-deployment")
         for t in ("orchestrator", "mid-tier", "lightweight")]),
    "m1-too-late": ("ttft-p95-alert",
        set_rule("VllmTimeToFirstTokenP95High", "orchestrator", "histogram_quantile(0.95, sum by "
                 f"(le) (rate(vllm:time_to_first_token_seconds_bucket{PODS}[5m]))) > 2"),
        [("tier orchestrator alerts on p95 time to first token above 2 s; want at most 0.5 s, "
          "below the SLA. Lower monitoring.ttftP95AlertSeconds.", "orchestrator-deployment")]),
    "m2-deprecated": ("kv-cache-alert",
        set_rule("VllmKvCacheHigh", "orchestrator",
                 f"max by (pod) (vllm:gpu_cache_usage_perc{PODS}) > 0.85"),
        [("tier orchestrator alerts on vllm:gpu_cache_usage_perc, which vLLM no longer exports; "
          "want vllm:kv_cache_usage_perc. Rename the metric in the rule.",
          "orchestrator-deployment"),
         ("tier orchestrator has no KV-cache alert; want one on vllm:kv_cache_usage_perc > 0.85. "
          "Add it (components.FleetMonitoring).", "orchestrator-deployment")]),
    "m2-too-high": ("kv-cache-alert",
        set_rule("VllmKvCacheHigh", "orchestrator",
                 f"max by (pod) (vllm:kv_cache_usage_perc{PODS}) > 0.95"),
        [("tier orchestrator alerts on KV-cache usage above 0.95; want at most 0.85. Lower "
          "monitoring.kvCacheAlertPercent.", "orchestrator-deployment")]),
    "m3-no-dashboard": ("queue-depth-dashboard", without("aws:cloudwatch/dashboard:Dashboard"),
        [(f"queue {{{t}}} (tier {t}) is on no dashboard beside its GPU instances; want one widget "
          "with both. Add it (components.FleetMonitoring).", f"{t}-queue")
         for t in ("orchestrator", "mid-tier", "lightweight")]),
    "k3-no-budget": ("cost-budget-alerts", without("aws:budgets/budget:Budget"),
        [("the fleet has no cost budget; want an AWS Budget with alerts. Set "
          "agentfleet:fleet.budgetPerHourUsd.", None)]),
    "k3-no-early-warning": ("cost-budget-alerts",
        edit("fleet-budget", lambda i: i.update(notifications=[
            n for n in i["notifications"] if n["threshold"] == 100.0])),
        [("budget agentfleet-agents-prod-fleet does not notify anyone at 80%; want alerts at "
          "80%, 100%. Add notifications with a subscriber.", "fleet-budget")]),
}
# fmt: on


@pytest.mark.parametrize("case", list(CASES))
def test_broken_stack(case: str) -> None:
    name, breaking, expected = CASES[case]
    registrations = breaking(stack_resources("prod"))
    queue_names = {r.name: r.inputs.get("name") for r in registrations if "sqs" in r.type}
    wanted = [
        (
            message.format(**{t: queue_names.get(f"{t}-queue") for t in
                              ("orchestrator", "mid-tier", "lightweight")}),
            None if at is None else urn(registrations, at),
        )
        for message, at in expected
    ]  # fmt: skip
    found = check_stack(POLICIES[name], registrations)
    assert found is not None
    assert sorted(found, key=str) == sorted(wanted, key=str)  # registration order may vary


def test_hand_declared_pool_is_found_by_what_it_runs() -> None:
    """A vLLM Deployment another stack declares, with no agentfleet labels, is a pool."""
    deployment = hand_declared(
        "kubernetes:apps/v1:Deployment",
        "chat",
        {
            "metadata": {"name": "chat"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "server", "image": "vllm/vllm-openai:v0.33.0"}]}}},
        },
    )  # fmt: skip
    found = check_stack(POLICIES["task-queue-per-pool"], [deployment])
    assert found == [
        (
            "tier chat has no task queue: agents would call it directly and overload it; want "
            "an SQS queue tagged agentfleet.io/tier=chat. Add one (components.AgentQueue).",
            deployment.urn,
        )
    ]


def test_c7_follows_a_hand_written_binding_through_its_service() -> None:
    registrations = stack_resources("prod")
    binding = find(registrations, "orchestrator-binding")
    binding.inputs["metadata"]["labels"].pop("agentfleet.io/tier")
    find(registrations, "orchestrator-scaled-object").inputs["spec"]["minReplicaCount"] = 1.0
    found = check_stack(POLICIES["min-two-gpu-instances"], registrations)
    assert found is not None
    assert [u for _, u in found] == [urn(registrations, "orchestrator-scaled-object")]


def test_no_pool_no_check() -> None:
    queue = hand_declared("aws:sqs/queue:Queue", "jobs", {"name": "jobs"})
    for name in ("task-queue-per-pool", "ttft-p95-alert", "kv-cache-alert", "cost-budget-alerts",
                 "min-two-gpu-instances"):  # fmt: skip
        assert check_stack(POLICIES[name], [queue]) is None, name


def test_unknown_dashboard_during_preview_is_not_applicable() -> None:
    registrations = stack_resources("prod")
    find(registrations, "fleet-dashboard").inputs["dashboardBody"] = UNKNOWN_STRING_VALUE
    assert check_stack(POLICIES["queue-depth-dashboard"], registrations) is None


def test_a_failing_policy_is_a_finding_not_a_dead_pack() -> None:
    def broken(*_: object) -> None:
        raise ZeroDivisionError("boom")

    class Args:
        def get_config(self) -> dict[str, Any]:
            return {}

    found: list[str] = []

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    guarded(META["ttft-p95-alert"], broken)(Args(), report)
    assert found == [
        "policy ttft-p95-alert could not check this: ZeroDivisionError. Report it to the "
        "agentfleet maintainers; the check did not run."
    ]


def test_stack_dashboard_body_is_json() -> None:
    body = json.loads(find(stack_resources("prod"), "fleet-dashboard").inputs["dashboardBody"])
    assert len(body["widgets"]) == 3


@pytest.mark.parametrize("name", STACK_POLICIES)
def test_unknown_values_make_a_stack_policy_not_applicable(name: str) -> None:
    registrations = stack_resources("prod")
    for registration in registrations:
        for key in registration.inputs:
            registration.inputs[key] = UNKNOWN_STRING_VALUE
    assert check_stack(POLICIES[name], registrations) is None
