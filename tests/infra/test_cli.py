"""The ``agentfleet`` command: `size` and `validate` as docs/commands.md states them, exit 2 with
a clear message and no traceback on bad input."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import main
from tests.helpers import REPO, STACKS, stack_values
from tests.infra.config.test_fleet import INVALID, invalid_values


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as exit_:  # argparse
        status = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_size_json_matches_spec(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "size", "--concurrency", "1000", "10000", "--json")
    assert (status, err) == (0, "")
    assert json.loads(out) == {
        "prices": {"source": "seed", "region": None, "asOf": "2026-04-19"},
        "scenarios": [
            {
                "concurrency": 1000,
                "tiers": [
                    {
                        "tier": "lightweight",
                        "gpu": "l40s",
                        "interactions": 700,
                        "gpus": 14,
                        "costPerHour": 10.08,
                    },
                    {
                        "tier": "mid-tier",
                        "gpu": "a100-80gb",
                        "interactions": 250,
                        "gpus": 4,
                        "costPerHour": 4.16,
                    },
                    {
                        "tier": "orchestrator",
                        "gpu": "h100-pcie",
                        "interactions": 50,
                        "gpus": 1,
                        "costPerHour": 2.51,
                    },
                ],
                "totalGpus": 19,
                "totalCostPerHour": 16.75,
                "costPerInteractionHour": 0.01675,
            },
            {
                "concurrency": 10000,
                "tiers": [
                    {
                        "tier": "lightweight",
                        "gpu": "l40s",
                        "interactions": 7000,
                        "gpus": 140,
                        "costPerHour": 100.8,
                    },
                    {
                        "tier": "mid-tier",
                        "gpu": "a100-80gb",
                        "interactions": 2500,
                        "gpus": 34,
                        "costPerHour": 35.36,
                    },
                    {
                        "tier": "orchestrator",
                        "gpu": "h100-pcie",
                        "interactions": 500,
                        "gpus": 5,
                        "costPerHour": 12.55,
                    },
                ],
                "totalGpus": 179,
                "totalCostPerHour": 148.71,
                "costPerInteractionHour": 0.014871,
            },
        ],
    }


def test_size_at_aws_prices(capsys: pytest.CaptureFixture[str]) -> None:
    """The seed's 1,000 interactions (14 L40S, 4 A100, 1 H100) at AWS's us-east-1 on-demand
    prices (its price list: g6e.2xlarge $2.24208, p4de.24xlarge $27.44705 for eight A100s,
    p5.4xlarge $6.88): 14 x 2.24208 + 4 x 3.43088125 + 6.88 = $51.99 an hour."""
    status, out, err = run(
        capsys, "size", "--concurrency", "1000", "--prices", "aws", "--region", "us-east-1",
        "--json",
    )  # fmt: skip
    assert (status, err) == (0, "")
    shown = json.loads(out)
    assert shown["prices"] == {"source": "aws", "region": "us-east-1", "asOf": "2026-08-26"}
    (scenario,) = shown["scenarios"]
    assert [(t["gpus"], t["costPerHour"]) for t in scenario["tiers"]] == [
        (14, 31.39),
        (4, 13.72),
        (1, 6.88),
    ]
    assert scenario["totalCostPerHour"] == 51.99
    status, out, _ = run(capsys, "size", "--concurrency", "1000", "--prices", "aws")
    assert out.rstrip().endswith(
        "prices: AWS on-demand in us-east-1 (price list as of 2026-08-26), per GPU of each "
        "GPU's default instance type"
    )


def test_size_at_aws_prices_refuses_a_region_without_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, err = run(
        capsys, "size", "--concurrency", "10", "--prices", "aws", "--region", "eu-west-1"
    )
    assert (status, out) == (2, "")
    assert "argument --region: AWS's price list (as of 2026-08-26) has no on-demand price " in err


def test_size_table(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "size", "--concurrency", "10000")
    assert status == 0
    assert out.splitlines() == [
        "10,000 concurrent interactions",
        "  tier          GPU        interactions  GPUs  $/hour",
        "  lightweight   l40s              7,000   140  100.80",
        "  mid-tier      a100-80gb         2,500    34   35.36",
        "  orchestrator  h100-pcie           500     5   12.55",
        "  total                          10,000   179  148.71",
        "  cost per interaction-hour: $0.014871",
    ]


def test_size_at_scale(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "size", "--concurrency", "100000", "1000000000", "--json")
    assert status == 0
    totals = [(s["totalGpus"], s["totalCostPerHour"]) for s in json.loads(out)["scenarios"]]
    assert totals == [(1_784, 1480.86), (17_833_334, 14801667.36)]


@pytest.mark.parametrize(
    "mix",
    [
        ["chat=h100-sxm:50", "embed=l40s:50"],
        ["chat=h100-sxm:50%", "embed=l40s:50%"],
        ["chat=h100-sxm:0.5", "embed=l40s:0.5"],
    ],
)
def test_size_mix(capsys: pytest.CaptureFixture[str], mix: list[str]) -> None:
    status, out, _ = run(capsys, "size", "--concurrency", "1000", "--mix", *mix, "--json")
    assert status == 0
    (scenario,) = json.loads(out)["scenarios"]
    assert [
        (t["tier"], t["gpu"], t["interactions"], t["gpus"], t["costPerHour"])
        for t in scenario["tiers"]
    ] == [
        ("chat", "h100-sxm", 500, 5, 22.05),
        ("embed", "l40s", 500, 10, 7.2),
    ]
    assert scenario["totalCostPerHour"] == 29.25


def test_size_mix_may_repeat_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys,
        "size",
        "--concurrency",
        "100",
        "--mix",
        "a=l40s:60",
        "--mix",
        "b=l40s:40",
        "--json",
    )
    assert status == 0
    assert [t["interactions"] for t in json.loads(out)["scenarios"][0]["tiers"]] == [60, 40]


# fmt: off
BAD_SIZE_ARGUMENTS: list[tuple[list[str], str]] = [
    ([], "the following arguments are required: --concurrency"),
    (["--concurrency"], "argument --concurrency: expected at least one argument"),
    (["--concurrency", "0"], "argument --concurrency: 0 must be at least 1"),
    (["--concurrency", "-5"], "argument --concurrency: -5 must be at least 1"),
    (["--concurrency", "ten"], "argument --concurrency: 'ten' is not a whole number"),
    (["--concurrency", "10", "--mix", "a=l40s:60", "b=l40s:30"],
     "argument --mix: shares add up to 90; they must add up to 100 (percent) or 1"),
    (["--concurrency", "10", "--mix", "a=b200:100"],
     "argument --mix: 'a=b200:100': unknown GPU 'b200'; known: l40s, a100-80gb, "
     "h100-pcie, h100-sxm"),
    (["--concurrency", "10", "--mix", "a-l40s-100"],
     "argument --mix: 'a-l40s-100' is not TIER=GPU:SHARE (e.g. lightweight=l40s:70)"),
    (["--concurrency", "10", "--mix", "a=l40s:x"],
     "argument --mix: 'a=l40s:x': share 'x' is not a number"),
    (["--concurrency", "10", "--mix", "a=l40s:0", "b=l40s:100"],
     "argument --mix: 'a=l40s:0': share must be above 0"),
    (["--concurrency", "10", "--mix", "a=l40s:50", "a=h100-pcie:50"],
     "argument --mix: tier 'a' appears twice in --mix"),
]
# fmt: on


@pytest.mark.parametrize(("argv", "message"), BAD_SIZE_ARGUMENTS)
def test_size_bad_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    status, out, err = run(capsys, "size", *argv)
    assert status == 2
    assert out == ""
    assert err.strip().splitlines()[-1] == f"agentfleet size: error: {message}"


def test_misspelt_flag_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "size", "--concurrency", "10", "--concurency", "5")
    assert (status, out) == (2, "")
    assert err.strip().splitlines()[-1] == (
        "agentfleet: error: unrecognized arguments: --concurency 5"
    )


def test_no_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys)
    assert status == 2
    assert "the following arguments are required: COMMAND" in err


# --- validate ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", STACKS)
def test_validate_shipped_stacks(capsys: pytest.CaptureFixture[str], stack: str) -> None:
    status, out, err = run(capsys, "validate", "--stack", stack, "--json")
    assert (status, err) == (0, "")
    result = json.loads(out)
    assert result["stack"] == stack
    assert result["environment"] == stack_values(stack)["agentfleet:fleet"]["environment"]


SERVING_KEYS = (
    "part",
    "interactionSeconds",
    "ttftSeconds",
    "tpotSeconds",
    "outputTokensPerSecondPerReplica",
    "bound",
)
SERVING_HEADING = "serving physics (one replica at its planned batch; docs/serving-physics.md):"


def test_validate_prod_json(capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "validate", "--stack", "prod", "--json")
    result = json.loads(out)
    assert [
        (t["tier"], t["gpus"], t["minInstances"], t["maxInstances"], t["costPerHour"])
        for t in result["tiers"]
    ] == [
        ("orchestrator", 7, 2, 11, 48.16),
        ("mid-tier", 88, 1, 15, 301.92),
        ("lightweight", 88, 2, 120, 197.3),
    ]
    assert [t["instancesAtExpected"] for t in result["tiers"]] == [7, 11, 88]
    assert [t["pricePerInstanceHour"] for t in result["tiers"]] == [6.88, 27.44705, 2.24208]
    assert (result["gpus"], result["costPerHour"], result["maxCostPerHour"]) == (
        183,
        547.38,
        756.44,
    )
    assert result["floorCostPerHour"] == 45.69
    assert result["costPerInteractionHour"] == 0.054738
    assert result["prices"] == {"source": "aws", "region": "us-east-1", "asOf": "2026-08-26"}
    headroom = result["tiers"][0]["headroom"]
    assert headroom["inFlightTarget"] == [74]
    assert headroom["share"] == round(91 / 74 - 1, 4)
    assert result["tiers"][0]["replicaGroups"] == [
        {
            "profile": None,
            "resource": "nvidia.com/gpu",
            "resourceCount": 1,
            "replicasPerInstance": 1,
            "sessionsPerReplica": 91,
            "maxNumSeqs": 160,
        }
    ]
    serving = {key: result["tiers"][0][key] for key in SERVING_KEYS}
    assert serving == {
        "part": "H100 SXM5",
        "interactionSeconds": 2.9826,
        "ttftSeconds": 0.0332,
        "tpotSeconds": 0.0085,
        "outputTokensPerSecondPerReplica": 10678.6,
        "bound": "latency",
    }


def test_validate_table(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "validate", "--stack", "prod")
    assert status == 0
    lines = out.splitlines()
    assert lines[0] == "stack prod (prod, us-east-1, cluster agents-prod)"
    assert lines[2].split() == [
        "orchestrator",
        "h100-pcie",
        "p5.4xlarge",
        "on-demand",
        "2-11",
        "7",
        "500",
        "7",
        "160",
        "48.16",
    ]
    assert lines[6].startswith("  fleet: $547.38/h for 10,000 concurrent interactions")
    assert lines[7] == (
        "  floor (overnight): $45.69/h; every tier at its ceiling: $756.44/h; budget: $800.00/h"
    )
    fit = lines[lines.index("will it fit (vLLM's memory budget; docs/will-it-fit.md):") + 1 :]
    assert fit[1] == (
        "  mid-tier: Qwen/Qwen2.5-7B-Instruct, 14.2 GiB of weights on 1 GPU a replica, "
        "1,003,456 KV tokens: 54 sessions a replica (its KV cache holds 1,056)"
    )
    serving = lines[lines.index(SERVING_HEADING) + 1 :]
    assert serving[0] == (
        "  orchestrator: 91 sessions a replica (the largest batch inside the tier's TTFT and "
        "interaction targets); TTFT 0.033 s, 350 tokens out at 8.5 ms each, 2.98 s an "
        "interaction, 10,679 tokens/s a replica"
    )
    assert serving[1] == (
        "    orchestrator: p5.4xlarge carries H100 SXM5, not the H100 PCIe that h100-pcie "
        "names: the serving model runs on H100 SXM5, at p5.4xlarge's price"
    )
    assert serving[2].startswith("  mid-tier: 54 sessions a replica (throughput within 10%")


def test_validate_json_shows_each_derived_fit_value(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "validate", "--stack", "prod", "--json")
    assert status == 0
    (mid,) = [tier for tier in json.loads(out)["tiers"] if tier["tier"] == "mid-tier"]
    assert mid["fit"] == {
        "model": "Qwen/Qwen2.5-7B-Instruct",
        "known": True,
        "parametersBillions": 7.616,
        "dtype": "bfloat16",
        "sessionTokens": 950,
        "gpuMemoryUtilization": 0.9,
        "shapes": [
            {
                "profile": None,
                "tensorParallel": 1,
                "weightsGiB": 14.2,
                "kvTokensPerReplica": 1_003_456,
                "kvSessionsPerReplica": 1056,
                "catalogSessionsPerReplica": 75,
                "sessionsPerReplica": 54,
                "maxModelLen": 32_768,
                "interactionSeconds": 5.1424,
                "bound": "compute",
            }
        ],
        "notes": [],
    }
    assert (mid["interactionSeconds"], mid["bound"]) == (5.1424, "compute")


def test_size_with_a_model_sizes_by_its_kv_cache(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(
        capsys, "size", "--concurrency", "2500", "--mix", "mid=a100-80gb:100",
        "--model", "mid=Qwen/Qwen2.5-32B-Instruct", "--json",
    )  # fmt: skip
    assert status == 0
    (tier,) = json.loads(out)["scenarios"][0]["tiers"]
    # Qwen2.5-32B over two A100s: 67 sessions of 14.3 s; 2500 interactions counted at 3 s
    # are 11,936 in flight, 179 replicas.
    assert (tier["gpus"], tier["tensorParallel"], tier["sessionsPerReplica"]) == (358, 2, 67)
    assert tier["kvTokensPerReplica"] == 307_184
    assert (tier["interactionSeconds"], tier["bound"]) == (14.3232, "compute")


@pytest.mark.parametrize(
    ("model", "reason"),
    [
        ("mid=acme/x", "unknown model 'acme/x'"),
        ("mid", "'mid' is not TIER=MODEL"),
        ("other=Qwen/Qwen2.5-3B-Instruct", "no tier 'other' in the mix (mid)"),
    ],
)
def test_size_refuses_a_model_it_cannot_size(
    capsys: pytest.CaptureFixture[str], model: str, reason: str
) -> None:
    status, _, err = run(
        capsys, "size", "--concurrency", "10", "--mix", "mid=a100-80gb:100", "--model", model
    )
    assert status == 2
    assert "argument --model: " in err
    assert reason in err


def write_config(tmp_path: Path, values: dict[str, Any]) -> Path:
    path = tmp_path / "Pulumi.broken.yaml"
    path.write_text(yaml.safe_dump({"config": values}, sort_keys=False))
    return path


@pytest.mark.parametrize(
    ("path", "value", "where", "reason"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
def test_invalid_config_exits_2_naming_the_key(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    path: str,
    value: object,
    where: str,
    reason: str,
) -> None:
    config = write_config(tmp_path, invalid_values(path, value))
    status, out, err = run(capsys, "validate", "--config", str(config))
    assert status == 2
    assert out == ""
    assert err == f"agentfleet: invalid configuration\n{where}: {reason}\n"


def test_unknown_stack_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    status, _, err = run(capsys, "validate", "--stack", "qa")
    assert status == 2
    assert "--stack: no stack file" in err
    assert "stacks here: dev, prod, sandbox, staging" in err


@pytest.mark.integration
def test_console_script_exits_2_without_a_traceback(tmp_path: Path) -> None:
    """The installed command, as a user runs it: a real process, a real exit status."""
    config = write_config(
        tmp_path, invalid_values("agentfleet:fleet.tiers.lightweight.mig", {"1g.10gb": 1})
    )
    script = Path(sys.executable).parent / "agentfleet"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "infra.cli"]
    result = subprocess.run(
        [*command, "validate", "--config", str(config)],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr == (
        "agentfleet: invalid configuration\n"
        "agentfleet:fleet.tiers.lightweight.mig: l40s has no MIG: it cannot be partitioned\n"
    )
    ok = subprocess.run(
        [*command, "size", "--concurrency", "1000"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert ok.returncode == 0
    assert "  total                           1,000    19   16.75" in ok.stdout


def test_an_internal_error_exits_3_in_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """docs/commands.md: a bug exits 3 with one line saying so, never 1 (a policy finding)."""
    from infra import cli

    def broken(*_: Any) -> None:
        raise RuntimeError("an invariant\nthat broke")

    monkeypatch.setattr(cli, "plan_fleet", broken)
    assert main(["validate", "--stack", "prod"]) == 3
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("agentfleet: internal error (a bug, not your input): RuntimeError: ")
    assert "an invariant that broke" in err


def test_a_value_with_a_newline_stays_on_its_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["costCenter"] = "ai\nplatform"
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["gpu"] = "h100\nextra"
    path = tmp_path / "Pulumi.nl.yaml"
    path.write_text(yaml.safe_dump({"config": values}))
    assert main(["validate", "--config", str(path)]) == 2
    _, err = capsys.readouterr()
    lines = err.splitlines()
    assert lines[0] == "agentfleet: invalid configuration"
    assert all(line.startswith("agentfleet:") for line in lines[1:]), lines


@pytest.mark.parametrize("command", ["validate", "plan"])
def test_a_model_that_cannot_fit_exits_2_naming_the_key(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: str
) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["lightweight"].update(
        model="meta-llama/Llama-3.1-70B-Instruct", instanceType="g6e.2xlarge"
    )
    status, out, err = run(capsys, command, "--config", str(write_config(tmp_path, values)))
    assert (status, out) == (2, "")
    assert (
        "agentfleet:fleet.tiers.lightweight.instanceType: meta-llama/Llama-3.1-70B-Instruct "
        "needs 131.4 GiB of weights; one L40S has 40.0 GiB" in err
    )


@pytest.fixture
def collector_paused() -> Iterator[None]:
    """The collector as ``infra.launch`` leaves it for ``main``: paused. Afterwards it is
    on, and nothing stays frozen in the test process."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.unfreeze()


