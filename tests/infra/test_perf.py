"""``agentfleet perf``: one replica's curve in the contract's shape, the replica the planner
would build, a plot people can read, and exit 2 naming the argument on bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from facts.serving import Workload
from tests.infra.test_cli import run

LLAMA_8B = "meta-llama/Llama-3.1-8B-Instruct"
POINT_KEYS = {
    "concurrency",
    "ttftSeconds",
    "tpotSeconds",
    "e2eSeconds",
    "outputTokensPerSecond",
    "interactionsPerSecond",
    "bound",
}


def perf(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    return run(capsys, "perf", *argv)


def test_the_acceptance_command_prints_the_contracts_shape(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = perf(
        capsys, "--model", LLAMA_8B, "--gpu", "h100-sxm", "--concurrency", "1", "8", "64",
        "256", "--json",
    )  # fmt: skip
    assert (status, err) == (0, "")
    shown = json.loads(out)
    assert set(shown) >= {"model", "gpu", "part", "gpusPerReplica", "inputTokens",
                          "outputTokens", "kvTokens", "maxSessions", "points"}  # fmt: skip
    assert (shown["model"], shown["gpu"], shown["part"]) == (LLAMA_8B, "h100-sxm", "H100 SXM5")
    assert (shown["gpusPerReplica"], shown["inputTokens"], shown["outputTokens"]) == (1, 600, 350)
    assert shown["maxSessions"] == shown["kvTokens"] // 950
    points = shown["points"]
    assert [p["concurrency"] for p in points] == [1, 8, 64, 256]
    for point in points:
        assert set(point) == POINT_KEYS
        assert point["bound"] in {"memory", "compute", "kv"}
        # a closed loop: users = interactions/s x seconds each; the replica's total tokens
        assert point["interactionsPerSecond"] * point["e2eSeconds"] == pytest.approx(
            point["concurrency"], rel=0.01
        )
        assert point["outputTokensPerSecond"] == pytest.approx(
            point["interactionsPerSecond"] * 350, rel=0.01
        )
    assert points[0]["bound"] == "memory"  # one sequence: the weights' read
    assert points[-1]["bound"] == "compute"
    assert points[0]["tpotSeconds"] < points[-1]["tpotSeconds"]
    assert points[0]["outputTokensPerSecond"] < points[-1]["outputTokensPerSecond"]


def test_the_curve_is_the_replica_the_planner_builds(capsys: pytest.CaptureFixture[str]) -> None:
    """Qwen2.5-7B on an h100-pcie tier: the p5.4xlarge's H100 SXM5, vLLM's budget, and at
    the prod orchestrator's 91 sessions the 3 s its plan states."""
    from infra.config import parse_stack_config
    from infra.plan import plan_fleet
    from tests.helpers import stack_values

    tier = plan_fleet(parse_stack_config(stack_values("prod"))).tier("orchestrator")
    status, out, _ = perf(
        capsys, "--model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "h100-pcie", "--concurrency",
        "91", "--json",
    )  # fmt: skip
    assert status == 0
    shown = json.loads(out)
    assert shown["part"] == "H100 SXM5"  # what AWS puts behind the h100-pcie key
    assert shown["kvTokens"] == tier.replica_groups[0].kv_tokens
    assert tier.serving.point is not None
    assert shown["points"][0]["e2eSeconds"] == round(tier.serving.point.e2e_seconds, 3)


