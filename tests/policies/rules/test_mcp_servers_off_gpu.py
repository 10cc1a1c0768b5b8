"""C3: MCP servers are CPU workloads: no GPU request, selector or toleration."""

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
    deployment,
    mcp,
    orchestrator,
    prod_and,
    same,
)

NAME = "mcp-servers-off-gpu"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "c3-ok": (DEPLOYMENT, mcp, same, []),
    "c3-gpu-everything": (
        DEPLOYMENT,
        mcp,
        lambda p: [
            container(p)["resources"]["limits"].update({"nvidia.com/gpu": "1"}),
            p["spec"]["template"]["spec"].update(
                nodeSelector={"agentfleet.io/node-class": "gpu"},
                tolerations=[
                    {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
                ],
            ),
        ],
        [
            "container mcp-server requests nvidia.com/gpu; want no GPU resource. Remove it: the "
            "MCP server reaches GPUs through the tier's endpoint.",
            "nodeSelector agentfleet.io/node-class=gpu puts it on GPU nodes; want CPU nodes. "
            "Remove the selector or select a CPU node group.",
            "toleration of nvidia.com/gpu lets it onto GPU nodes; want none. Remove the "
            "toleration.",
        ],
    ),
    "c3-not-mcp": (DEPLOYMENT, orchestrator, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        deployment(
            "tools-mcp",
            {"agentfleet.io/role": "mcp-server"},
            resources={"limits": {"nvidia.com/gpu": "1"}},
        )
    )
