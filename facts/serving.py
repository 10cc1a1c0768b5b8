"""Serving physics: how fast one vLLM replica of a model on a GPU part serves, at each number
of running sequences. A roofline model of vLLM's engine step, in the shape LLM-Viewer and
Vidur use, with efficiencies calibrated on published measurements
(``tests/facts/test_serving.py`` holds the model to them; docs/serving-physics.md lists them).

One engine step runs every running sequence's next token (decode) and, under vLLM's chunked
prefill, as much of the waiting prompts as its token budget (``--max-num-batched-tokens``)
leaves. Each tensor-parallel rank reads its share of the weights and of the running
sequences' KV cache, and does its share of the FLOPs:

    step = max(bytes read / (ETA_MEMORY x bandwidth), FLOPs / (ETA_COMPUTE x peak))
           + tensor-parallel all-reduces + STEP_OVERHEAD_SECONDS

FLOPs are 2 per parameter per token plus attention's 4 x layers x query width x context.
The step is ``memory``-bound or ``compute``-bound by the larger term.

A closed loop of ``c`` users (``vllm bench serve --max-concurrency c``), each sending an
interaction of ``input`` tokens in and ``output`` out and the next when it ends, settles on
``r = min(c, KV-cache sessions)`` running sequences: each step then carries ``r`` decodes
and, on average, ``r x input / output`` prompt tokens (one interaction's prompt for every
``output`` tokens generated). A new prompt waits on average half a step, then its prefill
takes ``ceil(input / (budget - r))`` steps; the time to first token adds the server's
per-request overhead. Each running sequence gets one token a step, so the time per output
token is a step carrying the other sequences' prompts (its own is its TTFT), an interaction
takes TTFT + (output - 1) x TPOT, and no replica completes interactions faster than its
steps process their tokens (``r / (output x mean step)``). Beyond the KV
cache's sessions the rest wait (``kv``-bound): throughput stays, latency grows by the wait.
A step budget smaller than ``r x (input + output) / output`` tokens cannot feed every
running sequence its prompt: it keeps ``budget x output / (input + output)`` decoding and
the rest wait for their prefill (``step_budget`` sizes a budget that never does).

An embedding model (an encoder) has no decode: a request is one pass over its tokens, and a
pass carries as many requests as the step budget holds.

Not modelled: mixture-of-experts routing, speculative decoding, prefix caching (prompts
sharing a prefix prefill once), the speed of quantised kernels (int8/int4 weights are read
at their size and computed at 16 bits), preemption when the KV cache overflows, and
pipeline parallelism. Stacks that rely on them measure their replica with ``vllm bench
serve`` and pin ``concurrencyPerGpu``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from facts.checklist import MAX_NUM_SEQS_FACTOR
from facts.models import Model
from facts.parts import Part

ETA_MEMORY = 0.85
"""Share of the datasheet's memory bandwidth a decode step's reads reach (weights and KV
cache streamed once a step)."""
ETA_COMPUTE = 0.55
"""Share of the datasheet's dense tensor throughput the step's matrix products reach."""
STEP_OVERHEAD_SECONDS = 0.0015
"""What a step costs beyond the roofline: scheduling, sampling, kernel launches between the
CUDA graphs, the host-device copies of the step's inputs and outputs."""
REQUEST_OVERHEAD_SECONDS = 0.008
"""What a request costs outside the engine's steps before its first token: HTTP, the
tokenizer, the scheduler's admission."""
TENSOR_PARALLEL_STEP_OVERHEAD_SECONDS = 0.001
"""What a step costs more with tensor parallelism: the engine hands each step's inputs to
every rank's worker process and gathers the sampled tokens back."""
ALL_REDUCE_LATENCY_SECONDS = {"nvlink": 20e-6, "pcie": 40e-6}
"""The fixed cost of one all-reduce over the node's GPUs (vLLM's custom all-reduce on NVLink,
NCCL over PCIe), before its bytes."""
ALL_REDUCES_PER_LAYER = 2
"""Megatron-style tensor parallelism reduces after attention and after the MLP."""
ACTIVATION_BYTES = 2
"""16-bit activations: what an all-reduce moves a token, per hidden unit."""
BUDGET_STEP = 512
"""A step budget the planner raises is a multiple of this."""

Bound = Literal["memory", "compute", "kv"]


@dataclass(frozen=True)
class Workload:
    """One interaction: tokens in (the prompt) and out (the reply)."""

    input_tokens: int = 600
    output_tokens: int = 350
    session_tokens: int = 0
    """KV cache one interaction keeps, when it is more than its own tokens (a conversation
    that carries earlier turns); 0: its own tokens."""

    @property
    def kv_tokens(self) -> int:
        """KV cache one interaction keeps at its end."""
        return max(self.session_tokens, self.input_tokens + self.output_tokens)

    @property
    def decode_context(self) -> float:
        """The mean context a decoding sequence attends over: what it carries (its prompt,
        and earlier turns when ``session_tokens`` says so) and half its reply."""
        return self.kv_tokens - self.output_tokens / 2


