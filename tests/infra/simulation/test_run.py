"""A stack's simulation end to end: deterministic per seed, what is simulated is what the
program declares, bad arguments exit 2."""

from __future__ import annotations

import json

import pytest

from infra.cli import main


def test_runs_are_deterministic_per_seed(capsys: pytest.CaptureFixture[str]) -> None:
    def run(seed: str) -> str:
        assert main(["simulate", "--stack", "dev", "--hours", "1", "--seed", seed, "--json"]) == 0
        return capsys.readouterr().out

    first, again, other = run("3"), run("3"), run("4")
    assert first == again
    assert first != other
    result = json.loads(first)
    assert set(result) == {"stack", "seconds", "strategies"}
    assert result["seconds"] == 3600
    assert set(result["strategies"]) == {"queue-depth", "gpu-utilization", "static-peak"}
    tier = result["strategies"]["queue-depth"]["tiers"][0]
    contract = {"tier", "interactions", "cost", "gpuHours", "maxReplicas",
                "queueWaitMeanSeconds", "queueWaitP95Seconds", "ttftP95Seconds",
                "slaAttainment", "expired"}  # fmt: skip
    assert contract <= set(tier)


def test_what_is_simulated_is_what_the_program_declares() -> None:
    """prod's orchestrator as its rendered objects say: the ScaledObject's floor, ceiling,
    triggers (two SQS, the weekday cron) and behaviour; the node group's floor and ceiling;
    91 sessions a replica from the plan, each interaction held for the planned batch's
    2.98 s, its first token after 0.033 s; a cold start from the node's start, the image's
    pull, vLLM's engine start and the weights (14.2 GiB) at what the node may download."""
    from infra.config import parse_stack_config
    from infra.offline.mocks import run_program
    from infra.plan import plan_fleet
    from infra.simulation.fleet import fleet_models
    from tests.helpers import stack_values

    values = stack_values("prod")
    registrations, _ = run_program(values, stack="prod")
    tiers = {t.name: t for t in fleet_models(plan_fleet(parse_stack_config(values)), registrations)}
    orchestrator = tiers["orchestrator"]
    scaled = orchestrator.scaled
    assert (scaled.min_replicas, scaled.max_replicas) == (2, 11)
    kinds = ["aws-sqs-queue", "aws-sqs-queue", "prometheus", "cron"]
    assert [t.kind for t in scaled.triggers] == kinds
    assert scaled.up.window == 60
    assert scaled.down.window == 300
    assert [(w.start, w.end, w.timezone) for w in orchestrator.cron] == [
        ("0 7 * * 1-5", "0 19 * * 1-5", "America/New_York")
    ]
    assert (orchestrator.node_min, orchestrator.node_max, orchestrator.burst_max) == (2, 11, 0)
    assert orchestrator.sessions_per_replica == 91
    assert orchestrator.service_seconds == pytest.approx(2.983, abs=0.001)
    assert orchestrator.prefill_seconds == pytest.approx(0.033, abs=0.001)
    # prod streams its weights from S3 in its region: a pod at the streamer's 2.86 GiB/s,
    # the p5.4xlarge's whole 100 Gbps shared when more start at once (traffic within the
    # region is not held to the internet's share); vLLM's engine start for 7.6 B
    # parameters, between Llama-3-8B's 39.3 s and Llama-3-70B's 91.8 s; the node's start
    # and the image's pull
    node = 100e9 / 8 / 2**30
    assert orchestrator.node_gib_per_second == pytest.approx(node)
    assert orchestrator.download_gib_per_second == pytest.approx(2.86)
    assert orchestrator.pod_start() == pytest.approx(30 + 39.0 + 14.185 / 2.86, abs=0.2)
    assert orchestrator.node_start_seconds == 90 + 180
    # eight pods of one node at once share its 100 Gbps
    assert orchestrator.pod_start(8) - orchestrator.pod_start(1) == pytest.approx(
        14.185 / (node / 8) - 14.185 / 2.86, abs=0.1
    )
    assert tiers["mid-tier"].replicas_per_node == 8  # one A100 a replica on eight
    # a throughput-first tier's interactions take its batch's 5.1 s, not serviceSeconds
    assert tiers["mid-tier"].service_seconds == pytest.approx(5.14, abs=0.01)


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--step", "0.3"], "--step: 0.3 s is not one of 1, 0.5, 0.25, 0.2, 0.1, 0.05"),
        (["--timezone", "Mars/Olympus"], "--timezone: unknown time zone 'Mars/Olympus'"),
        (["--strategies", "hope"], "--strategies: unknown strategy 'hope'"),
        (
            ["--plot", "/nonexistent-folder/day.png"],
            "--plot: /nonexistent-folder is not a directory",
        ),
    ],
)
def test_bad_simulate_arguments_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main(["simulate", "--stack", "dev", "--hours", "1", *argv]) == 2
    assert said in capsys.readouterr().err


