"""The serving model against the world: published measurements of real engines on real GPUs
(each within 25%), the hand arithmetic of a decode step, the parts' datasheets, and the
closed loop's own bookkeeping (Little's law)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, replace

import pytest

from facts import models, parts
from facts.catalog import CATALOG
from facts.models import Model
from facts.serving import Promise, Replica, Workload
from facts.vllm_memory import batched_tokens, budget

GB, TERA = 10**9, 10**12
LLAMA_8B = models.MODELS["meta-llama/Llama-3.1-8B-Instruct"]
LLAMA_70B = models.MODELS["meta-llama/Llama-3.1-70B-Instruct"]  # Llama 3 70B's shape too
QWEN_32B = models.MODELS["Qwen/Qwen2.5-32B-Instruct"]
QWEN_3B = models.MODELS["Qwen/Qwen2.5-3B-Instruct"]


def llama2(name: str, hidden: int, intermediate: int, layers: int, heads: int, kv: int) -> Model:
    """Llama 2 from its config.json (vocabulary 32,000, untied head, 4,096 positions, fp16)."""
    shape = {"kv_heads": kv, "vocab": 32_000, "max_positions": 4096}
    return replace(
        models._llama(name, hidden, intermediate, layers, heads, **shape), dtype="float16"
    )


LLAMA2_7B = llama2("meta-llama/Llama-2-7b-hf", 4096, 11008, 32, 32, 32)
LLAMA2_70B = llama2("meta-llama/Llama-2-70b-hf", 8192, 28672, 80, 64, 8)


def fp8(model: Model) -> Model:
    return replace(model, dtype="fp8")


@dataclass(frozen=True)
class Published:
    """One measurement: the engine's run as its source reports it, and the model's figure
    for the same run."""

    source: str
    replica: Replica
    measure: Callable[[Replica], float]
    value: float


def tpot_alone(workload: Workload) -> Callable[[Replica], float]:
    return lambda replica: replica.point(1, workload).tpot_seconds


def batch_seconds(batch: int, workload: Workload) -> Callable[[Replica], float]:
    return lambda replica: replica.batch_seconds(batch, workload)


def batch_tokens_per_second(batch: int, workload: Workload) -> Callable[[Replica], float]:
    return lambda replica: batch * workload.output_tokens / replica.batch_seconds(batch, workload)


def first_token(prompt: int) -> Callable[[Replica], float]:
    return lambda replica: replica.batch_seconds(1, Workload(prompt, 1))


PUBLISHED = {
    # vLLM 0.23.0, `vllm bench serve --max-concurrency 1`, random 1024 in / 128 out, bf16:
    # "single-stream decode ~75 tok/s", 13.3 ms a token, on one A100 40GB.
    "vllm-a100-40gb-llama-8b-alone": Published(
        "https://johnmusgrave.com/p/vllm-throughput-latency-sweep-on",
        Replica(LLAMA_8B, parts.PARTS["a100-40gb-sxm4"], 1, 2048),
        tpot_alone(Workload(1024, 128)),
        1 / 75,
    ),
    # vLLM 0.21.0 concurrency sweep, H100 80GB HBM3, Llama-3.1-8B-Instruct fp16: TPOT p50
    # 6.48 ms at concurrency 1.
    "vllm-h100-llama-8b-alone": Published(
        "https://yobitelcomm.github.io/bench/recipes/concurrency-sweep/",
        Replica(LLAMA_8B, parts.PARTS["h100-sxm5"], 1, 8192),
        tpot_alone(Workload(600, 350)),
        0.00648,
    ),
    # vLLM's nightly latency benchmark (benchmark_latency: batch 8, 32 tokens in, 128 out),
    # H200: llama8B_tp1 833.42 ms, llama70B_tp4 2077.53 ms.
    "vllm-h200-llama-8b-batch-8": Published(
        "https://buildkite.com/vllm/performance-benchmark/builds/9515",
        Replica(LLAMA_8B, parts.PARTS["h200-sxm"], 1, 8192),
        batch_seconds(8, Workload(32, 128)),
        0.83342,
    ),
    "vllm-h200-llama-70b-tp4-batch-8": Published(
        "https://buildkite.com/vllm/performance-benchmark/builds/9515",
        Replica(LLAMA_70B, parts.PARTS["h200-sxm"], 4, 8192),
        batch_seconds(8, Workload(32, 128)),
        2.07753,
    ),
    # NVIDIA NIM 1.8.0 (TensorRT-LLM), 2 x H100 80GB, TP2, Llama-3.3-70B fp8, 5000 in /
    # 500 out, concurrency 1: inter-token latency 18.58 ms.
    "trtllm-h100-llama-70b-fp8-tp2-alone": Published(
        "https://docs.nvidia.com/nim/benchmarking/llm/1.0.0/performance",
        Replica(fp8(LLAMA_70B), parts.PARTS["h100-sxm5"], 2, 8192),
        tpot_alone(Workload(5000, 500)),
        0.01858,
    ),
    # TensorRT-LLM v0.5 performance tables (static batches): L40S fp8 LLaMA 7B, batch 64,
    # 128 in / 128 out: 3,240 output tokens/s; batch 1, 2,048 tokens in: first token 73 ms.
    "trtllm-l40s-llama-7b-fp8-batch-64": Published(
        "https://github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md",
        Replica(fp8(LLAMA2_7B), parts.PARTS["l40s"], 1, 8192),
        batch_tokens_per_second(64, Workload(128, 128)),
        3240,
    ),
    "trtllm-l40s-llama-7b-fp8-first-token": Published(
        "https://github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md",
        Replica(fp8(LLAMA2_7B), parts.PARTS["l40s"], 1, 2048),
        first_token(2048),
        0.073,
    ),
    # The same tables (v0.6.1 throughput, v0.5 first token): A100 fp16 LLaMA 7B, batch 384,
    # 128 / 128: 5,586 output tokens/s; LLaMA 70B over 4 A100s, 2,048 tokens in: 377 ms.
    "trtllm-a100-llama-7b-batch-384": Published(
        "https://github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md",
        Replica(LLAMA2_7B, parts.PARTS["a100-80gb-sxm4"], 1, 384 * 128),
        batch_tokens_per_second(384, Workload(128, 128)),
        5586,
    ),
    "trtllm-a100-llama-70b-tp4-first-token": Published(
        "https://github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md",
        Replica(LLAMA2_70B, parts.PARTS["a100-80gb-sxm4"], 4, 2048),
        first_token(2048),
        0.377,
    ),
    # H100 fp8 LLaMA 70B over 4 GPUs, 2,048 tokens in: first token 109 ms.
    "trtllm-h100-llama-70b-fp8-tp4-first-token": Published(
        "https://github.com/NVIDIA/TensorRT-LLM/blob/release/0.5.0/docs/source/performance.md",
        Replica(fp8(LLAMA2_70B), parts.PARTS["h100-sxm5"], 4, 2048),
        first_token(2048),
        0.109,
    ),
}


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_the_model_lands_within_25_percent_of_a_published_measurement(name: str) -> None:
    run = PUBLISHED[name]
    found = run.measure(run.replica)
    assert found == pytest.approx(run.value, rel=0.25), (name, run.source, found)


def test_the_published_runs_span_parts_sizes_and_tensor_parallelism() -> None:
    """At least six runs, three GPU parts, two model sizes, tensor parallelism above 1;
    vLLM's own runs among them."""
    runs = PUBLISHED.values()
    assert len(PUBLISHED) >= 6
    assert len({run.replica.part.key for run in runs}) >= 3
    assert {run.replica.model.parameters // 10**10 for run in runs} >= {0, 6}  # 7-8B, 70B
    assert any(run.replica.tensor_parallel > 1 for run in runs)
    vllm = [name for name in PUBLISHED if name.startswith("vllm-")]
    assert len(vllm) >= 4
    assert len({PUBLISHED[name].replica.part.key for name in vllm}) >= 3


# --- hand arithmetic -------------------------------------------------------------------


def test_qwen32b_on_two_a100s_at_150_sessions_steps_in_25_to_35_ms() -> None:
    """Each rank reads half of 65.5 GB of weights and its share of 150 sequences' KV cache
    at 775 tokens (64 layers x 4 KV heads x 128 x 2 x 2 bytes = 131,072 B a token): 48.0 GB
    at 2,039 GB/s is 23.5 ms at the datasheet's bandwidth; the FLOPs (2 x 16.4e9 x 150 a
    rank) are 15.8 ms at its 312 TFLOP/s. At the efficiencies engines reach (85% of the
    bandwidth, 55% of the FLOPs) the two roofs meet near 28 ms: the step takes 25-35 ms."""
    replica = Replica(QWEN_32B, parts.PARTS["a100-80gb-sxm4"], 2, 2048)
    read = QWEN_32B.weight_bytes / 2 + 150 * 775 * QWEN_32B.kv_bytes_per_token(2)
    assert read / (2039 * GB) == pytest.approx(0.0235, abs=0.0005)
    assert 2 * QWEN_32B.parameters / 2 * 150 / (312 * TERA) == pytest.approx(0.0158, abs=0.0005)
    step = replica.decode_step(150, 775)
    assert 0.025 <= step.seconds <= 0.035
    assert step.memory_seconds == pytest.approx(step.compute_seconds, rel=0.1)


def test_prod_s_old_mid_tier_takes_several_times_its_3_seconds() -> None:
    """Qwen2.5-32B over two A100s at 150 sessions of 600 tokens in and 350 out: with the
    prompts interleaved the replica is compute-bound, and an interaction takes over three
    times the 3 s the catalog's figure planned it for."""
    memory = budget(QWEN_32B, CATALOG["a100-80gb"].memory_gib, "A100", 2)
    replica = Replica(QWEN_32B, parts.PARTS["a100-80gb-sxm4"], 2, 2048, memory.kv_tokens)
    point = replica.point(150, Workload(600, 350))
    assert point.bound == "compute"
    assert point.e2e_seconds > 9
    # 50 interactions a second would need 50 x 2 x 32.8e9 x 950 = 3.1 PFLOP/s; the pair's
    # dense peak is 0.62: it serves under a fifth of that.
    assert point.interactions_per_second < 50 / 5


def test_qwen3b_on_an_l40s_at_50_sessions_is_memory_bound_near_11_ms() -> None:
    """6.2 GB of weights and 50 x 775 tokens x 36,864 B of KV (1.4 GB) at 864 GB/s: 8.8 ms
    at the datasheet's bandwidth, 11-12 ms as a step runs."""
    replica = Replica(QWEN_3B, parts.PARTS["l40s"], 1, 2048)
    read = QWEN_3B.weight_bytes + 50 * 775 * QWEN_3B.kv_bytes_per_token()
    assert read / (864 * GB) == pytest.approx(0.0088, abs=0.0003)
    step = replica.decode_step(50, 775)
    assert step.bound == "memory"
    assert 0.011 <= step.seconds <= 0.012


def test_llama8b_alone_on_an_h100_is_memory_bound_between_its_weights_and_8_ms() -> None:
    """16.06 GB of weights at 3,350 GB/s is 4.8 ms; published small-batch vLLM runs show
    6.5-8 ms (the vLLM runs above)."""
    step = Replica(LLAMA_8B, parts.PARTS["h100-sxm5"], 1, 8192).decode_step(1, 775)
    assert LLAMA_8B.weight_bytes / (3350 * GB) == pytest.approx(0.0048, abs=0.0001)
    assert step.bound == "memory"
    assert 0.0048 < step.seconds < 0.008


# --- the closed loop ------------------------------------------------------------------


def h100_llama_8b() -> Replica:
    memory = budget(LLAMA_8B, CATALOG["h100-sxm"].memory_gib, "H100", 1)
    return Replica(LLAMA_8B, parts.PARTS["h100-sxm5"], 1, 8192, memory.kv_tokens)


def test_a_closed_loop_keeps_littles_law() -> None:
    """Users = throughput x time each spends per interaction, at every concurrency, and the
    reply's tokens: output tokens/s = interactions/s x tokens out."""
    work = Workload(600, 350)
    for point in h100_llama_8b().curve([1, 8, 64, 256, 1024], work):
        assert point.interactions_per_second * point.e2e_seconds == pytest.approx(point.concurrency)
        assert point.output_tokens_per_second == pytest.approx(point.interactions_per_second * 350)
        assert (
            point.e2e_seconds
            == pytest.approx(point.ttft_seconds + 349 * point.tpot_seconds, rel=0.01)
            or point.bound == "kv"
        )


def test_more_users_never_make_a_reply_faster_and_the_kv_cache_caps_the_batch() -> None:
    replica, work = h100_llama_8b(), Workload(600, 350)
    most = replica.max_sessions(work)
    assert most == replica.kv_tokens // 950  # type: ignore[operator]
    points = replica.curve([1, 2, 4, 8, 16, 32, 64, 128, 256, most, most + 1, 2 * most], work)
    for before, after in itertools.pairwise(points):
        assert after.tpot_seconds >= before.tpot_seconds
        assert after.e2e_seconds >= before.e2e_seconds
        assert after.interactions_per_second >= before.interactions_per_second * 0.999
    beyond = points[-1]
    assert (beyond.bound, beyond.running) == ("kv", most)
    # the rest wait for a place: the same throughput, each wait the extra users' share
    assert beyond.interactions_per_second == pytest.approx(points[-3].interactions_per_second)
    assert beyond.ttft_seconds > points[-3].ttft_seconds + points[-3].e2e_seconds * 0.9


def test_tensor_parallelism_splits_the_reads_and_pays_for_all_reduces() -> None:
    alone = Replica(LLAMA_70B, parts.PARTS["h100-sxm5"], 4, 8192).decode_step(1, 775)
    wider = Replica(LLAMA_70B, parts.PARTS["h100-sxm5"], 8, 8192).decode_step(1, 775)
    assert wider.memory_seconds == pytest.approx(alone.memory_seconds / 2, rel=0.01)
    assert wider.seconds > alone.seconds / 2  # the all-reduces do not halve


def test_an_encoder_request_is_one_pass_over_its_tokens() -> None:
    """bge-large: 0.335e9 parameters, 2 FLOP each a token: a pass over 4 requests of 512
    tokens (2,048, an L40S's step budget) is 1.37e12 FLOP, 7.2 ms at 55% of the L40S's
    362 TFLOP/s and 8.7 ms a step: throughput settles at 4 / 8.7 ms = 462 requests a
    second. One user alone waits on the server between passes as well."""
    bge = models.MODELS["BAAI/bge-large-en-v1.5"]
    assert 2 * bge.parameters * 2048 == pytest.approx(1.37e12, rel=0.01)
    steps = batched_tokens(CATALOG["l40s"].memory_gib, "L40S")
    replica = Replica(bge, parts.PARTS["l40s"], 1, steps)
    busy = replica.point(64, Workload(512, 0))
    assert (busy.running, busy.tpot_seconds, busy.output_tokens_per_second) == (4, 0.0, 0.0)
    assert busy.interactions_per_second == pytest.approx(462, rel=0.01)
    assert busy.interactions_per_second * busy.e2e_seconds == pytest.approx(64)  # Little
    alone = replica.point(1, Workload(512, 0))
    assert alone.interactions_per_second == pytest.approx(1 / alone.e2e_seconds)
    assert replica.max_sessions(Workload(512, 0)) is None


# --- parts and promises ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "bandwidth_gb", "bf16_tflops", "fp8_tflops"),
    [
        # Dense figures: the L40S datasheet prints them beside the sparse ones (362.05 |
        # 733*); the A100 and H100 datasheets print the sparse ones, twice dense.
        ("l40s", 864, 362.05, 733),  # nvidia.com/en-us/data-center/l40s
        ("a100-80gb-sxm4", 2039, 624 / 2, None),  # A100 datasheet, 80GB SXM
        ("a100-80gb-pcie", 1935, 624 / 2, None),  # A100 datasheet, 80GB PCIe
        ("a100-40gb-sxm4", 1555, 624 / 2, None),  # A100 datasheet, 40GB
        ("h100-sxm5", 3350, 1979 / 2, 3958 / 2),  # nvidia.com/en-us/data-center/h100, SXM
        ("h100-pcie", 2000, 1513 / 2, 3026 / 2),  # the same, PCIe
        ("h200-sxm", 4800, 1979 / 2, 3958 / 2),  # nvidia.com/en-us/data-center/h200
    ],
)
def test_parts_are_their_datasheets_dense_figures(
    key: str, bandwidth_gb: int, bf16_tflops: float, fp8_tflops: float | None
) -> None:
    part = parts.PARTS[key]
    assert part.memory_bandwidth == bandwidth_gb * GB
    assert part.bf16_flops == pytest.approx(bf16_tflops * TERA, rel=0.001)
    if fp8_tflops is None:
        assert part.fp8_flops is None
        assert part.flops("fp8") == part.bf16_flops  # dequantised to 16 bits
    else:
        assert part.fp8_flops == pytest.approx(fp8_tflops * TERA, rel=0.001)