@pytest.mark.usefixtures("collector_paused")
def test_a_command_other_than_plan_resumes_collection_before_it_runs(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker runs for days: the pause is for loading a plan, nothing else."""
    from infra import cli

    seen: list[bool] = []

    def validate(_args: Any) -> int:
        seen.append(gc.isenabled())
        return 0

    monkeypatch.setattr(cli, "_validate", validate)
    assert main(["validate", "--stack", "dev"]) == 0
    assert seen == [True]
    assert gc.get_freeze_count() > 0  # what was loaded is frozen, never scanned again


@pytest.mark.usefixtures("collector_paused")
def test_plan_resumes_collection_once_the_preview_is_done(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.offline import preview as offline_preview

    seen: list[bool] = []
    real = offline_preview.preview

    def watched(*args: Any, **kwargs: Any) -> Any:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(offline_preview, "preview", watched)
    status, _, _ = run(capsys, "plan", "--stack", "dev", "--json")
    assert (status, seen, gc.isenabled()) == (0, [False], True)


def test_the_installed_command_starts_with_the_collector_paused() -> None:
    """infra.launch pauses before it imports the command, so the SDKs load unscanned."""
    probe = (
        "import gc\n"
        "from infra import launch\n"
        "import infra.cli\n"
        "infra.cli.main = lambda: print(gc.isenabled()) or 0\n"
        "launch.run()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO, check=False
    )
    assert (result.returncode, result.stdout) == (0, "False\n")
