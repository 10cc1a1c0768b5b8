"""M3: a dashboard shows each tier's queue depth beside its GPU instance count."""

from __future__ import annotations

import json

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from tests.policies.support import (
    StackCase,
    assert_stack_case,
    check_stack,
    find,
    policy,
    stack_resources,
    without,
)

NAME = "queue-depth-dashboard"

CASES: dict[str, StackCase] = {
    "m3-no-dashboard": (
        without("aws:cloudwatch/dashboard:Dashboard"),
        [
            (
                f"queue {{{t}}} (tier {t}) is on no dashboard beside its GPU instances; want one "
                "widget with both. Add it (components.FleetMonitoring).",
                f"{t}-queue",
            )
            for t in ("orchestrator", "mid-tier", "lightweight")
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def test_unknown_dashboard_during_preview_is_not_applicable() -> None:
    registrations = stack_resources("prod")
    find(registrations, "fleet-dashboard").inputs["dashboardBody"] = UNKNOWN_STRING_VALUE
    assert check_stack(policy(NAME), registrations) is None


def test_the_stacks_dashboard_body_is_json_with_a_widget_per_tier() -> None:
    body = json.loads(find(stack_resources("prod"), "fleet-dashboard").inputs["dashboardBody"])
    assert len(body["widgets"]) == 3
