"""Will it fit? The model against the tier's GPUs: refused where the stack pinned a shape it
cannot fit (exit 2, naming the key and the numbers), planned with the tensor parallelism and
sessions vLLM's memory budget allows where it did not."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components import VllmService
from facts.resource_types import DEPLOYMENT
from infra.config import ConfigError, parse_stack_config
from infra.offline.manifests import manifest
from infra.plan import plan_fleet
from tests.components.builders import tier_args, tier_plan
from tests.components.support import one, run
from tests.helpers import stack_values

TIERS = "agentfleet:fleet.tiers"
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"


def with_tier(tier: str, **keys: Any) -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"][tier].update(keys)
    return values


def refusal(values: dict[str, Any]) -> tuple[str, str]:
    with pytest.raises(ConfigError) as raised:  # reading or planning: before any resource
        plan_fleet(parse_stack_config(values))
    ((where, reason),) = raised.value.problems
    return where, reason


def test_llama70b_on_one_pinned_l40s_is_refused() -> None:
    """141 GB (131.4 GiB) of bf16 weights; one L40S (44.4 GiB as CUDA sees it) gives vLLM
    0.9 x 44.4 = 40.0 GiB."""
    values = with_tier("lightweight", model=LLAMA_70B, instanceType="g6e.2xlarge")
    where, reason = refusal(values)
    assert where == f"{TIERS}.lightweight.instanceType"
    assert reason.startswith(f"{LLAMA_70B} needs 131.4 GiB of weights; one L40S has 40.0 GiB")
    assert reason.endswith(
        "choose an instance type with more GPUs (tensor parallelism) or a smaller model"
    )


def test_llama70b_with_too_few_pinned_gpus_names_gpus_per_replica() -> None:
    values = with_tier("orchestrator", model=LLAMA_70B, gpu="h100-sxm", gpusPerReplica=2)
    where, reason = refusal(values)
    assert where == f"{TIERS}.orchestrator.gpusPerReplica"
    assert "needs 131.4 GiB of weights (65.7 GiB a GPU); each of 2 H100s has 71.3 GiB" in reason


def test_llama70b_on_h100_sxm_gets_tensor_parallelism() -> None:
    """Two H100s hold the weights but not the activations (65.7 + 5.2 + 1.75 > 71.3 GiB);
    four leave 31.5 GiB a rank of KV cache, 412,784 tokens. Streaming 350 tokens takes
    longer than the seed's 3 s on any of them (below), so this tier allows 10 s: 113
    sessions meet that at tensor parallelism 4, which carries the most interactions a GPU."""
    values = with_tier("orchestrator", model=LLAMA_70B, gpu="h100-sxm", serviceSeconds=10)
    tier = tier_plan(values, "orchestrator")
    (group,) = tier.replica_groups
    assert tier.instance.name == "p5.48xlarge"
    assert group.resource_count == 4
    assert (group.kv_tokens, group.max_model_len) == (412_784, 131_072)
    assert (group.sessions_per_replica, group.replicas_per_instance) == (113, 2)
    assert tier.serving.bound == "latency"
    args = tier_args(values, "orchestrator", worker=False).service_args(0)
    registrations = run(lambda: VllmService("orchestrator", args).endpoint)
    pod = manifest(one(registrations, DEPLOYMENT, "orchestrator-deployment"))["spec"]["template"]
    argv = pod["spec"]["containers"][0]["args"]
    assert argv[argv.index("--tensor-parallel-size") + 1] == "4"
    assert argv[argv.index("--max-model-len") + 1] == "131072"
    assert argv[argv.index("--max-num-batched-tokens") + 1] == "8192"
    assert pod["spec"]["containers"][0]["resources"]["limits"]["nvidia.com/gpu"] == "4"


def test_llama70b_cannot_stream_350_tokens_in_3_seconds() -> None:
    """One sequence alone: each step reads 141 GB / 8 of weights at 85% of 3.35 TB/s (6.2 ms)
    and pays 160 all-reduces and the ranks' hand-off (~4 ms): 350 tokens take over 4 s on
    eight H100s, so a ttft-first tier's 3 s (the default serviceSeconds) is refused."""
    where, reason = refusal(with_tier("orchestrator", model=LLAMA_70B, gpu="h100-sxm"))
    assert where == f"{TIERS}.orchestrator.serviceSeconds"
    assert reason.startswith(f"{LLAMA_70B} on 8 x H100 SXM5 at 1 session: TTFT 0.05 s, 350 ")
    assert "4.2 s an interaction; the tier's targets are TTFT 0.5 s and 3 s" in reason


