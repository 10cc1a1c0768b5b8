"""The simulator under Karpenter: the nodes as its NodePools hold them (their limits, the
floor a bursting tier keeps, consolidateAfter), its batch window instead of the cluster
autoscaler's scan, and EC2's two-minute warning through its interruption queue; and
``agentfleet simulate --provisioners`` reporting both."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from facts import karpenter
from infra.cli import main
from infra.simulation.engine import Lane, static_peak
from infra.simulation.fleet import (
    AUTOSCALER_SCAN_SECONDS,
    SCALE_DOWN_UNNEEDED_SECONDS,
    go_duration,
    tier_model,
)
from infra.simulation.run import declare
from tests.helpers import stack_values, with_karpenter
from tests.infra.simulation.support import fixed_fleet


def models(values: dict[str, Any]) -> dict[str, Any]:
    plan, registrations = declare("prod", values)
    return {tier.name: tier_model(plan, tier, registrations) for tier in plan.tiers}


def test_the_tiers_are_the_node_pools_the_program_declares() -> None:
    under_autoscaler = models(stack_values("prod"))
    under_karpenter = models(with_karpenter(stack_values("prod")))
    for name, tier in under_karpenter.items():
        before = under_autoscaler[name]
        assert tier.provisioner == "karpenter"
        assert before.provisioner == "cluster-autoscaler"
        # The same ceiling, from the NodePool's GPU limit; no kept floor: its replicas are.
        assert tier.node_max == before.node_max
        assert tier.node_min == 0
        assert tier.burst_max == before.burst_max == 0
        assert tier.launch_delay_seconds == karpenter.BATCH_IDLE_SECONDS
        assert before.launch_delay_seconds == AUTOSCALER_SCAN_SECONDS
        assert tier.empty_node_seconds >= SCALE_DOWN_UNNEEDED_SECONDS
        # EC2's two minutes at worst, either way: EKS drains a managed node group's spot
        # node on it (or on the rebalance recommendation before it), Karpenter on it.
        assert tier.interruption_warning_seconds == 120.0
        assert before.interruption_warning_seconds == 120.0


def test_a_bursting_tier_keeps_its_floor_and_bursts_as_its_node_pools_allow() -> None:
    values = with_karpenter(stack_values("prod"))
    values["agentfleet:fleet"]["tiers"]["orchestrator"].update(
        burst={"capacity": "spot", "maxInstances": 3, "acceptInterruptions": True},
        spotPricePerGpuHour=2.5,
    )
    tier = models(values)["orchestrator"]
    autoscaled = values["agentfleet:cluster"].pop("nodeProvisioner")
    assert autoscaled == "karpenter"
    before = models(values)["orchestrator"]
    assert (tier.node_min, tier.node_max, tier.burst_max) == (
        before.node_min,
        before.node_max,
        before.burst_max,
    )
    assert tier.burst_max == 3


def test_karpenter_asks_for_nodes_a_batch_window_after_the_pods() -> None:
    tier = fixed_fleet(10)
    autoscaled = Lane(tier, "static-peak", static_peak(tier))
    karpentered = replace(tier, launch_delay_seconds=karpenter.BATCH_IDLE_SECONDS)
    provisioned = Lane(karpentered, "static-peak", static_peak(karpentered))
    for lane in (autoscaled, provisioned):
        lane.scale(0.0, 1)
    assert autoscaled.nodes[0].ready_at - provisioned.nodes[0].ready_at == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("service", "warning", "lost"),
    [(60.0, 120.0, 0.0), (240.0, 120.0, 0.5), (240.0, 0.0, 1.0), (120.0, 120.0, 0.0)],
)
def test_a_warned_node_finishes_what_fits_in_the_warning(
    service: float, warning: float, lost: float
) -> None:
    """An interaction is anywhere in its time when the warning comes (uniformly): it is
    lost only if what it has left is longer than the warning."""
    tier = replace(fixed_fleet(10, hold=service), interruption_warning_seconds=warning)
    assert tier.unfinished() == pytest.approx(lost)


def test_simulate_reports_both_provisioners(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--stack", "prod", "--hours", "1", "--strategies", "queue-depth"]
    assert main([*argv, "--provisioners", "cluster-autoscaler,karpenter", "--json"]) == 0
    both = json.loads(capsys.readouterr().out)
    assert set(both["provisioners"]) == {"cluster-autoscaler", "karpenter"}
    for strategies in both["provisioners"].values():
        tiers = [t["tier"] for t in strategies["queue-depth"]["tiers"]]
        assert tiers == ["orchestrator", "mid-tier", "lightweight"]
    # Each is the run the stack would have with that provisioner set in it.
    assert main([*argv, "--json"]) == 0
    alone = json.loads(capsys.readouterr().out)
    assert alone["strategies"] == both["provisioners"]["cluster-autoscaler"]
    assert main([*argv, "--provisioners", "karpenter"]) == 0
    text = capsys.readouterr().out
    assert "karpenter: SLA met" in text
    assert "--- karpenter ---" in text


def test_a_stack_karpenter_cannot_run_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["simulate", "--stack", "staging", "--hours", "1", "--provisioners", "karpenter"]
    assert main(argv) == 2
    assert "agentfleet:fleet.tiers.mid-tier.mig: Karpenter cannot provision MIG" in (
        capsys.readouterr().err
    )
    assert main(["simulate", "--stack", "dev", "--hours", "1", "--provisioners", "kube"]) == 2
    assert "--provisioners" in capsys.readouterr().err


def test_consolidate_after_reads_as_karpenter_writes_it() -> None:
    assert go_duration("900s") == 900.0
    assert go_duration("1h30m") == 5400.0
    assert go_duration("Never") == float("inf")
