"""K3: the fleet has a cost budget with alerts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.checklist import BUDGET_ALERT_PERCENTS
from facts.resource_types import BUDGET
from policies.building import PolicyMeta, Report, Setting, policy
from policies.pools import by_type, pools
from policies.properties import items, mapping, number, show

META = PolicyMeta(
    name="cost-budget-alerts",
    item="K3",
    severity="high",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.budgetPerHourUsd",
        "agentfleet:fleet",
    ),
    description="The fleet has a cost budget with alerts.",
    remediation="Set agentfleet:fleet.budgetPerHourUsd (an AWS Budget with alerts at "
    f"{' and '.join(f'{p}%' for p in BUDGET_ALERT_PERCENTS)}).",
    settings={
        "thresholds": Setting(
            "array", list(BUDGET_ALERT_PERCENTS), "Percentages of the budget that must notify."
        )
    },
)


def check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if not pools(args.resources):
        args.not_applicable("the stack has no inference pool")
    budgets = [b for b in by_type(args.resources, BUDGET)
               if (b.props.get("budgetType") or "COST") == "COST"]  # fmt: skip
    if not budgets:
        report(
            "the fleet has no cost budget; want an AWS Budget with alerts. Set "
            "agentfleet:fleet.budgetPerHourUsd."
        )
        return
    wanted = {float(t) for t in items(config["thresholds"])}
    for budget in budgets:
        notified = {
            number(mapping(n).get("threshold"))
            for n in items(budget.props.get("notifications"))
            if mapping(n).get("subscriberSnsTopicArns")
            or mapping(n).get("subscriberEmailAddresses")
        }
        missing = sorted(wanted - {n for n in notified if n is not None})
        if missing:
            report(
                f"budget {budget.props.get('name') or budget.name} does not notify anyone at "
                f"{', '.join(show(m) + '%' for m in missing)}; want alerts at "
                f"{', '.join(show(t) + '%' for t in sorted(wanted))}. Add notifications "
                "with a subscriber.",
                budget.urn,
            )


POLICY = policy(META, check)
