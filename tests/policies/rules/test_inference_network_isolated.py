"""Security: every inference pod is selected by a NetworkPolicy that governs its ingress."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from facts.resource_types import NETWORK_POLICY
from infra.offline.mocks import Registration
from policies.rules.inference_network_isolated import selects
from tests.policies.support import (
    StackCase,
    assert_no_pool_no_check,
    assert_stack_case,
    hand_declared,
    stack_resources,
    without,
)

NAME = "inference-network-isolated"


def message(tier: str) -> str:
    return (
        f"{tier}-vllm (tier {tier}, namespace agentfleet): no NetworkPolicy selects its pods, "
        "so any pod in the cluster can call vLLM; want one that matches their labels with "
        "policyTypes Ingress. Declare it (components.VllmService does)."
    )


def egress_only(registrations: list[Registration]) -> list[Registration]:
    """Every policy turned egress-only: ingress is open again."""
    changed = []
    for r in registrations:
        if r.type != NETWORK_POLICY:
            changed.append(r)
            continue
        inputs = copy.deepcopy(r.inputs)
        inputs["spec"]["policyTypes"] = ["Egress"]
        changed.append(hand_declared(NETWORK_POLICY, r.name, inputs))
    return changed


TIERS = ("orchestrator", "mid-tier", "lightweight")
CASES: dict[str, StackCase] = {
    "compliant": (lambda rs: rs, []),
    "no-network-policies": (
        without(NETWORK_POLICY),
        [(message(t), f"{t}-deployment") for t in TIERS],
    ),
    "egress-only": (egress_only, [(message(t), f"{t}-deployment") for t in TIERS]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """The prod stack with the orchestrator's NetworkPolicies gone (its pods' own and its
    load balancer's, both named after the tier) and the namespace's default deny: nothing
    governs who reaches its pods."""
    gone = ("orchestrator-network-policy", "namespace-default-deny")
    return [r for r in stack_resources("prod") if not (r.type == NETWORK_POLICY and r.name in gone)]


@pytest.mark.parametrize(
    ("selector", "picked"),
    [
        ({}, True),
        ({"matchLabels": {"app": "vllm"}}, True),
        ({"matchLabels": {"app": "other"}}, False),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}, True),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["a"]}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "Exists"}]}, False),
        ({"matchExpressions": [{"key": "zone", "operator": "DoesNotExist"}]}, True),
    ],
)
def test_selectors_pick_pods_as_kubernetes_does(selector: dict[str, Any], picked: bool) -> None:
    assert selects(selector, {"app": "vllm", "tier": "a"}) is picked


def test_no_pool_no_check() -> None:
    assert_no_pool_no_check(NAME)
