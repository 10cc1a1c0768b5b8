"""M1: each inference tier has a p95 time-to-first-token alert, below the SLA."""

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
    without,
)

NAME = "ttft-p95-alert"

CASES: dict[str, StackCase] = {
    "m1-missing": (
        without("kubernetes:monitoring.coreos.com/v1:PrometheusRule"),
        [
            (
                f"tier {t} has no p95 time-to-first-token alert; want one on "
                "histogram_quantile(0.95, "
                "vllm:time_to_first_token_seconds_bucket) below the SLA. Add it "
                "(components.FleetMonitoring).",
                f"{t}-deployment",
            )
            for t in ("orchestrator", "mid-tier", "lightweight")
        ],
    ),
    "m1-too-late": (
        set_rule(
            "VllmTimeToFirstTokenP95High",
            "orchestrator",
            "histogram_quantile(0.95, sum by "
            f"(le) (rate(vllm:time_to_first_token_seconds_bucket{PODS}[5m]))) > 2",
        ),
        [
            (
                "tier orchestrator alerts on p95 time to first token above 2 s, past its 0.5 s "
                "target; want at most 0.5 s. Lower monitoring.ttftP95AlertSeconds, or leave "
                "it unset (each tier at 80% of its own target).",
                "orchestrator-deployment",
            )
        ],
    ),
    **unscraped_cases("m1", "vllm:time_to_first_token_seconds_bucket"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(lambda fleet: fleet["monitoring"].update(ttftP95AlertSeconds=2))


def test_no_pool_no_check() -> None:
    assert_no_pool_no_check(NAME)
