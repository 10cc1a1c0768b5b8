"""C4: a task queue (SQS) sits between the agents and each inference pool."""

from __future__ import annotations

import copy

import pytest

from facts.resource_types import (
    DEPLOYMENT,
    PROMETHEUS_RULE,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    StackCase,
    assert_no_pool_no_check,
    assert_stack_case,
    check_stack,
    find,
    hand_declared,
    policy,
    stack_resources,
    without,
)

NAME = "task-queue-per-pool"

CASES: dict[str, StackCase] = {
    "c4-no-queues": (
        without("aws:sqs/queue:Queue", "kubernetes:keda.sh/v1alpha1:ScaledObject"),
        [
            (
                f"tier {t} has no task queue: agents would call it directly and overload it; "
                f"want an SQS queue tagged agentfleet.io/tier={t}. Add one "
                "(components.AgentQueue).",
                f"{t}-deployment",
            )
            for t in ("orchestrator", "mid-tier", "lightweight")
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A tier added by hand: our compliant Deployment and alerts, renamed, and no queue."""
    registrations = stack_resources("prod")
    inputs = copy.deepcopy(find(registrations, "orchestrator-deployment").inputs)
    for meta in (inputs["metadata"], inputs["spec"]["template"]["metadata"]):
        meta["labels"]["agentfleet.io/tier"] = "batch"
        meta["labels"]["agentfleet.io/user-facing"] = "false"
    inputs["metadata"]["name"] = "batch-vllm"
    rules = find(registrations, "fleet-rules").inputs
    group = copy.deepcopy(rules["spec"]["groups"][0])
    for rule in group["rules"]:
        rule["labels"]["tier"] = "batch"
    rule_inputs = {**copy.deepcopy(rules), "spec": {"groups": [group]}}
    return [
        *registrations,
        hand_declared(DEPLOYMENT, "batch-vllm", inputs),
        hand_declared(PROMETHEUS_RULE, "batch-rules", rule_inputs),
    ]


def test_a_hand_declared_pool_is_found_by_what_it_runs() -> None:
    """A vLLM Deployment another stack declares, with no agentfleet labels, is a pool."""
    chat = hand_declared(
        DEPLOYMENT,
        "chat",
        {
            "metadata": {"name": "chat"},
            "spec": {"template": {"spec": {"containers": [
                {"name": "server", "image": "vllm/vllm-openai:v0.33.0"}]}}},
        },
    )  # fmt: skip
    assert check_stack(policy(NAME), [chat]) == [
        (
            "tier chat has no task queue: agents would call it directly and overload it; want "
            "an SQS queue tagged agentfleet.io/tier=chat. Add one (components.AgentQueue).",
            chat.urn,
        )
    ]


def test_no_pool_no_check() -> None:
    assert_no_pool_no_check(NAME)