def test_an_8b_model_in_a_10gb_slice_is_refused() -> None:
    values = with_tier("orchestrator", model="meta-llama/Llama-3.1-8B-Instruct", mig={"1g.10gb": 7})
    where, reason = refusal(values)
    assert where == f"{TIERS}.orchestrator.mig"
    # 8.03e9 x 2 B = 15.0 GiB; the slice has 9.75 GiB, 0.9 of it is 8.8
    assert reason.startswith(
        "meta-llama/Llama-3.1-8B-Instruct needs 15.0 GiB of weights; a 1g.10gb slice has 8.8 GiB"
    )


QWEN_32B = "Qwen/Qwen2.5-32B-Instruct"


def test_qwen32b_on_one_a100_plans_what_its_kv_cache_holds() -> None:
    """Pinned to one A100 a replica, the KV cache holds 30,656 tokens: 32 sessions of 950.
    The step reads 65.5 GB of weights (37.8 ms at 85% of 2,039 GB/s) whatever the batch,
    so 29 sessions are already within 10% of the 32's throughput: 15.2 s an interaction."""
    values = with_tier("mid-tier", model=QWEN_32B, gpusPerReplica=1)
    tier = tier_plan(values, "mid-tier")
    (group,) = tier.replica_groups
    assert (group.kv_tokens, group.sessions_per_replica, group.max_num_seqs) == (30_656, 29, 51)
    assert group.max_model_len == 30_656  # what one sequence's KV cache can hold
    assert tier.fit.shapes[0].kv_sessions == 32
    assert tier.serving.bound == "memory"
    # 2500 interactions counted at 3 s take 15.2 s each: 12,650 in flight, 29 a GPU.
    assert tier.needed_gpus == 437


def test_qwen32b_unpinned_takes_two_a100s_a_replica() -> None:
    """Two A100s a replica leave the KV cache room for 323 sessions, and 67 of them already
    keep the pair compute-bound: the pair's GPUs carry 7.0 of the tier's interactions each,
    one A100 (memory-bound on its own weights) 5.7. Four or eight a replica only add
    all-reduces to the same FLOPs."""
    tier = tier_plan(with_tier("mid-tier", model=QWEN_32B), "mid-tier")
    (group,) = tier.replica_groups
    assert (group.resource_count, group.sessions_per_replica, tier.needed_gpus) == (2, 67, 358)
    assert tier.serving.bound == "compute"
    assert tier.fit.notes == (
        "tensor parallelism 2: a GPU carries 7.0 of the tier's interactions, 5.7 at 1 GPU "
        "a replica",
    )


def test_longer_sessions_take_more_gpus_or_more_parallelism() -> None:
    """Size for the whole conversation: each decode step reads a conversation's 16,000
    tokens of KV cache, not 950. On one L40S (pinned) Qwen2.5-7B's KV cache holds 431,632
    tokens, 26 such conversations, and 21 reach 90% of the throughput at 16.9 s an
    interaction. Unpinned, four L40Ss a replica (a g6e.12xlarge) hold 2,485,952 tokens and
    carry 4.5 interactions a GPU (two, 4.4)."""
    values = with_tier("lightweight", sessionTokens=16_000, model="Qwen/Qwen2.5-7B-Instruct")
    tier = tier_plan(values, "lightweight")
    (group,) = tier.replica_groups
    assert (tier.instance.name, group.resource_count) == ("g6e.12xlarge", 4)
    assert (group.kv_tokens, group.sessions_per_replica, tier.needed_gpus) == (2_485_952, 90, 1540)
    values["agentfleet:fleet"]["tiers"]["lightweight"]["instanceType"] = "g6e.2xlarge"
    pinned = tier_plan(values, "lightweight")
    (group,) = pinned.replica_groups
    assert (group.kv_tokens, group.sessions_per_replica, pinned.needed_gpus) == (431_632, 21, 1878)
    assert pinned.fit.shapes[0].kv_sessions == 26


