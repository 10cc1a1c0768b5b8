"""The batch each tier's replicas are planned for, from the serving model and the tier's
targets: the largest that meets a ttft-first tier's targets, the knee of a throughput-first
tier's curve, what the KV cache or a pin allows; and the tier sized for what is in flight
at that batch's pace (Little's law)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from facts import models
from facts.catalog import CATALOG
from facts.serving import Replica, Workload
from facts.vllm_memory import budget
from infra.cli import main
from infra.config import ConfigError, parse_stack_config
from infra.physics import KNEE, PhysicsError, Targets, plan_serving, replica
from infra.plan import TierPlan, plan_fleet
from infra.sizing import ceil_div
from tests.helpers import stack_values

TIERS = "agentfleet:fleet.tiers"


def planned(values: dict[str, Any]) -> dict[str, TierPlan]:
    return {tier.name: tier for tier in plan_fleet(parse_stack_config(values)).tiers}


def prod(tier: str, **keys: Any) -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"][tier].update(keys)
    return values


def refusal(values: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ConfigError) as raised:
        plan_fleet(parse_stack_config(values))
    ((where, reason),) = raised.value.problems
    return where, reason


def lead(tier: TierPlan) -> Replica:
    """The tier's replica as the serving model ran it."""
    serving = tier.serving
    assert serving.replica is not None
    return serving.replica


def workload(tier: TierPlan) -> Workload:
    config = tier.config
    return Workload(config.input_tokens, config.output_tokens, config.session_tokens)


def test_a_ttft_first_tier_runs_the_largest_batch_that_meets_its_targets() -> None:
    tier = planned(stack_values("prod"))["orchestrator"]
    run, work = lead(tier), workload(tier)
    sessions = tier.serving.sessions
    assert tier.serving.bound == "latency"
    assert run.point(sessions, work).e2e_seconds <= 3
    assert run.point(sessions + 1, work).e2e_seconds > 3
    assert run.point(sessions, work).ttft_seconds <= 0.5


def test_a_throughput_first_tier_runs_the_knee_of_its_curve() -> None:
    """The smallest batch within 10% of the throughput of the largest one its request
    timeout and KV cache allow: more sessions would only make every reply slower."""
    tier = planned(stack_values("prod"))["lightweight"]
    run, work = lead(tier), workload(tier)
    sessions = tier.serving.sessions
    most = run.max_sessions(work)
    assert most is not None
    best = run.point(most, work).interactions_per_second
    assert run.point(most, work).e2e_seconds <= tier.config.request_timeout_seconds
    assert run.point(sessions, work).interactions_per_second >= KNEE * best
    assert run.point(sessions - 1, work).interactions_per_second < KNEE * best
    # at 171 sessions the step still reads more than it computes; it turns compute-bound
    # past ~250, where the throughput is all but flat
    assert tier.serving.bound == run.point(sessions, work).bound == "memory"
    assert run.point(300, work).bound == "compute"


def test_the_tier_holds_what_is_in_flight_at_its_pace() -> None:
    """Demand is expectedConcurrency / serviceSeconds interactions a second; each takes the
    batch's interaction time, so expectedConcurrency x that / serviceSeconds are in flight,
    in replicas of the planned batch (prod's lightweight: 7000 x 5.82 / 3 = 13,581, 80
    replicas of 171)."""
    for tier in planned(stack_values("prod")).values():
        serving, shape = tier.serving, tier.fit.shapes[0]
        held = tier.in_flight(tier.config.expected_concurrency)
        assert serving.interaction_seconds is not None
        assert held == pytest.approx(
            tier.config.expected_concurrency * serving.interaction_seconds / 3, abs=2
        )
        assert tier.needed_gpus == ceil_div(held, serving.sessions) * shape.tensor_parallel


def test_a_pin_the_replica_cannot_serve_is_refused_with_the_numbers() -> None:
    where, reason = refusal(prod("orchestrator", concurrencyPerGpu=150))
    assert where == f"{TIERS}.orchestrator.concurrencyPerGpu"
    assert reason == (
        "Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 at 150 sessions: TTFT 0.04 s, 350 tokens "
        "out at 13.0 ms each, 4.6 s an interaction; the tier's targets are TTFT 0.5 s and 3 s "
        "an interaction: lower concurrencyPerGpu or unset it"
    )


