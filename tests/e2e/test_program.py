"""The Pulumi program (infra/__main__.py), run as the CLI runs it but under Pulumi's mocks:
each shipped stack builds and exports its plan; a bad stack ends with the key path and
declares nothing."""

from __future__ import annotations

import json
import runpy
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import config as runtime_config
from pulumi.runtime import settings

from tests.helpers import REPO, STACKS, stack_values


class RecordingMocks(pulumi.runtime.Mocks):
    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        return f"{args.name}-id", dict(args.inputs)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], None]:
        return {}, None


@pytest.fixture
def mocks() -> Iterator[RecordingMocks]:
    saved = dict(runtime_config.CONFIG.get())
    recording = RecordingMocks()
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(recording, project="agentfleet", preview=False)
    yield recording
    runtime_config.set_all_config(saved)


def run_program(values: dict[str, Any]) -> dict[str, Any]:
    runtime_config.set_all_config(
        {k: v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}
    )
    runpy.run_path(str(REPO / "infra"), run_name="__main__")
    root = settings.get_root_resource()
    assert isinstance(root, pulumi.runtime.stack.Stack)
    return dict(root.outputs)


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_builds(mocks: RecordingMocks, stack: str) -> None:
    outputs = run_program(stack_values(stack))
    assert set(outputs) == {"tiers", "costPerHour", "maxCostPerHour"}


def test_prod_exports(mocks: RecordingMocks) -> None:
    outputs = run_program(stack_values("prod"))
    assert outputs["costPerHour"] == 148.71
    assert outputs["maxCostPerHour"] == 154.95
    assert outputs["tiers"]["orchestrator"] == {
        "gpu": "h100-pcie",
        "instanceType": "p5.4xlarge",
        "capacity": "on-demand",
        "minInstances": 2,
        "maxInstances": 5,
        "gpus": 5,
        "costPerHour": 12.55,
    }
    assert list(outputs["tiers"]) == ["orchestrator", "mid-tier", "lightweight"]


def test_invalid_stack_ends_cleanly_and_declares_nothing(mocks: RecordingMocks) -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["mig"] = {"7g.80gb": 2}
    with pytest.raises(pulumi.RunError) as raised:
        run_program(values)
    assert str(raised.value) == (
        "invalid configuration\n"
        "agentfleet:fleet.tiers.orchestrator.mig: {7g.80gb: 2} needs 14 compute slices; "
        "h100-pcie has 7"
    )
    assert mocks.resources == []