def test_an_unknown_model_is_planned_unchecked() -> None:
    tier = tier_plan(with_tier("lightweight", model="acme/private-model"), "lightweight")
    (group,) = tier.replica_groups
    assert tier.fit.model is None
    assert (group.sessions_per_replica, group.max_model_len, group.kv_tokens) == (50, None, None)


def test_a_model_profile_is_sized_like_the_table() -> None:
    profile = {
        "parametersBillions": 8.03,
        "layers": 32,
        "kvHeads": 8,
        "headDim": 128,
        "dtype": "bfloat16",
        "maxModelLen": 131072,
        "attentionHeads": 32,
        "vocabSize": 128256,
    }
    with_profile = tier_plan(
        with_tier("lightweight", model="acme/llama-8b-ft", modelProfile=profile), "lightweight"
    )
    table = tier_plan(
        with_tier("lightweight", model="meta-llama/Llama-3.1-8B-Instruct"), "lightweight"
    )
    assert with_profile.replica_groups[0].kv_tokens == pytest.approx(
        table.replica_groups[0].kv_tokens, abs=16
    )
    too_big = {**profile, "parametersBillions": 70.6, "layers": 80, "attentionHeads": 64}
    where, reason = refusal(
        with_tier("lightweight", model="acme/big", modelProfile=too_big, instanceType="g6e.xlarge")
    )
    assert where == f"{TIERS}.lightweight.instanceType"
    assert reason.startswith("acme/big needs 131.5 GiB of weights")


LLAMA_70B_CONFIG = {
    "model_type": "llama",
    "hidden_size": 8192,
    "intermediate_size": 28672,
    "num_attention_heads": 64,
    "num_hidden_layers": 80,
    "num_key_value_heads": 8,
    "vocab_size": 128256,
    "max_position_embeddings": 131072,
    "torch_dtype": "bfloat16",
}


def test_a_local_model_directory_is_read_from_its_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the project folder the plan runs in
    config = tmp_path / "model" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps(LLAMA_70B_CONFIG), encoding="utf-8")
    where, reason = refusal(with_tier("lightweight", model="./model", instanceType="g6e.xlarge"))
    assert where == f"{TIERS}.lightweight.instanceType"
    assert reason.startswith("./model needs 131.4 GiB of weights")
    config.write_text("{not json", encoding="utf-8")
    where, reason = refusal(with_tier("lightweight", model="./model"))
    assert where == f"{TIERS}.lightweight.model"
    assert reason.startswith(f"cannot read {config}")
    config.write_bytes(b" " * 1_000_001)
    where, reason = refusal(with_tier("lightweight", model="./model"))
    assert reason == f"{config} is over 1,000,000 bytes: not a model's"


