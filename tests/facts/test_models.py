"""The model table holds each model's config.json figures, and the parameters counted from
them round to the figure each model card states."""

from __future__ import annotations

import json

import pytest

from facts import models
from facts.models import MODELS, ModelConfigError, from_config, from_profile, profile_json

# id: (parameters in billions as the model cards state them, layers, attention heads, KV heads,
#      head dim, max positions, vocabulary, dtype, embedding)
BF16 = "bfloat16"
EXPECTED = {
    "meta-llama/Llama-3.1-8B-Instruct": ("8.03", 32, 32, 8, 128, 131072, 128256, BF16, False),
    "meta-llama/Llama-3.1-70B-Instruct": ("70.6", 80, 64, 8, 128, 131072, 128256, BF16, False),
    "meta-llama/Llama-3.2-3B-Instruct": ("3.21", 28, 24, 8, 128, 131072, 128256, BF16, False),
    "Qwen/Qwen2.5-3B-Instruct": ("3.09", 36, 16, 2, 128, 32768, 151936, BF16, False),
    "Qwen/Qwen2.5-7B-Instruct": ("7.62", 28, 28, 4, 128, 32768, 152064, BF16, False),
    "Qwen/Qwen2.5-14B-Instruct": ("14.7", 48, 40, 8, 128, 32768, 152064, BF16, False),
    "Qwen/Qwen2.5-32B-Instruct": ("32.8", 64, 40, 8, 128, 32768, 152064, BF16, False),
    "Qwen/Qwen2.5-72B-Instruct": ("72.7", 80, 64, 8, 128, 32768, 152064, BF16, False),
    "mistralai/Mistral-7B-Instruct-v0.3": ("7.25", 32, 32, 8, 128, 32768, 32768, BF16, False),
    "BAAI/bge-large-en-v1.5": ("0.335", 24, 16, 16, 64, 512, 30522, "float32", True),
}


def test_every_model_of_the_issue_and_the_stacks_is_in_the_table() -> None:
    assert set(MODELS) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_model_matches_its_config(name: str) -> None:
    billions, layers, heads, kv_heads, head_dim, positions, vocab, dtype, embedding = EXPECTED[name]
    model = MODELS[name]
    assert (model.layers, model.attention_heads, model.kv_heads, model.head_dim) == (
        layers,
        heads,
        kv_heads,
        head_dim,
    )
    assert (model.max_positions, model.vocab, model.dtype, model.embedding) == (
        positions,
        vocab,
        dtype,
        embedding,
    )
    # Counted from the architecture, within 0.5% of the stated figure (Qwen states 14.7B for
    # 14.77B counted).
    assert model.parameters / 1e9 == pytest.approx(float(billions), rel=0.005)


def test_kv_bytes_per_token_as_spec_states_them() -> None:
    """2 x layers x KV heads x head dim x 2 bytes: Llama-3.1-8B 128 KiB, Qwen2.5-32B 256 KiB."""
    assert MODELS["meta-llama/Llama-3.1-8B-Instruct"].kv_bytes_per_token() == 128 * 1024
    assert MODELS["Qwen/Qwen2.5-32B-Instruct"].kv_bytes_per_token() == 256 * 1024


def test_kv_heads_split_over_ranks_and_replicate_past_them() -> None:
    llama70 = MODELS["meta-llama/Llama-3.1-70B-Instruct"]  # 8 KV heads
    per_token = [llama70.kv_bytes_per_token(tp) for tp in (1, 2, 4, 8)]
    assert per_token == [327680, 163840, 81920, 40960]
    qwen3b = MODELS["Qwen/Qwen2.5-3B-Instruct"]  # 2 KV heads: one each on 4 ranks
    assert qwen3b.kv_bytes_per_token(4) == qwen3b.kv_bytes_per_token(2)


def test_vllm_splits_only_over_dividing_degrees() -> None:
    qwen32 = MODELS["Qwen/Qwen2.5-32B-Instruct"]  # 40 attention heads, 8 KV heads
    assert [tp for tp in (1, 2, 4, 5, 8) if qwen32.splits_over(tp)] == [1, 2, 4, 8]
    qwen7 = MODELS["Qwen/Qwen2.5-7B-Instruct"]  # 28 heads (8 does not divide them), 4 KV
    assert [tp for tp in (1, 2, 4, 8) if qwen7.splits_over(tp)] == [1, 2, 4]
    qwen3 = MODELS["Qwen/Qwen2.5-3B-Instruct"]  # 16 heads, 2 KV heads (replicated past 2)
    assert [tp for tp in (1, 2, 4, 8) if qwen3.splits_over(tp)] == [1, 2, 4, 8]


def test_weights_in_each_dtype() -> None:
    llama8 = MODELS["meta-llama/Llama-3.1-8B-Instruct"]
    assert llama8.weight_bytes == 2 * llama8.parameters
    int4 = from_profile(llama8.name, profile_json(llama8).replace("bfloat16", "int4"))
    assert int4.weight_bytes == llama8.parameters // 2
    assert int4.kv_dtype_bytes == 2  # 4-bit weights still compute (and cache) in 16 bits


QWEN_7B_CONFIG = {
    "architectures": ["Qwen2ForCausalLM"],
    "hidden_size": 3584,
    "intermediate_size": 18944,
    "max_position_embeddings": 32768,
    "model_type": "qwen2",
    "num_attention_heads": 28,
    "num_hidden_layers": 28,
    "num_key_value_heads": 4,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "vocab_size": 152064,
}


def test_a_config_json_reads_as_the_table_does() -> None:
    read = from_config("/models/qwen", QWEN_7B_CONFIG)
    table = MODELS["Qwen/Qwen2.5-7B-Instruct"]
    assert read.parameters == table.parameters
    assert (read.layers, read.kv_heads, read.head_dim, read.max_positions) == (28, 4, 128, 32768)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"model_type": "bert"}, "model_type 'bert' is not one agentfleet can size"),
        ({"num_hidden_layers": "28"}, "num_hidden_layers must be a positive integer"),
        ({"hidden_size": None}, "hidden_size must be a positive integer"),
        ({"torch_dtype": "float8"}, "torch_dtype 'float8' is not float32"),
        ({"quantization_config": {"bits": 3}}, "only fp8 and 4- or 8-bit"),
    ],
)
def test_a_config_json_it_cannot_size_says_which_field(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ModelConfigError, match=message):
        from_config("/models/odd", {**QWEN_7B_CONFIG, **change})


def test_quantised_configs_take_their_weight_dtype() -> None:
    awq = from_config("m", {**QWEN_7B_CONFIG, "quantization_config": {"bits": 4}})
    fp8 = from_config("m", {**QWEN_7B_CONFIG, "quantization_config": {"quant_method": "fp8"}})
    assert (awq.dtype, fp8.dtype) == ("int4", "fp8")


def test_profile_annotation_round_trips_and_refuses_garbage() -> None:
    for model in MODELS.values():
        assert from_profile(model.name, profile_json(model)) == model
    good = json.loads(profile_json(MODELS["Qwen/Qwen2.5-7B-Instruct"]))
    for bad in ("[1]", "{", json.dumps({**good, "layers": -1}), json.dumps({**good, "dtype": 2})):
        with pytest.raises(ModelConfigError):
            from_profile("m", bad)


def test_find_knows_only_the_table() -> None:
    assert models.find("Qwen/Qwen2.5-7B-Instruct") is MODELS["Qwen/Qwen2.5-7B-Instruct"]
    assert models.find("acme/private-model") is None
