"""M3: a dashboard shows each tier's queue depth beside its GPU instance count."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE

from infra.offline.mocks import Registration
from tests.policies.support import (
    StackCase,
    StackChange,
    assert_stack_case,
    check_stack,
    find,
    policy,
    stack_resources,
    without,
)

NAME = "queue-depth-dashboard"


def instance_rows(change: Callable[[list[Any]], list[Any]]) -> StackChange:
    """The stack's dashboard with each widget's instance-count row changed."""

    def apply(registrations: list[Registration]) -> list[Registration]:
        dashboard = find(registrations, "fleet-dashboard")
        body = json.loads(dashboard.inputs["dashboardBody"])
        for widget in body["widgets"]:
            rows = widget["properties"]["metrics"]
            rows[1] = change(rows[1])
        dashboard.inputs["dashboardBody"] = json.dumps(body)
        return registrations

    return apply


UNSHOWN: list[tuple[str, str | None]] = [
    (
        f"queue {{{t}}} (tier {t}) is on no dashboard beside its GPU instances; want one "
        "widget with both. Add it (components.FleetMonitoring).",
        f"{t}-queue",
    )
    for t in ("orchestrator", "mid-tier", "lightweight")
]

CASES: dict[str, StackCase] = {
    "m3-ok": (lambda rs: rs, []),
    # The group's own metric counts too (where its metrics collection is on).
    "m3-group-metric": (
        instance_rows(lambda row: ["AWS/AutoScaling", "GroupInServiceInstances", *row[2:4]]),
        [],
    ),
    # An average CPU line is not a count of instances.
    "m3-cpu-average-is-no-count": (
        instance_rows(lambda row: [*row[:4], {"stat": "Average"}]),
        UNSHOWN,
    ),
    "m3-no-dashboard": (without("aws:cloudwatch/dashboard:Dashboard"), UNSHOWN),
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