@dataclass(frozen=True)
class Step:
    """One engine step, and which roof set it."""

    seconds: float
    memory_seconds: float
    compute_seconds: float

    @property
    def bound(self) -> Literal["memory", "compute"]:
        return "compute" if self.compute_seconds > self.memory_seconds else "memory"


@dataclass(frozen=True)
class Point:
    """A replica's steady state at one concurrency (a closed loop of that many users)."""

    concurrency: int
    running: int
    """Sequences the replica runs at once: the concurrency, up to what its KV cache holds."""
    ttft_seconds: float
    tpot_seconds: float
    e2e_seconds: float
    interactions_per_second: float
    output_tokens_per_second: float
    bound: Bound


def step_budget(default: int, sessions: int, workload: Workload) -> int:
    """``--max-num-batched-tokens`` for a replica planned for ``sessions``: vLLM's default
    for the device, or more where ``sessions`` running sequences need more a step to keep
    their prompts flowing (``sessions x (input + output) / output``) or vLLM's own rule
    wants it (at least ``--max-num-seqs``, 1.75 x the sessions), in steps of 512."""
    if workload.output_tokens == 0:
        return default
    tokens = workload.input_tokens + workload.output_tokens  # earlier turns are cached
    kept_fed = sessions * tokens / workload.output_tokens
    needed = max(kept_fed, sessions * float(MAX_NUM_SEQS_FACTOR))
    return max(default, math.ceil(needed / BUDGET_STEP) * BUDGET_STEP)


def _query_width(model: Model) -> int:
    """Attention's query width (heads x head dim); for a profile without its head count,
    the hidden size of a Llama-shaped model of its size (parameters ~ 12 x layers x h^2)."""
    if model.attention_heads is not None:
        return model.attention_heads * model.head_dim
    return int(math.sqrt(model.parameters / (12 * model.layers)))


