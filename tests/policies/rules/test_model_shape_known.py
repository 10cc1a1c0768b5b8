"""A vLLM Deployment whose model nobody described cannot be checked: advisory."""

from __future__ import annotations

from typing import Any

import pytest

from facts.labels import GPU, MODEL_PROFILE
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
    steps,
    tier,
)

NAME = "model-shape-known"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")


def serve(p: dict[str, Any], model: str) -> None:
    container(p)["args"][0] = model


def annotate(p: dict[str, Any], key: str, value: str | None) -> None:
    for meta in (p["metadata"], p["spec"]["template"]["metadata"]):
        if value is None:
            meta["annotations"].pop(key, None)
        else:
            meta["annotations"][key] = value


UNKNOWN = (
    "container vllm: cannot check fit: acme/private-model is not in the shipped model table "
    "and the pod has no agentfleet.io/model-profile annotation (give the tier a "
    "modelProfile). vLLM finds out at start-up."
)
CASES: dict[str, ResourceCase] = {
    "shape-known": (DEPLOYMENT, orchestrator, same, []),
    "shape-unknown-model": (
        DEPLOYMENT,
        orchestrator,
        lambda p: serve(p, "acme/private-model"),
        [UNKNOWN],
    ),
    "shape-garbled-profile": (
        DEPLOYMENT,
        orchestrator,
        steps(
            lambda p: serve(p, "acme/private-model"),
            lambda p: annotate(p, MODEL_PROFILE, "{"),
        ),
        [
            "container vllm: cannot check fit: its agentfleet.io/model-profile annotation is "
            "not a model profile (not JSON). vLLM finds out at start-up."
        ],
    ),
    "shape-no-gpu-annotation": (
        DEPLOYMENT,
        orchestrator,
        lambda p: annotate(p, GPU, None),
        [
            "container vllm: cannot check fit: the pod does not say which catalog GPU it runs "
            "on (agentfleet.io/gpu). vLLM finds out at start-up."
        ],
    ),
    "shape-not-vllm": (DEPLOYMENT, mcp, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: a private model with no modelProfile."""
    return prod_with(tier("orchestrator", model="acme/private-model"))
