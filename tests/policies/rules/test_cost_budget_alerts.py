"""K3: the fleet has a cost budget with alerts."""

from __future__ import annotations

import pytest

from infra.offline.mocks import Registration
from tests.policies.support import (
    StackCase,
    assert_no_pool_no_check,
    assert_stack_case,
    edit,
    prod_with,
    without,
)

NAME = "cost-budget-alerts"

CASES: dict[str, StackCase] = {
    "k3-no-budget": (
        without("aws:budgets/budget:Budget"),
        [
            (
                "the fleet has no cost budget; want an AWS Budget with alerts. Set "
                "agentfleet:fleet.budgetPerHourUsd.",
                None,
            )
        ],
    ),
    "k3-no-early-warning": (
        edit(
            "fleet-budget",
            lambda i: i.update(
                notifications=[n for n in i["notifications"] if n["threshold"] == 100.0]
            ),
        ),
        [
            (
                "budget agentfleet-agents-prod-fleet does not notify anyone at 80%; want alerts at "
                "80%, 100%. Add notifications with a subscriber.",
                "fleet-budget",
            )
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_stack_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(lambda fleet: fleet.pop("budgetPerHourUsd"))


def test_no_pool_no_check() -> None:
    assert_no_pool_no_check(NAME)
