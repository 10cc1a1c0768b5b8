"""C5: the inference server's probes use its health endpoint (vLLM: /health)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import DEPLOYMENT, Report, containers, dig, is_vllm, resource_policy


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type != DEPLOYMENT:
        args.not_applicable("not a Deployment")
    servers = [c for c in containers(args.props) if is_vllm(c)]
    if not servers:
        args.not_applicable("runs no vLLM server")
    path = str(config["healthPath"])
    for container in servers:
        for probe in ("readinessProbe", "livenessProbe"):
            seen = dig(container, probe, "httpGet", "path")
            if seen is None:
                what = "has no" if container.get(probe) is None else "has a non-HTTP"
                report(
                    f"container {container.get('name')} {what} {probe}; want an HTTP GET of "
                    f"{path}. Add one (components.VllmService does)."
                )
            elif seen != path:
                report(
                    f"container {container.get('name')} {probe} checks {seen}; want {path}, "
                    "the endpoint that answers 200 only when the engine is up."
                )


POLICY = resource_policy("inference-health-probes", check)
