"""A tier's time to ready, from the start-up model's cited figures: printed by the plan and
in its JSON."""

from __future__ import annotations

import json

import pytest

from facts import startup
from infra.cli import main
from infra.config import parse_stack_config
from infra.plan import plan_fleet
from infra.startup import tier_startup
from tests.helpers import stack_values


def test_a_replica_from_nothing_is_a_node_the_image_the_weights_and_vllms_engine() -> None:
    """prod's orchestrator: a p5.4xlarge (16 vCPUs: AWS caps its internet traffic at 5 Gbps,
    below a pod's 0.65 GB/s from the hub) starts in 90 s and pulls the vLLM image in 180 s;
    the pod starts in 30 s, downloads Qwen2.5-7B's 14.2 GiB at 5 Gbps, and vLLM's engine
    starts in 39.0 s (7.6 B parameters, on the line through Llama-3-8B's 39.34 s and
    Llama-3-70B's 91.82 s)."""
    plan = plan_fleet(parse_stack_config(stack_values("prod")))
    start = tier_startup(plan.tier("orchestrator"))
    internet = 5e9 / 8 / 2**30
    assert start.node_gib_per_second == pytest.approx(internet)
    engine = 39.34 + (91.82 - 39.34) * (start.parameters - 8e9) / 62e9
    assert engine == pytest.approx(39.0, abs=0.1)
    assert start.time_to_ready == pytest.approx(90 + 180 + 30 + start.weights_gib / internet
                                                + engine)  # fmt: skip
    assert start.weights_gib == pytest.approx(14.19, abs=0.01)
    assert startup.EKS_EVICTION_SECONDS == 900


def test_the_plan_prints_each_tiers_time_to_ready(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--stack", "prod", "--json"]) in (0, 1)
    tiers = {t["tier"]: t for t in json.loads(capsys.readouterr().out)["tiers"]}
    plan = plan_fleet(parse_stack_config(stack_values("prod")))
    for tier in plan.tiers:
        seconds = tiers[tier.name]["timeToReadySeconds"]
        assert seconds == round(tier_startup(tier).time_to_ready)
    assert tiers["orchestrator"]["timeToReadySeconds"] == 363
    assert main(["validate", "--stack", "prod"]) in (0, 1)
    text = capsys.readouterr().out
    assert "time to ready (a new node, then a replica on it" in text
    assert "  mid-tier: 362 s: node and vLLM image 270 s" in text
    assert "a node update drains 8 replicas a node, 4 at once" in text
