"""The simulator's engine: pinned to queueing theory (Erlang C, Little's law), and the
scaling behaviour it exists to show (queue depth against GPU utilisation and a static
peak; a slow climb losing the SLA)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from facts.autoscaling import Policy, Rules, ScaledObject, Trigger
from infra.config.loading import read_stack_file
from infra.simulation.engine import STRATEGIES, Lane, queue_depth, simulate, static_peak
from infra.simulation.run import simulate_stack
from infra.simulation.stats import fleet_sla, lane_stats
from tests.infra.simulation.support import fixed_fleet


def erlang_c_wait(servers: int, rate: float, hold: float) -> float:
    """Mean queue wait of M/M/c: C(c, a) / (c mu - lambda), a = lambda / mu."""
    offered = rate * hold
    below = sum(offered**k / math.factorial(k) for k in range(servers))
    top = offered**servers / math.factorial(servers) * servers / (servers - offered)
    return top / (below + top) / (servers / hold - rate)


@pytest.mark.integration
def test_a_fixed_fleet_waits_as_erlang_c_says_and_keeps_littles_law() -> None:
    """50 sessions (min = max), Poisson arrivals, exponential holds of 3 s, at 80%, 90% and
    97% load; 16 seeds each, 10,000 s at 0.1 s steps."""
    servers, hold, loads, seeds = 50, 3.0, (0.8, 0.9, 0.97), 16
    lanes = [
        Lane(fixed_fleet(servers, hold), "static-peak", static_peak(fixed_fleet(servers, hold)))
        for _ in loads
        for _ in range(seeds)
    ]
    rates = np.repeat([[load * servers / hold] for load in loads], seeds, axis=0)
    run = simulate(lanes, np.repeat(rates, 100_000, axis=1), dt=0.1, seed=7)
    for k, load in enumerate(loads):
        stats = [lane_stats(run, k * seeds + s) for s in range(seeds)]
        rate = load * servers / hold
        wait = float(np.mean([s.queue_wait_mean for s in stats]))
        assert wait == pytest.approx(erlang_c_wait(servers, rate, hold), rel=0.10), load
        queue = float(np.mean([s.queue_mean for s in stats]))
        assert queue == pytest.approx(rate * wait, rel=0.02), f"Little's law at {load}"


@pytest.mark.integration
@pytest.mark.parametrize("seed", [1, 3])
def test_the_stacks_scaling_meets_the_sla_as_often_as_gpu_utilisation_for_less_than_static_peak(
    seed: int,
) -> None:
    """The seed's claims on a weekday of the diurnal trace, through the prod stack as its
    program declares it: its queue-depth scaling (with its business-hours pre-scaling)
    meets the user-facing tier's TTFT target as often as an HPA on GPU utilisation at 70%
    (to a tenth of a percentage point), and costs less than holding every tier at its
    planned peak, which is what the utilisation HPA costs: every replica that runs a
    sequence reads its kernel duty (78-94%), above the target. Seed 1 has a burst past
    every tier's ceiling. A background tier runs its replicas nearly full
    (its headroom is sized for 95% of interactions starting within its minute, not for
    70% utilisation): through seed 1's burst the mid-tier still starts over 99% in time."""
    values = read_stack_file(Path("stacks/Pulumi.prod.yaml"))
    result = simulate_stack("prod", values, seconds=86_400, seed=seed)
    stack, utilisation, static = ({s.tier: s for s in result.of(name)} for name in STRATEGIES)
    user_facing = {
        name for name, tier in values["agentfleet:fleet"]["tiers"].items() if tier["userFacing"]
    }
    for tier, ours in stack.items():
        assert ours.interactions == utilisation[tier].interactions  # the same draw of arrivals
        if tier in user_facing:
            assert ours.sla_attainment >= utilisation[tier].sla_attainment - 1e-3, tier
        else:
            assert ours.sla_attainment >= 0.99, tier
        assert ours.cost < static[tier].cost, tier
        # GPU utilisation as dcgm-exporter reads it stays above the 70% target whenever a
        # replica runs a sequence: that HPA climbs to the ceiling and costs static peak's
        assert utilisation[tier].cost == pytest.approx(static[tier].cost, rel=0.01), tier
    assert fleet_sla(stack.values()) >= 0.99
    assert sum(s.cost for s in stack.values()) < 0.75 * sum(s.cost for s in static.values())


