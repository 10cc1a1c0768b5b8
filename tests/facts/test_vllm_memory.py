"""vLLM's memory budget, held against vLLM's own start-up logs and worked by hand."""

from __future__ import annotations

from decimal import Decimal

import pytest

from facts.catalog import CATALOG
from facts.mig import model_for
from facts.models import MODELS, Model
from facts.vllm_memory import GIB, batched_tokens, budget

H100 = Decimal("79.18")


def _shape(vocab: int) -> Model:
    return Model("calibration", 1, 64, 8, 128, "bfloat16", 40960, vocab=vocab)


# vLLM's start-up logs on an H100 (79.18 GiB), util 0.9 (llm-d-benchmark,
# config_explorer/empirical-vllm-memory-results.md): model, vocabulary, tensor parallelism,
# weights per rank as loaded (GiB), KV cache memory vLLM reported (GiB).
MEASURED = [
    ("Llama-3.1-8B", 128_256, 1, 14.99, 51.38),
    ("Qwen3-32B", 151_936, 1, 61.03, 4.45),
    ("Qwen3-0.6B", 151_936, 1, 1.12, 64.45),
    ("Llama-3.3-70B-FP8, TP 2", 128_256, 2, 33.88, 32.0),
]


@pytest.mark.parametrize(("name", "vocab", "tp", "weights", "kv"), MEASURED)
def test_estimate_errs_low_by_under_two_gib(
    name: str, vocab: int, tp: int, weights: float, kv: float
) -> None:
    """The allowances leave less KV cache than vLLM finds, never more (a --max-model-len we
    derive is never refused at start-up), and not much less."""
    device = budget(_shape(vocab), H100, "H100", tp)
    estimate = (device.usable - int(weights * GIB) - device.activation - device.overhead) / GIB
    assert 0 < kv - estimate < 2, f"{name}: estimated {estimate:.2f} GiB, vLLM found {kv}"


def test_batched_tokens_follow_vllm_defaults() -> None:
    """8,192 on devices of 70 GiB or more that are not A100s, else 2,048."""
    assert batched_tokens(H100, "H100") == 8192
    assert batched_tokens(Decimal("79.15"), "A100") == 2048
    assert batched_tokens(Decimal("44.4"), "L40S") == 2048
    assert batched_tokens(model_for("h100-pcie").profiles["3g.40gb"].memory_gib, "H100") == 2048


def test_qwen32b_on_one_a100_by_hand() -> None:
    """0.9 x 79.15 GiB = 76,487,998,832 B; weights 32,763,876,352 x 2 B = 65,527,752,704 B;
    activations 2,048 x (152,064 x 4 + 163,840) = 1,581,252,608 B; 1.25 GiB outside PyTorch
    and for CUDA graphs: 8,036,816,240 B (7.48 GiB) left, / 262,144 B a token = 30,658
    tokens, 30,656 in whole blocks of 16 = 32 sessions of 950."""
    device = budget(MODELS["Qwen/Qwen2.5-32B-Instruct"], CATALOG["a100-80gb"].memory_gib, "A100")
    assert device.kv_bytes == 8_036_816_240
    assert device.kv_tokens == 30_656
    assert device.sessions(950) == 32
    assert device.max_model_len() == 30_656  # less than the model's 32,768


def test_tensor_parallel_splits_weights_and_kv_heads() -> None:
    llama70 = MODELS["meta-llama/Llama-3.1-70B-Instruct"]
    two = budget(llama70, H100, "H100", 2)
    four = budget(llama70, H100, "H100", 4)
    assert not two.fits_weights  # 65.7 GiB a GPU + 5.2 activations + 1.75 > 71.26
    assert four.weights == -(-llama70.weight_bytes // 4)
    # A rank: 76,516,989,861 B usable - 35,276,853,248 of weights - 5,544,869,888 of
    # activations (8,192 x (128,256 x 4 + 163,840)) - 1.75 GiB = 33,816,218,533 B, / 81,920 B
    # a token (2 of the 8 KV heads) = 412,795 tokens, 412,784 in whole blocks.
    assert four.kv_bytes == 33_816_218_533
    assert four.kv_tokens == 412_784
    assert four.max_model_len() == 131_072  # the model's own limit


def test_embedding_models_keep_no_kv_cache() -> None:
    bge = MODELS["BAAI/bge-large-en-v1.5"]
    slice_memory = model_for("a100-80gb").profiles["1g.10gb"].memory_gib
    device = budget(bge, slice_memory, "A100")
    assert device.fits_weights
    assert device.kv_tokens == 0
    assert device.max_model_len() == 512
