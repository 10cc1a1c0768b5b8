"""C5: the inference server's probes use its health endpoint (vLLM: /health)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import HEALTH_PATH
from facts.resource_types import DEPLOYMENT
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import containers, dig, is_vllm

META = PolicyMeta(
    name="inference-health-probes",
    item="C5",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=("agentfleet:fleet.tiers.<tier>",),
    description="The inference server's readiness and liveness probes use its health endpoint "
    f"(vLLM: {HEALTH_PATH}, HTTP 200).",
    remediation="Give the vLLM container readiness and liveness probes doing an HTTP GET of "
    f"{HEALTH_PATH}, and a long startup probe for weight loading.",
    settings={"healthPath": Setting("string", HEALTH_PATH, "The health endpoint's path.")},
)


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


POLICY = policy(META, check)
