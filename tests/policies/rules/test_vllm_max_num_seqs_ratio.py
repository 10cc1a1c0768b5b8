"""C2: --max-num-seqs is 1.5-2x the sessions one vLLM replica is expected to hold."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    DEPLOYMENT,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    container,
    mcp,
    orchestrator,
    policy,
    prod_with,
    same,
    set_arg,
    tier,
)

NAME = "vllm-max-num-seqs-ratio"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "c2-ok": (DEPLOYMENT, orchestrator, same, []),
    "c2-too-many": (
        DEPLOYMENT,
        orchestrator,
        lambda p: set_arg(p, "--max-num-seqs", "500"),
        [
            "--max-num-seqs 500 is 5.49x the 91 sessions per replica; want 1.5-2x (136.5-182). "
            "Set maxNumSeqs inside that band."
        ],
    ),
    "c2-too-few": (
        DEPLOYMENT,
        orchestrator,
        lambda p: set_arg(p, "--max-num-seqs", "120"),
        [
            "--max-num-seqs 120 is 1.32x the 91 sessions per replica; want 1.5-2x (136.5-182). "
            "Set maxNumSeqs inside that band."
        ],
    ),
    "c2-unset": (
        DEPLOYMENT,
        orchestrator,
        lambda p: set_arg(p, "--max-num-seqs", None),
        [
            "container vllm does not set --max-num-seqs (vLLM's default ignores the tier's load); "
            "want 1.5-2x the sessions per replica. Set maxNumSeqs."
        ],
    ),
    "c2-no-sessions": (
        DEPLOYMENT,
        orchestrator,
        lambda p: [
            p["metadata"]["annotations"].clear(),
            p["spec"]["template"]["metadata"]["annotations"].clear(),
        ],
        [
            "--max-num-seqs 160 cannot be checked: the Deployment does not say how many sessions "
            "a replica serves. Add the annotation agentfleet.io/sessions-per-replica."
        ],
    ),
    "c2-equals-form": (
        DEPLOYMENT,
        orchestrator,
        lambda p: container(p).update(args=["m", "--max-num-seqs=300"]),
        [
            "--max-num-seqs 300 is 3.30x the 91 sessions per replica; want 1.5-2x (136.5-182). "
            "Set maxNumSeqs inside that band."
        ],
    ),
    "c2-not-vllm": (DEPLOYMENT, mcp, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(tier("orchestrator", maxNumSeqs=500))


def test_band_comes_from_config() -> None:
    properties = orchestrator()
    set_arg(properties, "--max-num-seqs", "250")
    assert check_resource(policy(NAME), DEPLOYMENT, properties) != []
    assert check_resource(policy(NAME), DEPLOYMENT, properties, {"maxRatio": 3}) == []
