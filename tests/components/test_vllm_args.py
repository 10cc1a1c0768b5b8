"""The vLLM arguments VllmService renders are accepted by vLLM's own parser and config
classes (vLLM from the `vllm` extra, in its own virtualenv); a misspelt flag or an
out-of-range value is refused by the same check."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from components import VllmArgs
from components.vllm_service import CACHE_ENV, keep_alive_env
from facts.worker import MAX_LOGPROBS
from tests.components.builders import plan_of, service_args, tier_args
from tests.helpers import (
    STACKS,
    STORE_BUCKET,
    VllmProcess,
    prod_with_model_store,
    prod_with_s3_model,
)

STREAMED = {"store": prod_with_model_store, "s3-model": prod_with_s3_model}
"""Stacks whose tiers stream weights from S3: a model store, a tier's own S3 folder."""

CHECKER = Path(__file__).with_name("vllm_argcheck.py")
ENV_CHECKER = Path(__file__).with_name("vllm_envcheck.py")


def vllm_check(vllm: VllmProcess, argvs: list[list[str]]) -> list[dict[str, object]]:
    answers: list[dict[str, object]] = vllm.ask(CHECKER, argvs)
    return answers


def rendered() -> dict[str, list[str]]:
    """Every argv the shipped stacks render, plus the optional flags."""
    argvs = {}
    for stack in STACKS:
        for tier in plan_of(stack).tiers:
            args = tier_args(stack, tier.name)
            for index, shape in enumerate(args.shapes):
                argvs[f"{stack}/{tier.name}/{shape.profile}"] = args.service_args(index).serve_args
    for name, values in STREAMED.items():
        plan = plan_of(values())
        for tier in plan.tiers:
            args = tier_args(values(), tier.name)
            for index, shape in enumerate(args.shapes):
                argvs[f"{name}/{tier.name}/{shape.profile}"] = args.service_args(index).serve_args
    argvs["pinned-revision"] = VllmArgs(
        model="Qwen/Qwen2.5-7B-Instruct",
        revision="a09a35458c702b33eeacc393d103063234e8bc28",
        max_num_seqs=64,
    ).render()
    argvs["tensor-parallel-and-context"] = VllmArgs(
        model="meta-llama/Llama-3.1-70B-Instruct",
        served_model_name="llama-70b",
        max_num_seqs=350,
        tensor_parallel_size=4,
        max_model_len=32768,
        gpu_memory_utilization=0.85,
    ).render()
    return argvs


GOOD = VllmArgs(model="m/x", max_num_seqs=175).render()
BROKEN = {
    "misspelt": ["--max-num-seq" if a == "--max-num-seqs" else a for a in GOOD],
    "out-of-range": [*GOOD, "--gpu-memory-utilization", "1.5"],
    "not-a-number": ["abc" if a == "175" else a for a in GOOD],
    "step-below-max-num-seqs": [*GOOD, "--max-num-batched-tokens", "128"],
    "s3-without-streamer": ["s3://bucket/models/m/x/", *GOOD[1:]],
    "streamer-unknown-key": ["s3://bucket/models/m/x/", *GOOD[1:], "--load-format",
                             "runai_streamer", "--model-loader-extra-config", '{"threads":4}'],
}  # fmt: skip


@pytest.fixture(scope="module")
def answers(vllm: VllmProcess) -> dict[str, dict[str, object]]:
    """vLLM's verdict on every argv, in one order to the session's vLLM process."""
    argvs = {**rendered(), **BROKEN}
    return dict(zip(argvs, vllm_check(vllm, list(argvs.values())), strict=True))


@pytest.mark.integration
def test_rendered_arguments_pass_vllms_own_checks(answers: dict[str, dict[str, object]]) -> None:
    names = list(rendered())
    assert len(names) >= 8
    assert {name: answers[name]["ok"] for name in names} == dict.fromkeys(names, True)


@pytest.mark.integration
def test_vllm_lets_the_running_requests_finish_at_sigterm(
    answers: dict[str, dict[str, object]],
) -> None:
    """vLLM's engine reads --shutdown-timeout as how long it drains at SIGTERM (0, its
    default, aborts): every shipped replica drains for its tier's request timeout."""
    for stack in STACKS:
        for tier in plan_of(stack).tiers:
            timeout = tier.config.request_timeout_seconds
            for shape in tier_args(stack, tier.name).shapes:
                verdict = answers[f"{stack}/{tier.name}/{shape.profile}"]
                assert verdict["shutdown_timeout"] == timeout, (stack, tier.name)
                # and it answers with at most the log-probabilities a reply may carry
                assert verdict["max_logprobs"] == MAX_LOGPROBS, (stack, tier.name)


