"""C3: MCP servers are CPU workloads: no GPU request, selector or toleration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import GPU, GPU_PRESENT, MIG_CONFIG_LABEL, NODE_CLASS
from facts.resource_types import DEPLOYMENT
from policies.building import PolicyMeta, Report, policy
from policies.properties import containers, gpu_requests, is_mcp_server, items, mapping, pod_spec

GPU_NODE_LABELS = {NODE_CLASS: "gpu", GPU_PRESENT: "true"}
GPU_NODE_KEYS = (GPU, "nvidia.com/gpu.product", MIG_CONFIG_LABEL)


META = PolicyMeta(
    name="mcp-servers-off-gpu",
    item="C3",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=("agentfleet:fleet.tiers.<tier>",),
    description="MCP servers run as CPU workloads: no GPU request, no GPU node selector, no GPU "
    "toleration.",
    remediation="Remove the GPU request, selector and toleration from the MCP server; it reaches "
    "the GPUs through the tier's inference endpoint (components.McpServer does this).",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != DEPLOYMENT or not is_mcp_server(args.props):
        args.not_applicable("not an MCP server Deployment")
    for container in containers(args.props):
        for resource in gpu_requests(container):
            report(
                f"container {container.get('name')} requests {resource}; want no GPU "
                "resource. Remove it: the MCP server reaches GPUs through the tier's endpoint."
            )
    spec = pod_spec(args.props)
    for key, value in mapping(spec.get("nodeSelector")).items():
        if GPU_NODE_LABELS.get(key) == str(value) or key in GPU_NODE_KEYS:
            report(
                f"nodeSelector {key}={value} puts it on GPU nodes; want CPU nodes. Remove the "
                "selector or select a CPU node group."
            )
    for toleration in items(spec.get("tolerations")):
        key = str(mapping(toleration).get("key") or "")
        if key.startswith("nvidia.com/"):
            report(f"toleration of {key} lets it onto GPU nodes; want none. Remove the toleration.")


POLICY = policy(META, check)
