"""What the Pulumi program declares and exports, as functions the program and the
offline preview share."""

from __future__ import annotations

import pulumi

from infra.plan import FleetPlan
from infra.report import money


def export_plan(plan: FleetPlan) -> None:
    """Stack outputs: per tier the instance range, GPUs and cost per hour; the fleet's
    cost per hour."""
    pulumi.export(
        "tiers",
        {
            tier.name: {
                "gpu": tier.gpu,
                "instanceType": tier.instance_type,
                "capacity": tier.capacity,
                "minInstances": tier.min_instances,
                "maxInstances": tier.max_instances,
                "gpus": tier.gpus,
                "costPerHour": money(tier.cost_per_hour),
            }
            for tier in plan.tiers
        },
    )
    pulumi.export("costPerHour", money(plan.cost_per_hour))
    pulumi.export("maxCostPerHour", money(plan.max_cost_per_hour))
