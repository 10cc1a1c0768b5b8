"""M4: every billable resource is tagged with its tier and environment."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    NODE_GROUP,
    QUEUE,
)
from infra.offline.mocks import Registration
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    check_resource,
    hand_declared,
    policy,
    prod_and,
    props,
    same,
)

NAME = "cost-tags-by-tier"
SUBJECT = (NODE_GROUP, "orchestrator-nodes")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "m4-ok": (NODE_GROUP, lambda: props("orchestrator-nodes"), same, []),
    "m4-no-tier": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p["tags"].pop("agentfleet.io/tier"),
        [
            "missing the tag agentfleet.io/tier; want agentfleet.io/tier, "
            "agentfleet.io/environment "
            "so its cost counts against its tier. Add them to the resource's tags."
        ],
    ),
    "m4-untagged-queue": (
        QUEUE,
        lambda: {"name": "jobs"},
        same,
        [
            "missing the tags agentfleet.io/tier, agentfleet.io/environment; want "
            "agentfleet.io/tier, agentfleet.io/environment so its cost counts against its tier. "
            "Add them to the resource's tags."
        ],
    ),
    "m4-not-billable": ("aws:iam/role:Role", lambda: {}, same, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])


def broken_stack() -> list[Registration]:
    """A realistic way to break it: exactly this finding, through the served pack."""
    return prod_and(
        hand_declared(NODE_GROUP, "adhoc-gpus", {
            "instanceTypes": ["g6e.xlarge"], "scalingConfig": {"minSize": 0.0, "maxSize": 2.0},
            "tags": {"owner": "research"}})
    )  # fmt: skip


def test_required_tags_come_from_config() -> None:
    found = check_resource(
        policy(NAME), QUEUE, {"tags": {"owner": "x"}}, {"requiredTags": ["team"]}
    )
    assert found == [
        "missing the tag team; want team so its cost counts against its tier. Add them to "
        "the resource's tags."
    ]
