"""The models agentfleet knows the size of: what their weights take on a node's disk (and,
later, in GPU memory). A tier serving a model not listed here is planned without a size:
its node disk falls back to ``facts.defaults``' cache size per replica.

Parameters are SPEC.md's figures (billions); weights are stored in the model's native
dtype (bf16, 2 bytes a parameter, for the decoders; bge-large ships fp32 weights).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType


@dataclass(frozen=True)
class Model:
    hf_id: str
    parameters_billion: Decimal
    bytes_per_parameter: int = 2
    embedding: bool = False

    @property
    def weights_bytes(self) -> int:
        return int(self.parameters_billion * 10**9 * self.bytes_per_parameter)


_MODELS = (
    Model("meta-llama/Llama-3.1-8B-Instruct", Decimal("8.03")),
    Model("meta-llama/Llama-3.1-70B-Instruct", Decimal("70.6")),
    Model("meta-llama/Llama-3.2-3B-Instruct", Decimal("3.21")),
    Model("Qwen/Qwen2.5-3B-Instruct", Decimal("3.09")),
    Model("Qwen/Qwen2.5-7B-Instruct", Decimal("7.62")),
    Model("Qwen/Qwen2.5-14B-Instruct", Decimal("14.7")),
    Model("Qwen/Qwen2.5-32B-Instruct", Decimal("32.8")),
    Model("Qwen/Qwen2.5-72B-Instruct", Decimal("72.7")),
    Model("mistralai/Mistral-7B-Instruct-v0.3", Decimal("7.25")),
    Model("BAAI/bge-large-en-v1.5", Decimal("0.335"), bytes_per_parameter=4, embedding=True),
)
MODELS: Mapping[str, Model] = MappingProxyType({model.hf_id: model for model in _MODELS})


def find(model: str) -> Model | None:
    """The model a tier serves, by its Hugging Face id; None when agentfleet does not know it."""
    return MODELS.get(model)