@pytest.mark.integration
def test_weights_in_s3_are_streamed_under_the_name_clients_use(
    answers: dict[str, dict[str, object]],
) -> None:
    """vLLM refuses a model in object storage unless the Run:ai streamer loads it (its
    VllmConfig) and checks the streamer's extra config (its loader): a store tier and a tier
    of its own S3 folder pass both, streaming, and keep serving under the name the tier
    gives (a store tier's Hub id), not the folder or the local copy vLLM makes of it."""
    store = answers["store/orchestrator/None"]
    assert (store["ok"], store["load_format"]) == (True, "runai_streamer")
    assert store["served_model_name"] == ["Qwen/Qwen2.5-7B-Instruct"]
    argv = rendered()["store/orchestrator/None"]
    assert argv[0] == f"s3://{STORE_BUCKET}/models/Qwen/Qwen2.5-7B-Instruct/"
    own = answers["s3-model/mid-tier/None"]
    assert (own["ok"], own["load_format"]) == (True, "runai_streamer")
    hub = answers["s3-model/orchestrator/None"]
    assert (hub["ok"], hub["load_format"]) == (True, "auto")
    # what vLLM refuses: an S3 folder without the streamer, a key the streamer lacks
    assert answers["s3-without-streamer"]["ok"] is False
    assert "object storage" in str(answers["s3-without-streamer"]["error"])
    assert answers["streamer-unknown-key"]["ok"] is False
    assert "Unexpected extra config keys" in str(answers["streamer-unknown-key"]["error"])


def test_the_check_refuses_what_vllm_refuses(answers: dict[str, dict[str, object]]) -> None:
    assert answers["misspelt"] == {
        "ok": False,
        "error": "vllm serve: error: unrecognized arguments: --max-num-seq 175",
    }
    assert answers["out-of-range"]["ok"] is False
    assert "gpu_memory_utilization" in str(answers["out-of-range"]["error"])
    assert answers["not-a-number"]["ok"] is False
    assert "invalid int value: 'abc'" in str(answers["not-a-number"]["error"])
    # the planner's step budget is never below --max-num-seqs: vLLM refuses that
    assert (
        "max_num_batched_tokens (128) must be greater than or equal to max_num_seqs (175)"
        in str(answers["step-below-max-num-seqs"]["error"])
    )


def test_rendered_argv() -> None:
    assert VllmArgs(model="m/x", max_num_seqs=175).render() == [
        "m/x", "--host", "0.0.0.0", "--port", "8000", "--max-num-seqs", "175",
        "--gpu-memory-utilization", "0.9", "--max-logprobs", "5",
    ]  # fmt: skip
    assert rendered()["tensor-parallel-and-context"][-8:] == [
        "--served-model-name", "llama-70b", "--max-logprobs", "5",
        "--tensor-parallel-size", "4", "--max-model-len", "32768",
    ]  # fmt: skip


@pytest.mark.integration
def test_the_environment_we_set_is_what_vllm_reads(vllm: VllmProcess) -> None:
    """Every VLLM_* variable the pods set is one vLLM reads (vllm.envs), and reaches the
    setting it names; the keep-alive is the one vLLM's HTTP server uses (default 5 s)."""
    env = [*CACHE_ENV, *keep_alive_env(service_args("prod", "orchestrator"))]
    ours = {str(e.name): str(e.value) for e in env if str(e.name).startswith("VLLM_")}
    assert set(ours) == {"VLLM_NO_USAGE_STATS", "VLLM_HTTP_TIMEOUT_KEEP_ALIVE"}
    seen: dict[str, Any] = vllm.ask(ENV_CHECKER, {"env": ours})
    assert set(ours) <= set(seen["known"]), set(ours) - set(seen["known"])
    assert seen["keep_alive"] == int(ours["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"])


@pytest.mark.integration
def test_vllm_serves_a_pinned_revision_with_its_tokenizer(
    answers: dict[str, dict[str, object]],
) -> None:
    """--revision pins the weights; vLLM's tokenizer follows it unless told otherwise
    (ModelConfig: tokenizer_revision None takes revision), so one flag pins both."""
    pinned = answers["pinned-revision"]
    assert pinned["ok"] is True
    assert pinned["revision"] == "a09a35458c702b33eeacc393d103063234e8bc28"
    assert pinned["tokenizer_revision"] in (None, pinned["revision"])