@dataclass(frozen=True)
class Replica:
    """One vLLM replica: ``model`` over ``tensor_parallel`` GPUs of ``part``."""

    model: Model
    part: Part
    tensor_parallel: int = 1
    batched_tokens: int = 8192
    """vLLM's ``--max-num-batched-tokens``: the tokens one step may carry."""
    kv_tokens: int | None = None
    """Tokens the replica's KV cache holds (``facts.vllm_memory``); None: not limited."""

    def step(
        self, decodes: float, context: float, prefill: float = 0, prompt_context: float = 0
    ) -> Step:
        """One step of ``decodes`` sequences at mean ``context`` and ``prefill`` prompt tokens
        attending over ``prompt_context`` tokens each, on each rank."""
        model, ranks = self.model, self.tensor_parallel
        width = _query_width(model)
        read = model.weight_bytes / ranks + decodes * context * model.kv_bytes_per_token(ranks)
        tokens = decodes + prefill
        attention = 4 * model.layers * width * (decodes * context + prefill * prompt_context)
        flops = (2 * model.parameters * tokens + attention) / ranks
        memory = read / (ETA_MEMORY * self.part.memory_bandwidth)
        compute = flops / (ETA_COMPUTE * self.part.flops(model.dtype))
        return Step(
            max(memory, compute) + self._all_reduce(tokens) + STEP_OVERHEAD_SECONDS, memory, compute
        )

    def _all_reduce(self, tokens: float) -> float:
        ranks = self.tensor_parallel
        if ranks == 1:
            return 0.0
        link = "nvlink" if self.part.link.startswith("NVLink") else "pcie"
        size = tokens * _query_width(self.model) * ACTIVATION_BYTES
        ring = 2 * (ranks - 1) / ranks * size / self.part.link_bandwidth
        per_layer = ALL_REDUCES_PER_LAYER * (ALL_REDUCE_LATENCY_SECONDS[link] + ring)
        return self.model.layers * per_layer + TENSOR_PARALLEL_STEP_OVERHEAD_SECONDS

    def kernel_duty(self, running: int, workload: Workload) -> float:
        """The share of time the replica's GPU runs a kernel with ``running`` sequences:
        what NVML reports as its utilisation ("percent of time over the past sample period
        during which one or more kernels was executing on the GPU"; dcgm-exporter's
        DCGM_FI_DEV_GPU_UTIL). Steps follow each other while a sequence runs; each is the
        GPU's work (the roofline terms, the all-reduces) and the host's (``STEP_OVERHEAD``,
        and tensor parallelism's hand-off), when the GPU waits. 0 when idle."""
        if running <= 0:
            return 0.0
        inp, out = workload.input_tokens, workload.output_tokens
        prefill = running * inp / out if out else 0.0
        step = self.step(running, workload.decode_context, prefill, inp / 2).seconds
        host = STEP_OVERHEAD_SECONDS
        if self.tensor_parallel > 1:
            host += TENSOR_PARALLEL_STEP_OVERHEAD_SECONDS
        return max(0.0, step - host) / step

    def decode_step(self, batch: int, context: float) -> Step:
        """A step of ``batch`` decodes alone, each over ``context`` tokens."""
        return self.step(batch, context)

    def max_sessions(self, workload: Workload) -> int | None:
        """Interactions the KV cache holds whole at once; None when not limited (an
        embedding model keeps no KV cache)."""
        if self.kv_tokens is None or self.model.embedding:
            return None
        return self.kv_tokens // workload.kv_tokens

    def point(self, concurrency: int, workload: Workload) -> Point:
        """The replica's steady state with ``concurrency`` users in a closed loop."""
        if self.model.embedding:
            return self._encoder_point(concurrency, workload)
        most = self.max_sessions(workload)
        running = concurrency if most is None else max(1, min(concurrency, most))
        inp, out, budget = workload.input_tokens, workload.output_tokens, self.batched_tokens
        decoding = min(running, budget * out / (inp + out))  # what the step budget keeps fed
        context = workload.decode_context
        mean = self.step(decoding, context, decoding * inp / out, inp / 2)  # the engine's
        # A sequence's own prompt is its TTFT; its decode steps carry the others' prompts.
        decode = self.step(decoding, context, max(0.0, decoding - 1) * inp / out, inp / 2)
        room = max(1, budget - decoding)
        first = self.step(max(0, decoding - 1), context, min(inp, room), inp / 2)
        ttft = decode.seconds / 2 + math.ceil(inp / room) * first.seconds
        ttft += REQUEST_OVERHEAD_SECONDS
        tpot = decode.seconds
        # No faster than the engine's steps process every interaction's tokens.
        rate = min(decoding / (ttft + (out - 1) * tpot), decoding / (out * mean.seconds))
        e2e = concurrency / rate  # Little's law: the waiting (for the KV cache, for the
        ttft = e2e - (out - 1) * tpot  # step budget) wait before their first token
        bound: Bound = "kv" if concurrency > running else mean.bound
        return Point(concurrency, running, ttft, tpot, e2e, rate, rate * out, bound)

    def _encoder_point(self, concurrency: int, workload: Workload) -> Point:
        """An encoder: each request one pass over its tokens, up to the step budget's worth
        of requests a pass. Few users leave the GPU idle while their requests cross the
        server (``REQUEST_OVERHEAD_SECONDS``); more keep it busy, and wait for a pass."""
        tokens = workload.input_tokens
        per_pass = max(1, min(concurrency, self.batched_tokens // tokens))
        one = self.step(0, 0, per_pass * tokens, tokens / 2)
        rate = min(concurrency / (one.seconds + REQUEST_OVERHEAD_SECONDS), per_pass / one.seconds)
        e2e = concurrency / rate
        return Point(concurrency, per_pass, e2e, 0.0, e2e, rate, 0.0, one.bound)

    def batch_seconds(self, batch: int, workload: Workload) -> float:
        """A fixed batch run to its end, as ``vllm bench latency`` times it: every prompt
        prefilled under the step's token budget, then ``output - 1`` steps of the whole batch
        (the prefill's last step gives each sequence its first token)."""
        inp, out = workload.input_tokens, workload.output_tokens
        prompts = batch * inp
        chunks = math.ceil(prompts / self.batched_tokens)
        prefill = sum(
            self.step(
                0, 0, min(self.batched_tokens, prompts - k * self.batched_tokens), inp / 2
            ).seconds
            for k in range(chunks)
        )
        return prefill + (out - 1) * self.decode_step(batch, workload.decode_context).seconds

    def curve(self, concurrencies: Iterable[int], workload: Workload) -> list[Point]:
        return [self.point(concurrency, workload) for concurrency in concurrencies]


@dataclass(frozen=True)
class Promise:
    """What a tier's replicas are planned to deliver, as its vLLM pods carry it (the
    ``agentfleet.io/serving`` annotation): the part they run on, the targets and the
    interaction the batch was planned for. replica-meets-targets holds a Deployment to it."""

    part: str
    """Key in ``facts.parts.PARTS`` of the whole GPU (a MIG pod's slice is cut from it)."""
    ttft_seconds: float
    interaction_seconds: float
    input_tokens: int
    output_tokens: int
    session_tokens: int = 0

    @property
    def workload(self) -> Workload:
        return Workload(self.input_tokens, self.output_tokens, self.session_tokens)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Promise:
        """The promise an annotation carries; ValueError says what is wrong with it."""
        loaded: Any = json.loads(text)
        if not isinstance(loaded, dict):
            raise ValueError("not a JSON object")
        unknown = set(loaded) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown fields {', '.join(sorted(unknown))}")
        for key in ("ttft_seconds", "interaction_seconds"):
            value = loaded.get(key)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"{key} must be a positive number")
        for key, least in (("input_tokens", 1), ("output_tokens", 0), ("session_tokens", 0)):
            value = loaded.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"{key} must be a whole number of at least {least}")
        if not isinstance(loaded.get("part"), str):
            raise ValueError("part must be a string")
        return cls(**{"output_tokens": 0, **loaded})

    def met_by(self, point: Point) -> bool:
        return (
            point.bound != "kv"
            and point.ttft_seconds <= self.ttft_seconds
            and point.e2e_seconds <= self.interaction_seconds
        )
