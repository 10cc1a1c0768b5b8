"""C1: TTFT-first tiers on the GPUs the catalog marks for them, throughput-first tiers on
the rest. The GPU comes from the catalog (``facts.catalog``): by the node group's
instance types (what AWS launches), else its ``agentfleet.io/gpu`` mark; a GPU the catalog
does not know is a finding, not a silent pass."""

from __future__ import annotations

import pytest

from facts.resource_types import (
    NODE_GROUP,
)
from tests.policies.support import (
    ResourceCase,
    assert_resource_case,
    props,
    same,
)

NAME = "gpu-tier-matches-latency-class"
SUBJECT = (NODE_GROUP, "orchestrator-nodes")
"""What the policy judges, as the prod (or sandbox) stack declares it."""

CASES: dict[str, ResourceCase] = {
    "c1-h100-ok": (NODE_GROUP, lambda: props("orchestrator-nodes"), same, []),
    "c1-l40s-ok": (NODE_GROUP, lambda: props("lightweight-nodes"), same, []),
    "c1-ttft-on-l40s": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.update(instanceTypes=["g6e.2xlarge"]),
        [
            "ttft-first tier on g6e.2xlarge (L40S); want H100 (p5). Use such an instance, or "
            "correct the tier's latencyClass."
        ],
    ),
    "c1-throughput-on-h100": (
        NODE_GROUP,
        lambda: props("lightweight-nodes"),
        lambda p: p.update(instanceTypes=["p5.48xlarge"]),
        [
            "throughput-first tier on p5.48xlarge (H100); want L40S or A100 (g6e or p4de). Use "
            "such an instance, or correct the tier's latencyClass."
        ],
    ),
    # What AWS launches wins over what the node group says of itself.
    "c1-mark-says-h100-but-runs-l40s": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.update(instanceTypes=["g6e.xlarge"]),
        [
            "ttft-first tier on g6e.xlarge (L40S); want H100 (p5). Use such an instance, or "
            "correct the tier's latencyClass."
        ],
    ),
    # An unknown size of a known family is still that family's GPU.
    "c1-unknown-size-known-family": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: p.update(instanceTypes=["p5.24xlarge"]),
        [],
    ),
    # The catalog does not know the GPU: a finding, not a silent pass (a p6-b200 node group).
    "c1-unknown-gpu": (
        NODE_GROUP,
        lambda: props("orchestrator-nodes"),
        lambda p: [
            p.update(instanceTypes=["p6-b200.48xlarge"]),
            p["labels"].pop("agentfleet.io/gpu"),
            p["tags"].pop("agentfleet.io/gpu"),
        ],
        [
            "ttft-first tier on p6-b200.48xlarge: the GPU catalog does not know this GPU, so "
            "its fit cannot be checked; want H100 (p5). Use a catalog GPU, or add this one to "
            "the catalog (facts/catalog.py)."
        ],
    ),
    "c1-no-latency-class": (
        NODE_GROUP,
        lambda: {"instanceTypes": ["g6e.xlarge"], "tags": {}, "labels": {}},
        same,
        None,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_case(case: str) -> None:
    assert_resource_case(NAME, CASES[case])
