"""C6: load balancer health checks every 10-15 s against the health endpoint (the band
is ``facts.checklist``'s)."""

from __future__ import annotations

from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE

from facts.resource_types import (
    TARGET_GROUP,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    policy,
    prod_with,
    props,
    same,
)

NAME = "lb-health-check-interval"
SUBJECT = (TARGET_GROUP, "orchestrator-tg")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "c6-ok": (TARGET_GROUP, lambda: props("orchestrator-tg"), same, []),
    "c6-slow": (
        TARGET_GROUP,
        lambda: props("orchestrator-tg"),
        lambda p: p["healthCheck"].update(interval=30.0),
        [
            "health check every 30 s; want 10-15 s. Set loadBalancer.healthCheckIntervalSeconds "
            "(the target group's healthCheck.interval)."
        ],
    ),
    "c6-aws-default": (
        TARGET_GROUP,
        lambda: {"port": 8000.0, "protocol": "HTTP", "healthCheck": {"path": "/health"}},
        same,
        [
            "health check every 30 s; want 10-15 s. Set loadBalancer.healthCheckIntervalSeconds "
            "(the target group's healthCheck.interval)."
        ],
    ),
    "c6-wrong-path": (
        TARGET_GROUP,
        lambda: props("orchestrator-tg"),
        lambda p: p["healthCheck"].pop("path"),
        [
            "health check path is unset (/); want /health. Point healthCheck.path at the inference "
            "server's health endpoint."
        ],
    ),
    "c6-not-inference": (
        TARGET_GROUP,
        lambda: {"port": 80.0, "healthCheck": {"interval": 30.0}},
        same,
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_with(
        lambda fleet: fleet["tiers"]["orchestrator"]["loadBalancer"].update(
            healthCheckIntervalSeconds=30
        )
    )


@pytest.mark.parametrize(
    ("config", "properties", "expected"),
    [
        ({"maxIntervalSeconds": 30},
         {"port": 8000.0, "healthCheck": {"interval": 30.0, "path": "/health"}}, []),
        ({"healthPath": "/ready"},
         {"port": 8000.0, "healthCheck": {"interval": 10.0, "path": "/health"}},
         ["health check path is /health; want /ready. Point healthCheck.path at the inference "
          "server's health endpoint."]),
    ],
)  # fmt: skip
def test_thresholds_come_from_config(
    config: dict[str, Any], properties: dict[str, Any], expected: list[str]
) -> None:
    assert check_resource(policy(NAME), TARGET_GROUP, properties, config) == expected


def test_unknown_value_during_preview_is_not_applicable() -> None:
    properties = props("orchestrator-tg")
    properties["healthCheck"]["interval"] = UNKNOWN_NUMBER_VALUE
    assert check_resource(policy(NAME), TARGET_GROUP, properties) is None
