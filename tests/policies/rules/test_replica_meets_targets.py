"""Serving physics: a vLLM Deployment's replica serves its sessions within the targets it
declares, on the GPUs it asks for (the serving model's figures, tests/facts/test_serving.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facts.labels import SERVING, SESSIONS_PER_REPLICA
from facts.resource_types import DEPLOYMENT
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    mcp,
    orchestrator,
    prod_with,
    props,
    same,
    set_arg,
    tier,
)

NAME = "replica-meets-targets"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod stack declares it: Qwen2.5-7B on one H100 SXM5 (what
the p5.4xlarge carries), 91 sessions a replica, TTFT 0.5 s and 3 s an interaction."""


def annotate(key: str, value: str | None) -> Any:
    """Set (or remove) a pod annotation, on the Deployment and its template alike."""

    def change(p: dict[str, Any]) -> None:
        for meta in (p["metadata"], p["spec"]["template"]["metadata"]):
            if value is None:
                meta["annotations"].pop(key, None)
            else:
                meta["annotations"][key] = value

    return change


def promise(**changes: Any) -> Any:
    def change(p: dict[str, Any]) -> None:
        declared = json.loads(p["spec"]["template"]["metadata"]["annotations"][SERVING])
        annotate(SERVING, json.dumps({**declared, **changes}))(p)

    return change


def staging_mid_tier() -> dict[str, Any]:
    """Qwen2.5-7B in 3g.40gb MIG slices of A100 SXM4s, a throughput-first tier."""
    return props("mid-tier-deployment", "staging")


FINDING_AT_SMALL_BUDGET = [
    # 200 tokens a step leave 109 for prompts beside 91 decodes, where the 91 need 156 a
    # step (600 for every 350 generated): prompts queue for the step budget.
    "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at its 91 sessions: TTFT "
    "0.72 s, 3.51 s an interaction of 600 tokens in and 350 out; it declares TTFT 0.5 s and 3 s"
]

CASES: dict[str, ResourceCase] = {
    "serving-ok": (DEPLOYMENT, orchestrator, same, []),
    # 150 sessions: a step reads 15.2 GB of weights and 150 x 775 tokens of KV, and does
    # the FLOPs of 150 decodes and 257 prompt tokens: 13 ms, 4.6 s for 350 tokens.
    "serving-too-many-sessions": (
        DEPLOYMENT,
        orchestrator,
        annotate(SESSIONS_PER_REPLICA, "150"),
        [
            "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at its 150 sessions: "
            "TTFT 0.04 s, 4.57 s an interaction of 600 tokens in and 350 out; it declares TTFT "
            "0.5 s and 3 s"
        ],
    ),
    "serving-beyond-the-kv-cache": (
        DEPLOYMENT,
        orchestrator,
        annotate(SESSIONS_PER_REPLICA, "2000"),
        [
            "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at its 2000 sessions: "
            "TTFT 27.99 s, 54.91 s an interaction of 600 tokens in and 350 out; its KV cache "
            "holds 984 of them; it declares TTFT 0.5 s and 3 s"
        ],
    ),
    "serving-target-below-the-prefill": (
        DEPLOYMENT,
        orchestrator,
        promise(ttft_seconds=0.02),
        [
            "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at its 91 sessions: "
            "TTFT 0.03 s, 2.98 s an interaction of 600 tokens in and 350 out; it declares TTFT "
            "0.02 s and 3 s"
        ],
    ),
    "serving-longer-replies": (
        DEPLOYMENT,
        orchestrator,
        promise(output_tokens=700),
        [
            "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at its 91 sessions: "
            "TTFT 0.03 s, 6.04 s an interaction of 600 tokens in and 700 out; it declares TTFT "
            "0.5 s and 3 s"
        ],
    ),
    "serving-on-a-smaller-step-budget": (
        DEPLOYMENT,
        orchestrator,
        lambda p: set_arg(p, "--max-num-batched-tokens", "200"),
        FINDING_AT_SMALL_BUDGET,
    ),
    # One session more than the planner's 91 is over the 3 s: the plan's batch is the largest.
    "serving-one-session-past-the-plan": (
        DEPLOYMENT,
        orchestrator,
        annotate(SESSIONS_PER_REPLICA, "92"),
        [
            "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at its 92 sessions: "
            "TTFT 0.03 s, 3.01 s an interaction of 600 tokens in and 350 out; it declares "
            "TTFT 0.5 s and 3 s"
        ],
    ),
    "serving-mig-slice-ok": (DEPLOYMENT, staging_mid_tier, same, []),
    "serving-mig-slice-beyond-its-kv-cache": (
        DEPLOYMENT,
        staging_mid_tier,
        annotate(SESSIONS_PER_REPLICA, "400"),
        [
            "container vllm: Qwen/Qwen2.5-7B-Instruct on 1 x A100 80GB SXM4 (3/7 MIG slice) "
            "at its 400 sessions: TTFT 7.96 s, 80.27 s an interaction of 600 tokens in and "
            "350 out; its KV cache holds 362 of them; it declares TTFT 60 s and 300 s"
        ],
    ),
    "serving-bad-annotation": (
        DEPLOYMENT,
        orchestrator,
        annotate(SERVING, '{"part": "h100-sxm5"}'),
        [
            "its agentfleet.io/serving annotation is not a serving promise (ttft_seconds must "
            "be a positive number)"
        ],
    ),
    "serving-unknown-part": (
        DEPLOYMENT,
        orchestrator,
        promise(part="b300"),
        ["its agentfleet.io/serving annotation names an unknown GPU part 'b300'"],
    ),
    # an h100-pcie pod runs on a p5: it cannot promise an H200's bandwidth
    "serving-part-its-gpu-does-not-carry": (
        DEPLOYMENT,
        orchestrator,
        promise(part="h200-sxm"),
        [
            "its agentfleet.io/serving annotation names the GPU part h200-sxm; the instance "
            "types of its GPU (h100-pcie) carry h100-sxm5"
        ],
    ),
    "serving-undeclared": (DEPLOYMENT, orchestrator, annotate(SERVING, None), None),
    "serving-not-vllm": (DEPLOYMENT, mcp, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: the components used directly, the orchestrator's
    replicas (sized for 3 s interactions) declaring a 2 s target."""
    return [_tightened(r) for r in prod_with(tier("orchestrator"))]


def _tightened(registration: Registration) -> Registration:
    if registration.type == DEPLOYMENT and registration.name == "orchestrator-deployment":
        promise(interaction_seconds=2)(registration.inputs)
    return registration
