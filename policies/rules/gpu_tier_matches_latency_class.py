"""C1: TTFT-first tiers on the GPUs the catalog marks for them, throughput-first tiers on
the rest. The GPU comes from the catalog (``facts.catalog``): by the node group's
instance types (what AWS launches), else its ``agentfleet.io/gpu`` mark; a GPU the catalog
does not know is a finding, not a silent pass."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.catalog import LATENCY_CLASSES, classes, either, families, gpu_for, suited
from facts.labels import GPU, LATENCY_CLASS
from policies.building import PolicyMeta, Report, policy
from policies.properties import nodes_of


def _wanted(latency_class: str) -> str:
    """The GPU classes that suit a latency class, and their instance families."""
    gpus = suited(latency_class)
    return f"{either(classes(gpus))} ({' or '.join(families(gpus))})"


META = PolicyMeta(
    name="gpu-tier-matches-latency-class",
    item="C1",
    severity="medium",
    enforcement="advisory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.gpu",
        "agentfleet:fleet.tiers.<tier>.latencyClass",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description=f"GPU node groups match their tier's latency class: TTFT-first tiers on "
    f"{either(classes(suited('ttft-first')))} GPUs, throughput-first tiers on "
    f"{either(classes(suited('throughput-first')))}; a GPU the catalog does not know is "
    "reported.",
    remediation=f"Move TTFT-first tiers to {_wanted('ttft-first')} and throughput-first "
    f"tiers to {_wanted('throughput-first')}: set the tier's gpu, or its latencyClass if "
    "that is what is wrong.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    nodes = nodes_of(args.resource_type, args.props)
    if nodes is None:
        args.not_applicable("not a node group or NodePool")
        return
    marks = nodes.marks
    latency = str(marks.get(LATENCY_CLASS))
    if latency not in LATENCY_CLASSES:
        args.not_applicable(f"the {nodes.kind} names no latency class")
    instance_types = list(nodes.instance_types)
    gpu = gpu_for(None, instance_types) or gpu_for(marks.get(GPU), ())
    carried = ", ".join(instance_types) or "no instance type"
    if gpu is None:
        report(
            f"{latency} tier on {carried}: the GPU catalog does not know this GPU, so its "
            f"fit cannot be checked; want {_wanted(latency)}. Use a catalog GPU, or add "
            "this one to the catalog (facts/catalog.py)."
        )
        return
    if gpu.latency_class != latency:
        report(
            f"{latency} tier on {carried} ({gpu.gpu_class}); want {_wanted(latency)}. "
            "Use such an instance, or correct the tier's latencyClass."
        )


POLICY = policy(META, check)
