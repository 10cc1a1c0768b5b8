"""C3: MCP servers are CPU workloads: no GPU request, selector or toleration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import (
    DEPLOYMENT,
    PREFIX,
    Report,
    containers,
    gpu_requests,
    is_mcp_server,
    items,
    mapping,
    pod_spec,
    resource_policy,
)

GPU_NODE_LABELS = {
    f"{PREFIX}node-class": "gpu",
    "nvidia.com/gpu.present": "true",
}
GPU_NODE_KEYS = (f"{PREFIX}gpu", "nvidia.com/gpu.product", "nvidia.com/mig.config")


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


POLICY = resource_policy("mcp-servers-off-gpu", check)
