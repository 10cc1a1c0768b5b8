"""C6: load balancer health checks every 10-15 s against the health endpoint."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import (
    PREFIX,
    TARGET_GROUP_TYPES,
    Report,
    mapping,
    number,
    resource_policy,
    show,
    tags,
)

VLLM_PORT = 8000.0


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    props = args.props
    if args.resource_type not in TARGET_GROUP_TYPES:
        args.not_applicable("not a target group")
    ours = any(str(key).startswith(PREFIX) for key in tags(props))
    if not ours and number(props.get("port")) != VLLM_PORT:
        args.not_applicable("not in front of an inference server")
    low, high = int(config["minIntervalSeconds"]), int(config["maxIntervalSeconds"])
    check_ = mapping(props.get("healthCheck"))
    # AWS checks every 30 s when no interval is set.
    interval = number(check_.get("interval")) if check_.get("interval") is not None else 30.0
    if interval is not None and not low <= interval <= high:
        report(
            f"health check every {show(interval)} s; want {low}-{high} s. Set "
            "loadBalancer.healthCheckIntervalSeconds (the target group's healthCheck.interval)."
        )
    path = check_.get("path")
    if path != config["healthPath"]:
        report(
            f"health check path is {path or 'unset (/)'}; want {config['healthPath']}. Point "
            "healthCheck.path at the inference server's health endpoint."
        )


POLICY = resource_policy("lb-health-check-interval", check)