def test_a_slow_climb_visibly_loses_the_sla() -> None:
    """The load steps from a tenth to 90% of a 20-replica ceiling. A ScaledObject whose
    scale-up adds one pod a minute (the rendered settings the deploy-semantics issue found)
    queues for many minutes; the HPA's default climb (double every 15 s) does not."""
    rules_down = Rules.from_spec(None, up=False)
    trigger = Trigger("task-queue", "aws-sqs-queue", target=10.0)
    slow = ScaledObject(1, 20, (trigger,), Rules(0, (Policy("Pods", 1, 60),)), rules_down)
    fast = ScaledObject(1, 20, (trigger,), Rules.from_spec(None, up=True), rules_down)
    rate = np.concatenate([np.full(600, 0.1 * 200 / 3), np.full(3000, 0.9 * 200 / 3)])
    lanes = []
    for scaled in (slow, fast):
        tier = fixed_fleet(10, scaled=scaled)
        lanes.append(Lane(tier, "queue-depth", queue_depth(tier, lambda _: frozenset())))
    run = simulate(lanes, np.stack([rate, rate]), seed=1)
    slow_stats, fast_stats = lane_stats(run, 0), lane_stats(run, 1)
    assert fast_stats.sla_attainment > 0.85
    assert slow_stats.sla_attainment < fast_stats.sla_attainment - 0.2
    assert slow_stats.queue_wait_p95 > 60 > fast_stats.queue_wait_p95


def test_a_busy_replica_reads_its_kernel_duty_as_dcgm_reports_it() -> None:
    """NVML's GPU utilisation (dcgm-exporter's DCGM_FI_DEV_GPU_UTIL) is the share of the
    sample period a kernel ran. A vLLM replica with a running sequence runs engine steps back
    to back; each is GPU work plus the host's 1.5 ms. So one running sequence of prod's
    orchestrator (Qwen2.5-7B on an H100 SXM5, a 6.9 ms step) reads 78%, not 1/91 of its
    sessions; an idle replica reads 0; a tier's sum is each replica at its own batch."""
    from facts.serving import STEP_OVERHEAD_SECONDS
    from infra.config import parse_stack_config
    from infra.offline.mocks import run_program
    from infra.physics import demand_of, workload_for
    from infra.plan import plan_fleet
    from infra.simulation.fleet import fleet_models
    from tests.helpers import stack_values

    values = stack_values("prod")
    plan = plan_fleet(parse_stack_config(values))
    registrations, _ = run_program(values, stack="prod", plan=plan)
    model = {m.name: m for m in fleet_models(plan, registrations)}["orchestrator"]
    replica = plan.tier("orchestrator").serving.replica
    assert replica is not None
    workload = workload_for(replica.model, demand_of(plan.tier("orchestrator").config))
    step = replica.step(1, workload.decode_context, workload.input_tokens / 350, 300).seconds
    duty = (step - STEP_OVERHEAD_SECONDS) / step
    assert duty == pytest.approx(0.78, abs=0.01)
    assert model.utilisation_sum(1, 1) == pytest.approx(100 * duty)
    assert model.utilisation_sum(0, 4) == 0
    assert model.utilisation_sum(2, 4) == pytest.approx(2 * 100 * duty)  # two busy, two idle
    at_50 = replica.kernel_duty(50, workload)
    assert model.utilisation_sum(4 * 50, 4) == pytest.approx(4 * 100 * at_50)
    # above 70% x 1.1 whatever the batch: an HPA at 70% never rests while sequences run
    assert min(model.kernel_duty[1:]) > 0.7 * 1.1
