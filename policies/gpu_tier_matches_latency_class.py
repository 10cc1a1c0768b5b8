"""C1: TTFT-first tiers on H100-class GPUs, throughput-first tiers on A100 or L40S."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import NODE_GROUP, PREFIX, Report, items, mapping, resource_policy, tags

# Instance families by the GPU class they carry.
FAMILIES = {"p5": "H100", "p5e": "H200", "p5en": "H200", "p4d": "A100", "p4de": "A100",
            "g6e": "L40S", "g6": "L4", "g5": "A10G", "g4dn": "T4"}  # fmt: skip
SUITED = {"ttft-first": {"H100", "H200"}, "throughput-first": {"A100", "L40S"}}


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != NODE_GROUP:
        args.not_applicable("not a node group")
    props = args.props
    marks = {**mapping(tags(props)), **mapping(props.get("labels"))}
    latency = str(marks.get(f"{PREFIX}latency-class"))
    if latency not in SUITED:
        args.not_applicable("the node group names no latency class")
    for instance_type in items(props.get("instanceTypes")):
        gpu = FAMILIES.get(str(instance_type).split(".")[0])
        if gpu is None:
            continue
        if gpu not in SUITED[latency]:
            wanted = " or ".join(sorted(SUITED[latency]))
            report(
                f"{latency} tier on {instance_type} ({gpu}); want {wanted}. Use a "
                f"{'p5' if latency == 'ttft-first' else 'p4de or g6e'} instance, or correct "
                "the tier's latencyClass."
            )


POLICY = resource_policy("gpu-tier-matches-latency-class", check)
