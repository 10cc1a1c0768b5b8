"""Will it fit: a vLLM Deployment whose model does not fit its GPUs, as vLLM budgets memory."""

from __future__ import annotations

from typing import Any

import pytest

from facts import models
from facts.labels import MODEL_PROFILE
from facts.resource_types import DEPLOYMENT
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    container,
    mcp,
    orchestrator,
    prod_with,
    same,
    set_arg,
    steps,
    tier,
)

NAME = "model-fits-gpu"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod stack declares it (Qwen2.5-7B on one H100 PCIe)."""
LLAMA_70B = "meta-llama/Llama-3.1-70B-Instruct"


def serve(p: dict[str, Any], model: str) -> None:
    container(p)["args"][0] = model


def gpus(p: dict[str, Any], resource: str, count: str) -> None:
    resources = container(p)["resources"]
    for kind in ("requests", "limits"):
        resources[kind].pop("nvidia.com/gpu", None)
        resources[kind][resource] = count


def profile(p: dict[str, Any], model: models.Model) -> None:
    template = p["spec"]["template"]["metadata"]
    template["annotations"][MODEL_PROFILE] = models.profile_json(model)


CASES: dict[str, ResourceCase] = {
    "fit-ok": (DEPLOYMENT, orchestrator, same, []),
    "fit-70b-on-one-h100": (
        DEPLOYMENT,
        orchestrator,
        lambda p: serve(p, LLAMA_70B),
        [
            f"container vllm: {LLAMA_70B} needs 131.4 GiB of weights; one H100 has 71.3 GiB "
            "for vLLM (--gpu-memory-utilization), 6.4 GiB of it for activations and CUDA"
        ],
    ),
    "fit-70b-on-four-h100": (
        DEPLOYMENT,
        orchestrator,
        steps(
            lambda p: serve(p, LLAMA_70B),
            lambda p: gpus(p, "nvidia.com/gpu", "4"),
            lambda p: container(p)["args"].extend(["--tensor-parallel-size", "4"]),
            lambda p: set_arg(p, "--max-model-len", "131072"),
        ),
        [],
    ),
    "fit-7b-in-a-10gb-slice": (
        DEPLOYMENT,
        orchestrator,
        lambda p: gpus(p, "nvidia.com/mig-1g.10gb", "1"),
        [
            # the pod keeps the H100's step of 8,192 tokens, whose logits alone are 4.6 GiB
            "container vllm: Qwen/Qwen2.5-7B-Instruct needs 14.2 GiB of weights; a 1g.10gb "
            "slice has 8.8 GiB for vLLM (--gpu-memory-utilization), 7.1 GiB of it for "
            "activations and CUDA"
        ],
    ),
    "fit-context-beyond-kv": (
        DEPLOYMENT,
        orchestrator,
        lambda p: set_arg(p, "--gpu-memory-utilization", "0.28"),
        [
            "container vllm: --max-model-len 32768 needs that many tokens of KV cache; "
            "Qwen/Qwen2.5-7B-Instruct on one H100 leaves room for 15808, and vLLM refuses "
            "to start"
        ],
    ),
    "fit-heads-do-not-split": (
        DEPLOYMENT,
        orchestrator,
        steps(
            lambda p: gpus(p, "nvidia.com/gpu", "8"),
            lambda p: container(p)["args"].extend(["--tensor-parallel-size", "8"]),
        ),
        [
            "container vllm: vLLM cannot split Qwen/Qwen2.5-7B-Instruct (28 attention heads, "
            "4 KV heads) over --tensor-parallel-size 8"
        ],
    ),
    "fit-profile-annotation": (
        DEPLOYMENT,
        orchestrator,
        steps(
            lambda p: serve(p, "acme/private-70b"),
            lambda p: profile(p, models.MODELS[LLAMA_70B]),
        ),
        [
            "container vllm: acme/private-70b needs 131.4 GiB of weights; one H100 has "
            "71.3 GiB for vLLM (--gpu-memory-utilization), 6.4 GiB of it for activations "
            "and CUDA"
        ],
    ),
    "fit-unknown-model-left-to-model-shape-known": (
        DEPLOYMENT,
        orchestrator,
        lambda p: serve(p, "acme/private-model"),
        [],
    ),
    "fit-not-vllm": (DEPLOYMENT, mcp, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: the components used directly, a 70B model on the
    orchestrator's one-GPU replicas (the stack config would refuse it)."""
    return [
        *[r for r in prod_with(tier("orchestrator")) if r.type != DEPLOYMENT],
        *[_with_70b(r) for r in prod_with(tier("orchestrator")) if r.type == DEPLOYMENT],
    ]


def _with_70b(registration: Registration) -> Registration:
    if registration.name != "orchestrator-deployment":
        return registration
    inputs = registration.inputs
    containers = inputs["spec"]["template"]["spec"]["containers"]
    containers[0]["args"][0] = LLAMA_70B
    return registration
