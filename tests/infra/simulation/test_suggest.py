"""agentfleet simulate --suggest: the settings it tries are the settings the program would
render, and it finds the one a trace needs (a floor that saves a cold start)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import main
from infra.config import parse_stack_config
from infra.offline.mocks import run_program
from infra.plan import plan_fleet
from infra.simulation.fleet import fleet_models
from infra.simulation.suggest import Settings, _apply, candidates, rendered_spec
from tests.helpers import stack_values


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_candidate_is_what_the_program_renders(stack: str) -> None:
    """Each candidate's ScaledObject, edited from the rendered one, equals the one the
    program renders once the settings are written into the stack file."""
    values = stack_values(stack)
    plan = plan_fleet(parse_stack_config(values))
    registrations, _ = run_program(values, stack=stack)
    tiers = fleet_models(plan, registrations)
    user_facing = {t.name: t.config.user_facing for t in plan.tiers}
    picks = {tier.name: candidates(tier, user_facing[tier.name]) for tier in tiers}
    # the first and the last of each grid: every setting at both ends
    for index in (0, -1):
        chosen = {name: found[index] for name, found in picks.items()}
        changed = _apply(values, chosen)
        declared, _ = run_program(changed, stack=stack)
        for tier in fleet_models(plan_fleet(parse_stack_config(changed)), declared):
            original = next(t for t in tiers if t.name == tier.name)
            assert rendered_spec(original, chosen[tier.name]) == tier.spec, tier.name


def test_the_grid_keeps_to_the_checklist() -> None:
    values = stack_values("prod")
    plan = plan_fleet(parse_stack_config(values))
    registrations, _ = run_program(values, stack="prod")
    for tier in fleet_models(plan, registrations):
        user_facing = tier.name == "orchestrator"
        for s in candidates(tier, user_facing):
            assert s.min_instances >= (2 if user_facing else 0)  # A4
            assert s.queue_depth_per_replica <= 10  # A2's N
            assert s.scale_out_sustain_seconds <= 60  # A2
            assert s.scale_in_idle_seconds >= 300  # A3
            assert s.min_instances > 0 or s.scale_out_sustain_seconds <= 30


def test_a_floor_that_saves_a_cold_start_is_suggested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """dev's background tier scales to zero. An hour of nothing, then 10 interactions a
    second: from zero, the first minutes wait for a GPU node (well past the 60 s target),
    and the backlog they leave scales it past what the load needs; one instance kept warm
    serves them all."""
    trace = tmp_path / "wake.csv"
    trace.write_text("second,assistant\n0,0\n3600,10\n", encoding="utf-8")
    argv = ["simulate", "--stack", "dev", "--trace", str(trace), "--hours", "2", "--suggest"]
    assert main([*argv, "--json"]) == 0
    (tier,) = json.loads(capsys.readouterr().out)["tiers"]
    assert tier["current"]["minInstances"] == 0
    assert tier["suggested"]["minInstances"] == 1
    assert tier["before"]["slaAttainment"] < 0.99 <= tier["after"]["slaAttainment"]
    assert tier["metGoal"] is True

    assert main(argv) == 0
    text = capsys.readouterr().out
    suggested = yaml.safe_load(text)["config"]["agentfleet:fleet"]["tiers"]["assistant"]
    assert suggested == _settings(tier["suggested"]).stack_keys()
    values = stack_values("dev")
    values["agentfleet:fleet"]["tiers"]["assistant"].update(suggested)
    assert parse_stack_config(values)  # the YAML drops into the stack file as it is


def _settings(keys: dict[str, Any]) -> Settings:
    scaling = keys["scaling"]
    return Settings(
        min_instances=keys["minInstances"],
        queue_depth_per_replica=scaling["queueDepthPerInstance"],
        scale_out_sustain_seconds=scaling["scaleOutSustainSeconds"],
        scale_in_idle_seconds=scaling["scaleInIdleSeconds"],
    )


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--sla-goal", "0"], "--sla-goal"),
        (["--sla-goal", "150"], "--sla-goal"),
        (["--step", "0.5"], "--suggest"),
    ],
)
def test_bad_suggest_arguments_exit_2(
    extra: list[str], said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--stack", "dev", "--hours", "1", "--suggest", *extra]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert said in captured.err
