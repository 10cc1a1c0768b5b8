"""M2: each inference tier alerts when vLLM's KV-cache usage passes the checklist's mark."""

from __future__ import annotations

import pytest

from infra.offline.mocks import Registration
from tests.policies.support import (
    PODS,
    StackCase,
    assert_no_pool_no_check,
    assert_stack_case,
    prod_with,
    set_rule,
    unscraped_cases,
)

NAME = "kv-cache-alert"

CASES: dict[str, StackCase] = {
    "m2-deprecated": (
        set_rule(
            "VllmKvCacheHigh",
            "orchestrator",
            f"max by (pod) (vllm:gpu_cache_usage_perc{PODS}) > 0.85",
        ),
        [
            (
                "tier orchestrator alerts on vllm:gpu_cache_usage_perc, which vLLM no longer "
                "exports; want vllm:kv_cache_usage_perc. Rename the metric in the rule.",
                "orchestrator-deployment",
            ),
            (
                "tier orchestrator has no KV-cache alert; want one on vllm:kv_cache_usage_perc > "
                "0.85. Add it (components.FleetMonitoring).",
                "orchestrator-deployment",
            ),
        ],
    ),
    "m2-too-high": (
        set_rule(
            "VllmKvCacheHigh",
            "orchestrator",
            f"max by (pod) (vllm:kv_cache_usage_perc{PODS}) > 0.95",
        ),
        [
            (
                "tier orchestrator alerts on KV-cache usage above 0.95; want at most 0.85. Lower "
                "monitoring.kvCacheAlertPercent.",
                "orchestrator-deployment",
            )
        ],
    ),
    **unscraped_cases("m2", "vllm:kv_cache_usage_perc"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(lambda fleet: fleet["monitoring"].update(kvCacheAlertPercent=95))


def test_no_pool_no_check() -> None:
    assert_no_pool_no_check(NAME)
