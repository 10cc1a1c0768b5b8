"""A tier's time to ready, from the start-up model's cited figures: printed by the plan and
in its JSON."""

from __future__ import annotations

import json
from typing import Any

import pytest

from facts import startup
from infra.cli import main
from infra.config import parse_stack_config
from infra.plan import plan_fleet
from infra.startup import tier_startup
from tests.helpers import stack_values


def hub_prod() -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"].pop("modelStore")
    return values


def test_a_replica_from_nothing_is_a_node_the_image_the_weights_and_vllms_engine() -> None:
    """prod's orchestrator: a p5.4xlarge starts in 90 s and pulls the vLLM image in 180 s;
    the pod starts in 30 s, reads Qwen2.5-7B's 14.2 GiB, and vLLM's engine starts in 39.0 s
    (7.6 B parameters, on the line through Llama-3-8B's 39.34 s and Llama-3-70B's 91.82 s).
    From the Hub the download is capped by what a 16-vCPU instance may draw from the
    internet (5 Gbps, below a pod's 0.65 GB/s from the Hub); streamed from S3 in the region
    (prod's model store), by the streamer's 3.07 GB/s (15 GB in 4.88 s, Run:ai's benchmark),
    under the instance's whole 100 Gbps."""
    engine = 39.34 + (91.82 - 39.34) * (7.6156e9 - 8e9) / 62e9
    assert engine == pytest.approx(39.0, abs=0.1)
    hub = tier_startup(plan_fleet(parse_stack_config(hub_prod())).tier("orchestrator"))
    internet = 5e9 / 8 / 2**30
    assert hub.node_gib_per_second == pytest.approx(internet)
    assert hub.weights_gib == pytest.approx(14.19, abs=0.01)
    assert hub.time_to_ready == pytest.approx(
        90 + 180 + 30 + hub.weights_gib / internet + engine, abs=0.1
    )
    streamed = tier_startup(
        plan_fleet(parse_stack_config(stack_values("prod"))).tier("orchestrator")
    )
    s3 = 15e9 / 4.88 / 2**30
    assert streamed.download_gib_per_second == pytest.approx(s3, abs=0.01)
    assert streamed.node_gib_per_second == pytest.approx(100e9 / 8 / 2**30)
    assert streamed.time_to_ready == pytest.approx(
        90 + 180 + 30 + streamed.weights_gib / 2.86 + engine, abs=0.1
    )
    assert startup.EKS_EVICTION_SECONDS == 900


def test_the_plan_prints_each_tiers_time_to_ready(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", "--stack", "prod", "--json"]) in (0, 1)
    tiers = {t["tier"]: t for t in json.loads(capsys.readouterr().out)["tiers"]}
    plan = plan_fleet(parse_stack_config(stack_values("prod")))
    for tier in plan.tiers:
        seconds = tiers[tier.name]["timeToReadySeconds"]
        assert seconds == round(tier_startup(tier).time_to_ready)
    assert tiers["orchestrator"]["timeToReadySeconds"] == 344
    assert main(["validate", "--stack", "prod"]) in (0, 1)
    text = capsys.readouterr().out
    assert "time to ready (a new node, then a replica on it" in text
    assert "  mid-tier: 344 s: node and vLLM image 270 s" in text
    assert "of weights from S3 (streamed)" in text
    assert "(the startup probe allows 600 s)" in text
    assert "a node update drains 8 replicas a node, 4 at once" in text


def test_a_model_of_unknown_size_keeps_the_long_startup_probe() -> None:
    """With no shape to weigh the weights by, the probe cannot follow them: it allows what
    it always did, not the floor a weightless model would get."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["mid-tier"]["model"] = "s3://ft-models/bot/v3/"
    start = tier_startup(plan_fleet(parse_stack_config(values)).tier("mid-tier"))
    assert (start.known, start.weights_gib) == (False, 0.0)
    assert start.startup_probe_seconds(8) == startup.STARTUP_PROBE_UNKNOWN_SECONDS == 1200
