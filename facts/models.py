"""The models agentfleet knows the shape of: what their weights take on a node's disk and in
GPU memory, and what one token of context takes in vLLM's KV cache.

Each entry is the architecture from the model's own ``config.json`` on the Hugging Face Hub
(``https://huggingface.co/<id>/blob/main/config.json``; for the gated Llama repositories
the same figures are in Meta's model cards and in the copies of those files that public
repositories carry). Parameters are not in ``config.json``: they are counted from the
architecture (``decoder_parameters``, ``encoder_parameters``), and
``tests/facts/test_models.py`` checks the count against the figure each model card states.

A model the table does not know is described by a tier's ``modelProfile`` or read from the
``config.json`` of a local model directory (``from_config``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Any, Literal

Dtype = Literal["float32", "bfloat16", "float16", "fp8", "int8", "int4"]
DTYPE_BYTES: Mapping[str, Fraction] = MappingProxyType(
    {
        "float32": Fraction(4),
        "bfloat16": Fraction(2),
        "float16": Fraction(2),
        "fp8": Fraction(1),
        "int8": Fraction(1),
        "int4": Fraction(1, 2),
    }
)
"""Bytes one weight takes in each dtype."""
PROFILE_DTYPES: tuple[Dtype, ...] = ("bfloat16", "float16", "fp8", "int8", "int4")
"""The dtypes a tier's ``modelProfile`` may name (docs/reference/stack-file.md)."""
DEFAULT_VOCAB = 152_064
"""Vocabulary assumed for a profile that does not give one: the largest in the table (Qwen2.5),
so the activation allowance it sizes errs high."""


