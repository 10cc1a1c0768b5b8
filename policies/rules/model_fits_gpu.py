"""Will it fit: the model a vLLM Deployment serves fits the GPUs it asks for, as vLLM budgets
memory, or vLLM refuses to start and the pods crash-loop."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.vllm_memory import budget, gib
from policies.building import PolicyMeta, Report, policy
from policies.serving import served_by

META = PolicyMeta(
    name="model-fits-gpu",
    item="fit",
    severity="critical",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.model",
        "agentfleet:fleet.tiers.<tier>.gpusPerReplica",
        "agentfleet:fleet.tiers.<tier>.gpu",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="The model a vLLM Deployment serves fits the GPUs (or MIG slice) it asks "
    "for: its weights, activations and at least one --max-model-len sequence of KV cache "
    "within --gpu-memory-utilization, over a tensor-parallel degree vLLM can split it by.",
    remediation="Give the tier more GPUs a replica (gpusPerReplica or an instance type with "
    "more GPUs), a larger MIG profile, a GPU with more memory or a smaller model; or lower "
    "--max-model-len.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    for server in served_by(args):
        model = server.model
        if model is None or server.device_gib is None or server.gpu_class is None:
            continue  # model-shape-known says why
        tp = server.tensor_parallel
        if not model.splits_over(tp):
            report(
                f"container {server.container}: vLLM cannot split {model.name} "
                f"({model.attention_heads} attention heads, {model.kv_heads} KV heads) over "
                f"--tensor-parallel-size {tp}"
            )
            continue
        device = budget(
            model, server.device_gib, server.gpu_class, tp, server.utilization,
            server.batched_tokens,
        )  # fmt: skip
        if not device.fits_weights:
            report(
                f"container {server.container}: {model.name} needs {gib(model.weight_bytes)} "
                f"of weights; {server.where} has {gib(device.usable)} for vLLM "
                f"(--gpu-memory-utilization), {gib(device.activation + device.overhead)} of "
                "it for activations and CUDA"
            )
            continue
        length = server.max_model_len or model.max_positions
        if not model.embedding and device.kv_tokens < length:
            report(
                f"container {server.container}: --max-model-len {length} needs that many "
                f"tokens of KV cache; {model.name} on {server.where} leaves room for "
                f"{device.kv_tokens}, and vLLM refuses to start"
            )


POLICY = policy(META, check)
