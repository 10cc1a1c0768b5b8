"""M4: every billable resource is tagged with its tier and environment."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from facts.resource_types import LAUNCH_TEMPLATE, NODE_GROUP, QUEUE
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

TAGS = "agentfleet.io/tier, agentfleet.io/environment"
TEMPLATE = "orchestrator-launch-template"


def untag(kind: str) -> Callable[[dict[str, Any]], object]:
    def change(p: dict[str, Any]) -> None:
        (spec,) = [s for s in p["tagSpecifications"] if s["resourceType"] == kind]
        spec["tags"].pop("agentfleet.io/tier")

    return change


CASES: dict[str, ResourceCase] = {
    "m4-ok": (NODE_GROUP, lambda: props("orchestrator-nodes"), same, []),
    "m4-node-group-without-launch-template": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.pop("launchTemplate"),
        [
            "has no launch template, so its instances and volumes carry no tags: EKS does not "
            "copy a node group's tags to them. Give it a launch template whose "
            f"tagSpecifications tag instances and volumes with {TAGS} "
            "(components.GpuNodePool does)."
        ],
    ),
    # The node group is not what is billed: its own tags do not reach the instances.
    "m4-node-group-own-tags-do-not-count": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.pop("tags"),
        [],
    ),
    "m4-launch-template-ok": (LAUNCH_TEMPLATE, lambda: props(TEMPLATE), same, []),
    "m4-untagged-volumes": (
        LAUNCH_TEMPLATE,
        lambda: props(TEMPLATE),
        untag("volume"),
        [
            "launches volumes without the tag agentfleet.io/tier; want "
            f"{TAGS} in its tagSpecifications for volume so their cost counts against the tier."
        ],
    ),
    "m4-no-tag-specifications": (
        LAUNCH_TEMPLATE,
        lambda: props(TEMPLATE),
        lambda p: p.pop("tagSpecifications"),
        [
            f"launches {kind}s without the tags {TAGS}; want {TAGS} in its tagSpecifications "
            f"for {kind} so their cost counts against the tier."
            for kind in ("instance", "volume")
        ],
    ),
    "m4-untagged-queue": (
        QUEUE,
        lambda: {"name": "jobs"},
        same,
        [
            f"missing the tags {TAGS}; want {TAGS} so its cost counts against its tier. "
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