@dataclass(frozen=True)
class Model:
    """A model as vLLM loads it: its weights, its attention shape, its context limit."""

    name: str
    parameters: int
    layers: int
    kv_heads: int
    head_dim: int
    dtype: Dtype
    max_positions: int
    vocab: int = DEFAULT_VOCAB
    attention_heads: int | None = None
    """None when unknown (a profile): tensor parallelism is then checked against KV heads only."""
    embedding: bool = False
    """An encoder serving embeddings: no KV cache, each request is one pass."""

    @property
    def weight_bytes(self) -> int:
        """The weights in GPU memory and on disk."""
        return int(self.parameters * DTYPE_BYTES[self.dtype])

    @property
    def kv_dtype_bytes(self) -> int:
        """vLLM's KV cache takes the model's compute dtype ("auto"): 4 for float32 models,
        2 otherwise (quantised weights compute in 16 bits)."""
        return 4 if self.dtype == "float32" else 2

    def kv_bytes_per_token(self, tensor_parallel: int = 1) -> int:
        """KV cache one token takes on each rank: keys and values of every layer for that
        rank's KV heads. vLLM splits the KV heads across ranks and replicates them when
        there are fewer heads than ranks (max(1, heads // ranks) per rank)."""
        heads = max(1, self.kv_heads // tensor_parallel)
        return 2 * self.layers * heads * self.head_dim * self.kv_dtype_bytes

    def splits_over(self, tensor_parallel: int) -> bool:
        """Whether vLLM accepts this tensor-parallel degree: the attention heads divide
        evenly, and the KV heads divide evenly or are replicated whole."""
        if self.attention_heads is not None and self.attention_heads % tensor_parallel:
            return False
        if self.kv_heads >= tensor_parallel:
            return self.kv_heads % tensor_parallel == 0
        return tensor_parallel % self.kv_heads == 0


def decoder_parameters(
    *,
    hidden: int,
    intermediate: int,
    layers: int,
    heads: int,
    kv_heads: int,
    head_dim: int,
    vocab: int,
    tied: bool,
    qkv_bias: bool = False,
) -> int:
    """Parameters of a Llama-style decoder (Llama, Mistral, Qwen2): attention projections
    (with Qwen2's q/k/v biases), a gated MLP, two norms a layer, the final norm, the
    embeddings and, unless tied to them, the output head."""
    attention = 2 * hidden * heads * head_dim + 2 * hidden * kv_heads * head_dim
    if qkv_bias:
        attention += heads * head_dim + 2 * kv_heads * head_dim
    layer = attention + 3 * hidden * intermediate + 2 * hidden
    return layers * layer + hidden + vocab * hidden * (1 if tied else 2)


def encoder_parameters(
    *, hidden: int, intermediate: int, layers: int, vocab: int, positions: int, types: int
) -> int:
    """Parameters of a BERT encoder with its pooler: embeddings and their norm, then per
    layer the attention (4 projections with biases), its norm, the MLP and its norm."""
    embeddings = (vocab + positions + types) * hidden + 2 * hidden
    layer = 4 * (hidden * hidden + hidden) + 2 * hidden
    layer += hidden * intermediate + intermediate + intermediate * hidden + hidden + 2 * hidden
    return embeddings + layers * layer + hidden * hidden + hidden


def _llama(
    name: str, hidden: int, intermediate: int, layers: int, heads: int, **shape: Any
) -> Model:
    kv_heads, vocab = shape["kv_heads"], shape["vocab"]
    return Model(
        name=name,
        parameters=decoder_parameters(
            hidden=hidden,
            intermediate=intermediate,
            layers=layers,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=shape.get("head_dim", hidden // heads),
            vocab=vocab,
            tied=shape.get("tied", False),
            qkv_bias=shape.get("qkv_bias", False),
        ),
        layers=layers,
        kv_heads=kv_heads,
        head_dim=shape.get("head_dim", hidden // heads),
        dtype="bfloat16",
        max_positions=shape["max_positions"],
        vocab=vocab,
        attention_heads=heads,
    )


_LLAMA3 = {"kv_heads": 8, "vocab": 128_256, "max_positions": 131_072}
_QWEN25 = {"vocab": 152_064, "max_positions": 32_768, "qkv_bias": True}
_MODELS = (
    _llama("meta-llama/Llama-3.1-8B-Instruct", 4096, 14336, 32, 32, **_LLAMA3),
    _llama("meta-llama/Llama-3.1-70B-Instruct", 8192, 28672, 80, 64, **_LLAMA3),
    _llama("meta-llama/Llama-3.2-3B-Instruct", 3072, 8192, 28, 24, tied=True, **_LLAMA3),
    _llama(
        "Qwen/Qwen2.5-3B-Instruct",
        2048,
        11008,
        36,
        16,
        kv_heads=2,
        tied=True,
        **{**_QWEN25, "vocab": 151_936},
    ),
    _llama("Qwen/Qwen2.5-7B-Instruct", 3584, 18944, 28, 28, kv_heads=4, **_QWEN25),
    _llama("Qwen/Qwen2.5-14B-Instruct", 5120, 13824, 48, 40, kv_heads=8, **_QWEN25),
    _llama("Qwen/Qwen2.5-32B-Instruct", 5120, 27648, 64, 40, kv_heads=8, **_QWEN25),
    _llama("Qwen/Qwen2.5-72B-Instruct", 8192, 29568, 80, 64, kv_heads=8, **_QWEN25),
    _llama(
        "mistralai/Mistral-7B-Instruct-v0.3",
        4096,
        14336,
        32,
        32,
        kv_heads=8,
        vocab=32_768,
        max_positions=32_768,
    ),
    Model(
        name="BAAI/bge-large-en-v1.5",
        parameters=encoder_parameters(
            hidden=1024, intermediate=4096, layers=24, vocab=30_522, positions=512, types=2
        ),
        layers=24,
        kv_heads=16,
        head_dim=64,
        dtype="float32",
        max_positions=512,
        vocab=30_522,
        attention_heads=16,
        embedding=True,
    ),
)
MODELS: Mapping[str, Model] = MappingProxyType({model.name: model for model in _MODELS})


def find(model: str) -> Model | None:
    """The model a tier serves, by its Hugging Face id; None when agentfleet does not know it."""
    return MODELS.get(model)


class ModelConfigError(ValueError):
    """A ``config.json`` agentfleet cannot size a model from; the message names the field."""


_DECODER_TYPES = ("llama", "mistral", "qwen2")
_QUANT_DTYPES: Mapping[int, Dtype] = MappingProxyType({4: "int4", 8: "int8"})


def _field(config: Mapping[str, Any], key: str, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelConfigError(f"{key} must be a positive integer (got {value!r})")
    return value


def _dtype(config: Mapping[str, Any]) -> Dtype:
    quantization = config.get("quantization_config")
    if isinstance(quantization, Mapping):
        if quantization.get("quant_method") == "fp8":
            return "fp8"
        bits = quantization.get("bits")
        if isinstance(bits, int) and bits in _QUANT_DTYPES:
            return _QUANT_DTYPES[bits]
        raise ModelConfigError("quantization_config: only fp8 and 4- or 8-bit weights are sized")
    dtype = config.get("torch_dtype", config.get("dtype", "bfloat16"))
    for native in ("float32", "bfloat16", "float16"):
        if dtype == native:
            return native
    raise ModelConfigError(f"torch_dtype {dtype!r} is not float32, bfloat16 or float16")


def from_config(name: str, config: Mapping[str, Any]) -> Model:
    """A Llama-style decoder (model_type llama, mistral or qwen2) from its ``config.json``."""
    model_type = config.get("model_type")
    if model_type not in _DECODER_TYPES:
        raise ModelConfigError(
            f"model_type {model_type!r} is not one agentfleet can size "
            f"({', '.join(_DECODER_TYPES)}); give the tier a modelProfile instead"
        )
    hidden, heads = _field(config, "hidden_size"), _field(config, "num_attention_heads")
    kv_heads = _field(config, "num_key_value_heads", heads)
    head_dim = _field(config, "head_dim") if config.get("head_dim") is not None else hidden // heads
    layers, vocab = _field(config, "num_hidden_layers"), _field(config, "vocab_size")
    tied = config.get("tie_word_embeddings", False) is True
    return Model(
        name=name,
        parameters=decoder_parameters(
            hidden=hidden,
            intermediate=_field(config, "intermediate_size"),
            layers=layers,
            heads=heads,
            kv_heads=kv_heads,
            head_dim=head_dim,
            vocab=vocab,
            tied=tied,
            qkv_bias=model_type == "qwen2" or config.get("attention_bias") is True,
        ),
        layers=layers,
        kv_heads=kv_heads,
        head_dim=head_dim,
        dtype=_dtype(config),
        max_positions=_field(config, "max_position_embeddings"),
        vocab=vocab,
        attention_heads=heads,
    )


_PROFILE_FIELDS = (
    "parameters",
    "layers",
    "kv_heads",
    "head_dim",
    "max_positions",
    "vocab",
)


def profile_json(model: Model) -> str:
    """A model's shape as the ``MODEL_PROFILE`` annotation carries it."""
    shape = asdict(model)
    del shape["name"]
    return json.dumps(shape, sort_keys=True, separators=(",", ":"))


def from_profile(name: str, text: str) -> Model:
    """The model a ``MODEL_PROFILE`` annotation describes; ModelConfigError when it is not
    one ``profile_json`` writes."""
    try:
        shape = json.loads(text)
    except ValueError:
        raise ModelConfigError("not JSON") from None
    if not isinstance(shape, dict):
        raise ModelConfigError("not a JSON object")
    for key in _PROFILE_FIELDS:
        _field(shape, key)
    if shape.get("dtype") not in DTYPE_BYTES:
        raise ModelConfigError(
            f"dtype {shape.get('dtype')!r} is not one of {', '.join(DTYPE_BYTES)}"
        )
    heads = shape.get("attention_heads")
    if heads is not None:
        _field(shape, "attention_heads")
    if not isinstance(shape.get("embedding", False), bool):
        raise ModelConfigError("embedding must be true or false")
    return Model(
        name=name,
        attention_heads=heads,
        embedding=shape.get("embedding", False),
        dtype=shape["dtype"],
        **{key: shape[key] for key in _PROFILE_FIELDS},
    )