def test_every_instance_type_names_the_part_aws_puts_in_it() -> None:
    """g6e: L40S; p4de: A100 80GB SXM4; p5: H100 SXM5 (AWS sells neither A100 80GB nor
    H100 as PCIe), whatever the catalog key's own name says."""
    carried = {
        instance.name: instance.part for gpu in CATALOG.values() for instance in gpu.instance_types
    }
    assert {name: part for name, part in carried.items() if name.startswith("g6e.")} == {
        name: "l40s" for name in carried if name.startswith("g6e.")
    }
    assert carried["p4de.24xlarge"] == "a100-80gb-sxm4"
    assert carried["p5.4xlarge"] == carried["p5.48xlarge"] == "h100-sxm5"
    assert [gpu.part for gpu in CATALOG.values()] == [
        "l40s",
        "a100-80gb-pcie",
        "h100-pcie",
        "h100-sxm5",
    ]
    for part in carried.values():
        assert part in parts.PARTS


def test_a_mig_slice_has_its_share_of_compute_and_bandwidth() -> None:
    whole = parts.PARTS["h100-sxm5"]
    slice_ = whole.slice(2, 7, 2, 8)
    assert slice_.bf16_flops == pytest.approx(whole.bf16_flops * 2 / 7)
    assert slice_.memory_bandwidth == pytest.approx(whole.memory_bandwidth / 4)


def test_a_promise_reads_back_what_it_wrote_and_refuses_anything_else() -> None:
    promise = Promise("h100-sxm5", 0.5, 3.0, 600, 350, 950)
    assert Promise.from_json(promise.to_json()) == promise
    for text, said in [
        ("[]", "not a JSON object"),
        ('{"part": "x", "ttft_seconds": 0, "interaction_seconds": 3, "input_tokens": 1}',
         "ttft_seconds must be a positive number"),
        ('{"part": "x", "ttft_seconds": 1, "interaction_seconds": 3, "input_tokens": 0}',
         "input_tokens must be a whole number of at least 1"),
        ('{"part": 1, "ttft_seconds": 1, "interaction_seconds": 3, "input_tokens": 1}',
         "part must be a string"),
        ('{"part": "x", "ttft_seconds": 1, "interaction_seconds": 3, "input_tokens": 1, '
         '"colour": 2}', "unknown fields colour"),
    ]:  # fmt: skip
        with pytest.raises(ValueError, match=said):
            Promise.from_json(text)
