"""C5: the inference server's probes use its health endpoint (vLLM: /health)."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    DEPLOYMENT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    container,
    find,
    orchestrator,
    same,
    stack_resources,
)

NAME = "inference-health-probes"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "c5-ok": (DEPLOYMENT, orchestrator, same, []),
    "c5-no-readiness": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p).pop("readinessProbe"),
        [
            "container vllm has no readinessProbe; want an HTTP GET of /health. Add one "
            "(components.VllmService does)."
        ],
    ),
    "c5-wrong-path": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p)["livenessProbe"]["httpGet"].update(path="/v1/models"),
        [
            "container vllm livenessProbe checks /v1/models; want /health, the endpoint that "
            "answers 200 only when the engine is up."
        ],
    ),
    "c5-tcp-probe": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p).update(readinessProbe={"tcpSocket": {"port": 8000.0}}),
        [
            "container vllm has a non-HTTP readinessProbe; want an HTTP GET of /health. Add one "
            "(components.VllmService does)."
        ],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """The orchestrator's readiness probe asks vLLM for its model list, not its health."""
    registrations = stack_resources("prod")
    container(find(registrations, "orchestrator-deployment").inputs)["readinessProbe"]["httpGet"][
        "path"
    ] = "/v1/models"
    return registrations
