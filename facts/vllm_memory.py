"""vLLM's GPU memory budget, before deploy: does a model fit a GPU (or a MIG slice, or a
tensor-parallel group), and how many tokens of context does its KV cache hold.

vLLM (``Worker.determine_available_memory``) profiles one forward pass at start-up and gives
the KV cache what is left of ``gpu_memory_utilization`` x the device's memory after the
weights, the pass's peak activations and the memory outside PyTorch (CUDA context, NCCL).
Each rank of a tensor-parallel replica does this for its share of the weights and of the
KV heads; the replica holds as many tokens as one rank does.

The allowances below are set so the estimate errs low. They are calibrated on vLLM's own
start-up logs (llm-d-benchmark's ``config_explorer/empirical-vllm-memory-results.md``, H100,
79.18 GiB): the peak activation there is about the logits of one full batch of tokens
(batched tokens x vocabulary x 4 bytes) plus at most 1.25 GiB at 8,192 tokens; the memory
outside PyTorch is 0.13-0.14 GiB on one GPU and 0.55 GiB with NCCL; CUDA graphs took up to
1.03 GiB. ``tests/facts/test_vllm_memory.py`` holds the estimate against those logs.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from facts.models import Model

GIB = 2**30
DEFAULT_GPU_MEMORY_UTILIZATION = Fraction(9, 10)
"""vLLM's default ``--gpu-memory-utilization``."""
BLOCK_TOKENS = 16
"""vLLM's default KV-cache block: the cache is whole blocks."""

LARGE_DEVICE_GIB = 70
SERVER_BATCHED_TOKENS_LARGE = 8192
SERVER_BATCHED_TOKENS = 2048
"""``vllm serve``'s default ``max_num_batched_tokens``: 8,192 on devices of 70 GiB or more
that are not A100s, 2,048 elsewhere (vLLM's ``EngineArgs`` defaults per usage context)."""

ACTIVATION_BYTES_PER_TOKEN = 160 * 1024
"""Peak activation per batched token beyond its logits (1.25 GiB at 8,192 tokens)."""
LOGIT_BYTES = 4
NON_TORCH_BYTES = GIB // 4
NON_TORCH_BYTES_PARALLEL = 3 * GIB // 4
"""Memory outside PyTorch on one rank: the CUDA context, plus NCCL's buffers with TP."""
CUDA_GRAPH_BYTES = GIB
"""CUDA graphs captured after profiling, kept inside the budget."""


def batched_tokens(device_gib: Decimal, gpu_class: str) -> int:
    """The tokens one scheduler step batches by default on a device of this memory."""
    if device_gib >= LARGE_DEVICE_GIB and gpu_class != "A100":
        return SERVER_BATCHED_TOKENS_LARGE
    return SERVER_BATCHED_TOKENS


@dataclass(frozen=True)
class Budget:
    """One rank's memory as vLLM divides it (bytes), and the tokens the replica's KV holds."""

    model: Model
    tensor_parallel: int
    batched_tokens: int
    """The tokens one step carries (``--max-num-batched-tokens``), whose activations the
    profile run measures."""
    usable: int
    """``gpu_memory_utilization`` x the device's memory."""
    weights: int
    """This rank's share of the weights."""
    activation: int
    overhead: int
    """Outside PyTorch, and CUDA graphs."""

    @property
    def kv_bytes(self) -> int:
        """What is left for the KV cache on each rank (negative: the weights do not fit)."""
        return self.usable - self.weights - self.activation - self.overhead

    @property
    def fits_weights(self) -> bool:
        return self.kv_bytes > 0

    @property
    def kv_tokens(self) -> int:
        """Tokens of context the replica's KV cache holds, in whole blocks. An embedding
        model keeps no KV cache: 0."""
        if self.model.embedding or self.kv_bytes <= 0:
            return 0
        tokens = self.kv_bytes // self.model.kv_bytes_per_token(self.tensor_parallel)
        return tokens // BLOCK_TOKENS * BLOCK_TOKENS

    def sessions(self, session_tokens: int) -> int:
        """Sessions of ``session_tokens`` each the KV cache holds at once."""
        return self.kv_tokens // session_tokens

    def max_model_len(self) -> int:
        """The longest context vLLM can be given: what the model allows and one sequence's
        KV cache can hold (vLLM refuses to start when ``--max-model-len`` is more)."""
        if self.model.embedding:
            return self.model.max_positions
        return min(self.model.max_positions, self.kv_tokens)


def budget(
    model: Model,
    device_gib: Decimal,
    gpu_class: str,
    tensor_parallel: int = 1,
    utilization: Fraction = DEFAULT_GPU_MEMORY_UTILIZATION,
    tokens: int | None = None,
) -> Budget:
    """The memory budget of one rank of a replica of ``model`` over ``tensor_parallel``
    devices of ``device_gib`` each (whole GPUs, or a MIG slice with ``tensor_parallel`` 1),
    with a step of ``tokens`` (vLLM's default for the device when None)."""
    device = int(device_gib * GIB)
    tokens = tokens or batched_tokens(device_gib, gpu_class)
    activation = tokens * (model.vocab * LOGIT_BYTES + ACTIVATION_BYTES_PER_TOKEN)
    overhead = NON_TORCH_BYTES_PARALLEL if tensor_parallel > 1 else NON_TORCH_BYTES
    return Budget(
        model=model,
        tensor_parallel=tensor_parallel,
        batched_tokens=tokens,
        usable=int(device * utilization),
        weights=-(-model.weight_bytes // tensor_parallel),
        activation=activation,
        overhead=overhead + CUDA_GRAPH_BYTES,
    )


def gib(amount: int) -> str:
    """Bytes as GiB for a message: ``131.5 GiB``."""
    return f"{amount / GIB:.1f} GiB"