def test_a_run_starts_settled_at_its_first_rate() -> None:
    """A flat trace at each tier's expected rate, outside any scheduled window: every lane
    starts with the replicas its autoscaler holds for that load (for the stack's own
    scaling, the plan's instances at the expected load) and nothing waits in its first 15
    minutes (started at the floor or at whole sessions, the HPA would climb through a
    backlog of hundreds)."""
    from infra.config import parse_stack_config
    from infra.plan import plan_fleet
    from infra.simulation.run import simulate_stack
    from tests.helpers import stack_values

    values = stack_values("prod")
    for tier in values["agentfleet:fleet"]["tiers"].values():
        tier.pop("scaling", None)
    plan = plan_fleet(parse_stack_config(values))
    sim = simulate_stack("prod", values, trace="flat", seconds=1800,
                         strategies=["queue-depth", "gpu-utilization"])  # fmt: skip
    for index, lane in enumerate(sim.run.lanes):
        first = slice(0, 15)
        replicas = sim.run.series["replicas"][index][first]
        assert sim.run.series["queue"][index][first].max() == 0, (lane.strategy, lane.tier.name)
        assert replicas.min() == replicas.max(), (lane.strategy, lane.tier.name)
        if lane.strategy == "queue-depth":
            tier = plan.tier(lane.tier.name)
            assert replicas[0] == tier.instances * tier.replicas_per_instance, tier.name


@pytest.mark.integration
def test_the_compiled_loop_and_plain_python_replay_the_same_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The inner loop compiled by numba (the fast extra) and run as plain Python (without
    numba, or AGENTFLEET_NO_COMPILE=1) draw the same numbers and print the same run."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from infra.simulation import kernel

    arguments = ["simulate", "--stack", "dev", "--hours", "1", "--seed", "5", "--json"]
    assert kernel.COMPILED  # the test run installs the fast extra
    assert main(arguments) == 0
    compiled = capsys.readouterr().out
    program = (
        "import sys; from infra.simulation import kernel; from infra.cli import main; "
        f"print(kernel.COMPILED, file=sys.stderr); raise SystemExit(main({arguments!r}))"
    )
    plain = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True, text=True, check=True, cwd=Path(__file__).parents[3],
        env={**os.environ, "AGENTFLEET_NO_COMPILE": "1"},
    )  # fmt: skip
    assert plain.stderr.strip() == "False"
    assert plain.stdout == compiled
    assert json.loads(compiled)["strategies"]["queue-depth"]["tiers"][0]["interactions"] > 0


def test_without_numba_the_command_says_how_to_go_faster(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from infra.simulation import kernel

    monkeypatch.setattr(kernel, "COMPILED", False)
    monkeypatch.delenv("AGENTFLEET_NO_COMPILE", raising=False)
    assert main(["simulate", "--stack", "dev", "--hours", "1", "--json"]) == 0
    captured = capsys.readouterr()
    assert "pip install 'agentfleet[fast]'" in captured.err
    assert json.loads(captured.out)["seconds"] == 3600