def test_the_command_line_refuses_such_a_pin_with_exit_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    stack = tmp_path / "Pulumi.pinned.yaml"
    stack.write_text(yaml.safe_dump({"config": prod("orchestrator", concurrencyPerGpu=150)}))
    assert main(["validate", "--config", str(stack)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("agentfleet: invalid configuration\n")
    assert f"{TIERS}.orchestrator.concurrencyPerGpu: Qwen/Qwen2.5-7B-Instruct on 1 x H100" in err


def test_a_pin_beyond_the_kv_cache_is_held_to_the_targets_at_what_it_holds() -> None:
    """300 sessions a GPU of Llama-3.1-8B on L40S: the KV cache holds fewer, and even those
    stream far slower than 3 s an interaction."""
    values = stack_values("dev")
    values["agentfleet:fleet"]["tiers"]["assistant"].update(
        latencyClass="ttft-first", model="meta-llama/Llama-3.1-8B-Instruct", concurrencyPerGpu=300
    )
    where, reason = refusal(values)
    assert where == f"{TIERS}.assistant.concurrencyPerGpu"
    assert "17.6 s an interaction" in reason


def test_a_pin_beyond_the_kv_cache_that_meets_the_targets_is_kv_bound() -> None:
    tier = planned(prod("lightweight", concurrencyPerGpu=2000))["lightweight"]
    kv = tier.fit.shapes[0].kv_sessions
    assert (tier.serving.sessions, tier.serving.bound) == (kv, "kv")
    assert tier.serving.point is not None  # held to the request timeout at what it holds


@pytest.mark.parametrize(
    ("keys", "where", "said"),
    [
        ({"inputTokens": 32_500}, "inputTokens", "32500 tokens in and 350 out exceed "
         "Qwen/Qwen2.5-7B-Instruct's context of 32768 tokens"),
        ({"sessionTokens": 40_000}, "sessionTokens", "40000 tokens a session exceed"),
    ],
)  # fmt: skip
def test_interactions_beyond_the_models_context_are_refused(
    keys: dict[str, Any], where: str, said: str
) -> None:
    key, reason = refusal(prod("orchestrator", **keys))
    assert key == f"{TIERS}.orchestrator.{where}"
    assert said in reason


def test_an_encoders_requests_beyond_its_context_are_refused_unless_defaulted() -> None:
    """bge-large reads 512 tokens: the default 600 is cut to that, a set 2,000 refused."""
    values = stack_values("dev")
    assistant = values["agentfleet:fleet"]["tiers"]["assistant"]
    assistant["model"] = "BAAI/bge-large-en-v1.5"
    assert planned(values)["assistant"].serving.sessions > 0
    assistant["inputTokens"] = 2000
    where, reason = refusal(values)
    assert where == f"{TIERS}.assistant.inputTokens"
    assert (
        reason == "BAAI/bge-large-en-v1.5 reads at most 512 tokens a request; inputTokens is 2000"
    )


def test_a_pin_it_can_serve_holds_and_says_so() -> None:
    tier = planned(prod("orchestrator", concurrencyPerGpu=64))["orchestrator"]
    assert (tier.serving.sessions, tier.serving.bound) == (64, "pin")
    assert tier.replica_groups[0].max_num_seqs == 112


def test_a_pinned_max_num_seqs_caps_the_batch_inside_c2s_band() -> None:
    tier = planned(prod("orchestrator", maxNumSeqs=90))["orchestrator"]
    assert (tier.serving.sessions, tier.serving.bound) == (60, "pin")  # 90 / 1.5
    assert tier.replica_groups[0].max_num_seqs == 90


def test_a_ttft_target_below_the_prefill_names_its_key() -> None:
    where, reason = refusal(prod("orchestrator", slaTtftSeconds=0.01))
    assert where == f"{TIERS}.orchestrator.slaTtftSeconds"
    # the nearest miss: four H100s a replica prefill the prompt fastest
    assert "on 4 x H100 SXM5 at 1 session: TTFT 0.02 s" in reason
    assert "the tier's targets are TTFT 0.01 s and 3 s an interaction" in reason


def test_a_throughput_first_tier_takes_its_limit_from_service_seconds_when_set() -> None:
    """Unset, a throughput-first tier may take up to its request timeout; set, serviceSeconds
    is the limit (and a tier too slow for it is refused on that key)."""
    loose = planned(stack_values("prod"))["lightweight"]
    tight = planned(prod("lightweight", serviceSeconds=4))["lightweight"]
    assert loose.serving.interaction_seconds is not None
    assert tight.serving.interaction_seconds is not None
    assert loose.serving.interaction_seconds > 4 >= tight.serving.interaction_seconds
    assert tight.serving.sessions < loose.serving.sessions
    where, _ = refusal(prod("lightweight", serviceSeconds=1))
    assert where == f"{TIERS}.lightweight.serviceSeconds"
    where, _ = refusal(prod("lightweight", requestTimeoutSeconds=1, slaTtftSeconds=0.5))
    assert where == f"{TIERS}.lightweight.requestTimeoutSeconds"


def test_longer_replies_take_more_gpus() -> None:
    """500 tokens in 3 s is 6 ms a token: one H100 cannot stream Qwen2.5-7B's 15.2 GB of
    weights that fast even alone, so the replica takes four (a p5.48xlarge)."""
    base = planned(stack_values("prod"))["orchestrator"]
    longer = planned(prod("orchestrator", outputTokens=500))["orchestrator"]
    assert longer.config.session_tokens == 1100  # the default: in + out
    assert (longer.instance.name, longer.fit.shapes[0].tensor_parallel) == ("p5.48xlarge", 4)
    assert longer.needed_gpus > 2 * base.needed_gpus


def test_a_users_three_tier_stack_is_sized_by_each_model() -> None:
    """A Llama-3.1-8B router on H100s, a Llama-3.1-70B researcher on p5.48xlarge and
    bge-large embeddings on L40S. The catalog gave the 70B the 8B's 100 sessions a GPU and
    the encoder 50 generation sessions a GPU (40 L40S for 2,000 requests); the serving
    model gives the 70B a third of the 8B's interactions a GPU, and the encoder two L40S
    (2,000 requests of 512 tokens counted at 3 s: 667 a second, ~460 a GPU)."""
    values = stack_values("dev")
    values["agentfleet:fleet"]["tiers"] = {
        "router": {"gpu": "h100-sxm", "latencyClass": "ttft-first", "userFacing": True,
                   "model": "meta-llama/Llama-3.1-8B-Instruct", "expectedConcurrency": 400,
                   "instanceType": "p5.4xlarge"},
        "researcher": {"gpu": "h100-sxm", "latencyClass": "throughput-first",
                       "userFacing": False, "model": "meta-llama/Llama-3.1-70B-Instruct",
                       "expectedConcurrency": 400},
        "embeddings": {"gpu": "l40s", "latencyClass": "throughput-first", "userFacing": False,
                       "model": "BAAI/bge-large-en-v1.5", "expectedConcurrency": 2000,
                       "inputTokens": 512},
    }  # fmt: skip
    tiers = planned(values)
    router, researcher, embeddings = tiers["router"], tiers["researcher"], tiers["embeddings"]
    per_gpu = {
        name: tier.config.expected_concurrency / tier.needed_gpus for name, tier in tiers.items()
    }
    assert per_gpu["researcher"] < per_gpu["router"] / 3 * 1.5
    assert researcher.fit.shapes[0].tensor_parallel == 4
    assert router.serving.bound == "latency"
    assert embeddings.needed_gpus == 2
    assert embeddings.needed_gpus < ceil_div(2000, CATALOG["l40s"].interactions_per_gpu) / 10


def test_without_a_model_the_catalog_figure_holds() -> None:
    tier = planned(prod("lightweight", model="acme/private-model"))["lightweight"]
    assert (tier.serving.sessions, tier.serving.bound, tier.serving.point) == (50, "catalog", None)
    assert tier.needed_gpus == 140  # the seed's 7,000 / 50


def test_plan_serving_refuses_a_target_no_batch_meets() -> None:
    model = models.MODELS["meta-llama/Llama-3.1-70B-Instruct"]
    gpu = CATALOG["h100-sxm"]
    device = budget(model, gpu.memory_gib, "H100", 8)
    run = replica(model, device, gpu, gpu.instance_type("p5.48xlarge"), 8)
    assert run is not None
    targets = Targets(0.5, 3.0, Decimal(3), throughput_first=False)
    with pytest.raises(PhysicsError) as raised:
        plan_serving(run, Workload(), targets)
    assert raised.value.key == "serviceSeconds"
    relaxed = plan_serving(run, Workload(), Targets(0.5, 10.0, Decimal(3), False))
    assert relaxed.bound == "latency"
