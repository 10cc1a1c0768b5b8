"""K3: the fleet has a cost budget with alerts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from policies.stack import by_type, pools
from policies.support import Report, items, mapping, number, show, stack_policy

BUDGET = "aws:budgets/budget:Budget"


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


POLICY = stack_policy("cost-budget-alerts", check)