def test_a_stack_cannot_make_the_plan_read_files_outside_its_project(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stack file under review names the model: an absolute path is the image's, never
    read here, and a project folder whose config.json links outside is not read either (a
    linked secret would reach the plan's output)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.json").write_text(json.dumps(LLAMA_70B_CONFIG), encoding="utf-8")
    project = tmp_path / "project"
    (project / "linked").mkdir(parents=True)
    (project / "linked" / "config.json").symlink_to(outside / "config.json")
    (project / "away").symlink_to(outside)
    monkeypatch.chdir(project)
    for model in (str(outside), "./linked", "./away"):
        plan = plan_fleet(parse_stack_config(with_tier("lightweight", model=model)))
        assert plan.tier("lightweight").fit.model is None, model  # unknown: nothing read


def test_a_model_that_is_no_model_name_is_refused_before_it_reaches_vllm() -> None:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(with_tier("lightweight", model='--kv-transfer-config={"x":1}'))
    ((where, reason),) = raised.value.problems
    assert where == f"{TIERS}.lightweight.model"
    assert "is not a model: give a Hugging Face id" in reason


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("sessionTokens", 0, "input should be greater than or equal to 1"),
        ("gpuMemoryUtilization", 1.5, "must be above 0 and at most 1 (got 1.5)"),
        ("modelProfile", {"layers": 32}, "required key is missing"),
    ],
)
def test_bad_sizing_keys_are_named(key: str, value: object, reason: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(with_tier("lightweight", **{key: value}))
    where, said = raised.value.problems[0]
    assert where.startswith(f"{TIERS}.lightweight.{key}")
    assert said.startswith(reason)


# --- co-resident models on MIG ---------------------------------------------------------

BGE = "BAAI/bge-large-en-v1.5"


def coresident(**keys: Any) -> dict[str, Any]:
    """The seed's layout: a 7B orchestrator in a 2g.20gb slice, an embedding service in a
    1g.10gb slice, on each H100. The 2g.20gb slice has a quarter of the GPU's bandwidth:
    350 tokens of a 7B model take 8.1 s there, so the tier allows 10 s."""
    return with_tier(
        "orchestrator",
        **{
            "mig": {"2g.20gb": 1, "1g.10gb": 1},
            "migModels": {"1g.10gb": BGE},
            "serviceSeconds": 10,
            **keys,
        },
    )


def test_each_co_resident_model_is_checked_against_its_own_slice() -> None:
    """Qwen2.5-7B in 2g.20gb (19.62 GiB): 14,032 tokens of KV, 14 sessions of 8.4 s;
    bge-large in 1g.10gb: 1.2 GiB of fp32 weights, no KV cache. The tier's 500
    interactions are the 7B's: 419 in flight at 8.4 s counted at 10 s, 30 GPUs. Each node
    keeps one copy of each model."""
    tier = tier_plan(coresident(), "orchestrator")
    qwen, bge = tier.replica_groups
    assert (qwen.profile, qwen.model, qwen.sessions_per_replica) == (
        "2g.20gb",
        "Qwen/Qwen2.5-7B-Instruct",
        14,
    )
    assert (bge.profile, bge.model, bge.kv_tokens, bge.max_model_len) == ("1g.10gb", BGE, 0, 512)
    assert tier.needed_gpus == 30  # ceil(419 / 14)
    assert [shape.serving.bound for shape in tier.fit.shapes] == ["kv", "latency"]
    assert bge.in_flight_target == bge.sessions_per_replica  # its own queue, no planned load
    # 15 + 10 GiB for Qwen2.5-7B, 2 + 10 for bge-large, 60 for images and the system
    assert (tier.storage.need_gib, tier.storage.replica_cache_gib) == (97, 25)


def test_a_co_resident_model_too_big_for_its_slice_names_its_key() -> None:
    values = coresident(migModels={"1g.10gb": "meta-llama/Llama-3.1-8B-Instruct"})
    where, reason = refusal(values)
    assert where == f"{TIERS}.orchestrator.migModels.1g.10gb"
    assert reason.startswith("meta-llama/Llama-3.1-8B-Instruct needs 15.0 GiB of weights")


def test_a_slice_too_slow_for_the_targets_names_the_target() -> None:
    where, reason = refusal(coresident(serviceSeconds=3))
    assert where == f"{TIERS}.orchestrator.serviceSeconds"
    assert reason.startswith(
        "2g.20gb slice: Qwen/Qwen2.5-7B-Instruct on 1 x H100 SXM5 (2/7 MIG slice) at 1 session"
    )
    assert "8.1 s an interaction" in reason


@pytest.mark.parametrize(
    ("keys", "reason"),
    [
        ({"mig": None}, "co-resident models need a MIG layout (mig)"),
        ({"migModels": {"3g.40gb": BGE}}, "3g.40gb is not a profile of mig (2g.20gb, 1g.10gb)"),
        (
            {"migModels": {"2g.20gb": BGE, "1g.10gb": BGE}},
            "every profile serves another model: Qwen/Qwen2.5-7B-Instruct (the tier's model, "
            "which sizes it) would run nowhere",
        ),
    ],
)
def test_mig_models_must_fit_the_layout(keys: dict[str, Any], reason: str) -> None:
    values = coresident(**keys)
    if keys.get("mig", True) is None:
        del values["agentfleet:fleet"]["tiers"]["orchestrator"]["mig"]
    where, said = refusal(values)
    assert (where, said) == (f"{TIERS}.orchestrator.migModels", reason)
