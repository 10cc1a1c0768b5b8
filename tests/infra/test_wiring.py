"""The wiring: the plan fills every component's args but what other components output,
and the program adds exactly those; a quantity keeps its name on the way."""

from __future__ import annotations

import pytest

from components import ClusterAddonsArgs, FleetMonitoringArgs, FleetTierArgs
from infra import wiring
from infra.config import parse_stack_config
from infra.plan import plan_fleet
from tests.helpers import stack_values


@pytest.mark.parametrize("stack", ["dev", "staging", "prod", "sandbox"])
def test_the_plan_fills_every_field_the_program_does_not_add(stack: str) -> None:
    plan = plan_fleet(parse_stack_config(stack_values(stack)))
    wired = wiring.fleet(plan)
    for tier in wired.tiers:
        assert set(tier.args) | set(wiring.TIER_PLACEMENT) == set(FleetTierArgs.model_fields)
        assert not set(tier.args) & set(wiring.TIER_PLACEMENT)
    assert set(wired.addons) | set(wiring.ADDONS_PLACEMENT) == set(ClusterAddonsArgs.model_fields)
    assert set(wired.monitoring) | {"tiers"} == set(FleetMonitoringArgs.model_fields)
    assert [tier.name for tier in wired.tiers] == [tier.name for tier in plan.tiers]


def test_a_quantity_keeps_its_name_from_the_stack_key_to_the_autoscaler() -> None:
    """queueDepthPerInstance (per replica, KEDA's queueLength), the plan's in-flight target
    and the tier's scale windows reach the component args under the names they had."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["scaling"] = {
        "queueDepthPerInstance": 4,
        "scaleInIdleSeconds": 600,
    }
    plan = plan_fleet(parse_stack_config(values))
    tier = plan.tier("orchestrator")
    (wired,) = [t for t in wiring.fleet(plan).tiers if t.name == "orchestrator"]
    scaling = wired.args["scaling"]
    assert scaling.queue_depth_per_replica == tier.config.scaling.queue_depth_per_replica == 4
    assert scaling.scale_in_idle_seconds == 600
    assert scaling.scale_out_sustain_seconds == tier.scale_out_sustain_seconds == 60
    (shape,) = wired.args["shapes"]
    assert shape.in_flight_target == tier.replica_groups[0].in_flight_target
    # the backlog alarm: A2's N a replica, at the tier's ceiling of replicas
    assert wired.backlog_alert == 4 * tier.max_replicas


def test_each_tier_alerts_below_its_own_ttft_target() -> None:
    """M1: a tier's p95 TTFT alert fires before its own target is breached, at 80% of it: a
    user-facing 0.5 s tier at 0.4 s, a background tier's minute at 48 s (one fleet-wide
    0.5 s would page all day for a tier whose users wait a minute by design). A fleet that
    sets monitoring.ttftP95AlertSeconds gets that threshold on every tier."""
    values = stack_values("prod")
    plan = plan_fleet(parse_stack_config(values))
    alerts = {tier.name: tier.ttft_alert_seconds for tier in wiring.fleet(plan).tiers}
    targets = {tier.name: float(tier.sla_ttft_seconds) for tier in plan.tiers}
    assert targets == {"orchestrator": 0.5, "mid-tier": 60.0, "lightweight": 60.0}
    assert alerts == {"orchestrator": 0.4, "mid-tier": 48.0, "lightweight": 48.0}
    values["agentfleet:fleet"]["monitoring"]["ttftP95AlertSeconds"] = 0.3
    fixed = wiring.fleet(plan_fleet(parse_stack_config(values)))
    assert {tier.ttft_alert_seconds for tier in fixed.tiers} == {0.3}
