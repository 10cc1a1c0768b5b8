"""Security: workloads run images pinned by digest."""

from __future__ import annotations

from typing import Any

import pytest

from facts.resource_types import DEPLOYMENT
from tests.policies.support import ResourceCase, assert_resource_case, orchestrator

NAME = "images-pinned-by-digest"
SUBJECT = (DEPLOYMENT, "orchestrator-deployment")
DIGEST = "@sha256:" + "ab" * 32
SHIPPED_WORKER = "123456789012.dkr.ecr.us-east-1.amazonaws.com/agentfleet-worker:0.1.0"


def pinned(p: dict[str, Any]) -> None:
    for c in p["spec"]["template"]["spec"]["containers"]:
        c["image"] = c["image"].rsplit(":", 1)[0] + DIGEST


def worker_by_tag(p: dict[str, Any]) -> None:
    pinned(p)
    p["spec"]["template"]["spec"]["containers"][1]["image"] = "registry/agentfleet-worker:0.1.0"


def tagged(*images: str) -> str:
    return (
        f"orchestrator-vllm runs images by tag: {', '.join(images)}; a tag can be moved to "
        "other content after review; want image@sha256:<digest>. Pin them (fleet.vllmImage, "
        "fleet.worker.image; `crane digest` gives the digest)."
    )


CASES: dict[str, ResourceCase] = {
    "both-by-digest": (DEPLOYMENT, orchestrator, pinned, []),
    "shipped-by-tag": (
        DEPLOYMENT,
        orchestrator,
        lambda p: None,
        [tagged("vllm (vllm/vllm-openai:v0.33.0)", f"queue-worker ({SHIPPED_WORKER})")],
    ),
    "one-by-tag": (
        DEPLOYMENT,
        orchestrator,
        worker_by_tag,
        [tagged("queue-worker (registry/agentfleet-worker:0.1.0)")],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])