def test_tensor_parallelism_and_tokens_are_the_callers(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = perf(
        capsys, "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "h100-sxm",
        "--gpus-per-replica", "8", "--input-tokens", "2000", "--output-tokens", "200",
        "--concurrency", "4", "--json",
    )  # fmt: skip
    assert status == 0
    shown = json.loads(out)
    assert (shown["gpusPerReplica"], shown["inputTokens"], shown["outputTokens"]) == (8, 2000, 200)
    assert shown["maxSessions"] == shown["kvTokens"] // Workload(2000, 200).kv_tokens


def test_an_unpinned_large_model_takes_the_fewest_gpus_that_hold_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = perf(
        capsys, "--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "h100-sxm", "--json"
    )
    assert status == 0
    assert json.loads(out)["gpusPerReplica"] == 4  # two hold the weights, not the activations


def test_an_embedding_model_has_requests_not_replies(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = perf(
        capsys, "--model", "BAAI/bge-large-en-v1.5", "--gpu", "l40s", "--input-tokens", "512",
        "--concurrency", "1", "64", "--json",
    )  # fmt: skip
    assert status == 0
    shown = json.loads(out)
    assert (shown["outputTokens"], shown["maxSessions"]) == (0, None)
    assert [p["tpotSeconds"] for p in shown["points"]] == [0.0, 0.0]
    assert shown["points"][1]["interactionsPerSecond"] > 400


def test_the_plot_is_written(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    picture = tmp_path / "curve.png"
    status, out, _ = perf(capsys, "--model", LLAMA_8B, "--gpu", "h100-sxm", "--plot", str(picture))
    assert status == 0
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {picture}" in out
    lines = out.splitlines()
    assert lines[0].startswith(f"{LLAMA_8B} on 1 x H100 SXM5 (p5.48xlarge, h100-sxm)")
    assert lines[1].split() == ["concurrency", "TTFT", "s", "TPOT", "ms", "e2e", "s",
                                "tokens/s", "interactions/s", "bound"]  # fmt: skip


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--model", "acme/x", "--gpu", "l40s"], "--model: acme/x is not in the model table"),
        (["--model", LLAMA_8B, "--gpu", "b300"], "--gpu: unknown GPU 'b300'"),
        (["--model", LLAMA_8B, "--gpu", "l40s", "--instance-type", "p5.4xlarge"],
         "--instance-type: p5.4xlarge does not carry l40s GPUs"),
        (["--model", "meta-llama/Llama-3.1-70B-Instruct", "--gpu", "h100-sxm",
          "--gpus-per-replica", "2"], "--gpus-per-replica: meta-llama/Llama-3.1-70B-Instruct "
         "does not fit 2 x H100"),
        (["--model", LLAMA_8B, "--gpu", "h100-sxm", "--gpus-per-replica", "3"],
         "--gpus-per-replica: 3 GPUs a replica divide none of p5.48xlarge's 8, p5.4xlarge's 1"),
        (["--model", "Qwen/Qwen2.5-3B-Instruct", "--gpu", "l40s", "--input-tokens", "40000"],
         "--input-tokens: 40000 + 350 tokens exceed Qwen/Qwen2.5-3B-Instruct's context"),
    ],
)  # fmt: skip
def test_bad_arguments_exit_2_naming_them(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    status, out, err = perf(capsys, *argv)
    assert (status, out) == (2, "")
    assert said in err
    assert "Traceback" not in err


def test_a_plot_into_a_missing_folder_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    picture = tmp_path / "missing" / "curve.png"
    status, out, err = perf(capsys, "--model", LLAMA_8B, "--gpu", "l40s", "--plot", str(picture))
    assert (status, out) == (2, "")
    assert f"--plot: {picture.parent} is not a directory" in err


def test_the_replica_is_the_plans_with_its_step_budget(capsys: pytest.CaptureFixture[str]) -> None:
    """prod's mid-tier replica, as perf draws it: the same KV cache and step budget."""
    from infra.config import parse_stack_config
    from infra.plan import plan_fleet
    from tests.helpers import stack_values

    (group,) = plan_fleet(parse_stack_config(stack_values("prod"))).tier("mid-tier").replica_groups
    status, out, _ = perf(
        capsys, "--model", "Qwen/Qwen2.5-7B-Instruct", "--gpu", "a100-80gb", "--json"
    )
    assert status == 0
    shown = json.loads(out)
    assert (shown["kvTokens"], shown["maxNumBatchedTokens"]) == (
        group.kv_tokens,
        group.max_num_batched_tokens,
    )


def test_a_concurrency_below_one_is_an_argument_error(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = perf(capsys, "--model", LLAMA_8B, "--gpu", "l40s", "--concurrency", "0")
    assert status == 2
    assert "argument --concurrency: 0 must be at least 1" in err
