"""Security: a production tier's load balancer listens on HTTPS only."""

from __future__ import annotations

import pytest

from facts.resource_types import LISTENER
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    policy,
    prod_with,
    props,
    same,
    tier,
)

NAME = "load-balancer-https"
SUBJECT = (LISTENER, "orchestrator-listener")
"""What the policy judges, as the prod stack declares it."""
PLAIN = (
    "tier orchestrator (prod) listens on plain HTTP: prompts, answers and the API key cross "
    "the network in clear. Give it a certificate (loadBalancer.certificateArn): HTTPS on 443, "
    "TLS 1.2+."
)

CASES: dict[str, ResourceCase] = {
    "prod-https": (LISTENER, lambda: props("orchestrator-listener"), same, []),
    "prod-plain-http": (
        LISTENER,
        lambda: props("orchestrator-listener"),
        lambda p: p.update(protocol="HTTP", port=80.0),
        [PLAIN],
    ),
    "staging-plain-http": (
        LISTENER,
        lambda: props("orchestrator-listener"),
        lambda p: p.update(
            protocol="HTTP", tags={**p["tags"], "agentfleet.io/environment": "staging"}
        ),
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(tier("orchestrator", loadBalancer={"certificateArn": None}))


def test_the_environments_held_to_it_come_from_config() -> None:
    properties = {"protocol": "HTTP", "tags": {"agentfleet.io/environment": "staging",
                                               "agentfleet.io/tier": "t"}}  # fmt: skip
    assert check_resource(policy(NAME), LISTENER, properties) is None
    assert check_resource(policy(NAME), LISTENER, properties, {"environments": ["staging"]}) == [
        PLAIN.replace("orchestrator (prod)", "t (staging)")
    ]
