"""Security: workloads meet Pod Security "restricted", with a read-only root filesystem."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    DEPLOYMENT,
    QUEUE,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    container,
    deployment,
    mcp,
    orchestrator,
    prod_and,
    same,
)

NAME = "pod-security-restricted"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "pss-ok": (DEPLOYMENT, orchestrator, same, []),
    "pss-mcp-ok": (DEPLOYMENT, mcp, same, []),
    "pss-nothing": (
        DEPLOYMENT,
        orchestrator,
        lambda p: [
            container(p).pop("securityContext"),
            p["spec"]["template"]["spec"].pop("securityContext"),
        ],
        [
            "container vllm may run as root; want runAsNonRoot: true. Set it.",
            "container vllm allows privilege escalation; want allowPrivilegeEscalation: false. "
            "Set it.",
            "container vllm keeps Linux capabilities; want capabilities.drop: [ALL].",
            "container vllm has seccomp profile unset; want RuntimeDefault. Set "
            "seccompProfile.type.",
            "container vllm can write its root filesystem; want readOnlyRootFilesystem: true, with "
            "emptyDirs where it must write.",
        ],
    ),
    "pss-host": (
        DEPLOYMENT,
        orchestrator,
        lambda p: p["spec"]["template"]["spec"].update(
            hostNetwork=True, volumes=[{"name": "models", "hostPath": {"path": "/models"}}]
        ),
        [
            "hostNetwork is true; want false. Remove it.",
            "volume models is a hostPath; want none. Use an emptyDir.",
        ],
    ),
    "pss-not-a-workload": (QUEUE, lambda: {}, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        deployment("status-page", {"app.kubernetes.io/name": "status"}, securityContext={})
    )
