"""C6: load balancer health checks every 10-15 s against the health endpoint (the band
is ``facts.checklist``'s)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import (
    HEALTH_CHECK_MAX_INTERVAL_SECONDS,
    HEALTH_CHECK_MIN_INTERVAL_SECONDS,
    HEALTH_PATH,
)
from facts.labels import PREFIX
from facts.resource_types import TARGET_GROUP_TYPES
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import mapping, number, show, tags

VLLM_PORT = 8000.0


META = PolicyMeta(
    name="lb-health-check-interval",
    item="C6",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.loadBalancer.healthCheckIntervalSeconds",
        "agentfleet:fleet.tiers.<tier>.loadBalancer",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Load balancer health checks run every "
    f"{HEALTH_CHECK_MIN_INTERVAL_SECONDS}-{HEALTH_CHECK_MAX_INTERVAL_SECONDS} s against the "
    "health endpoint.",
    remediation="Set the target group's health check interval inside the band "
    "(loadBalancer.healthCheckIntervalSeconds) and its path to the health endpoint.",
    settings={
        "minIntervalSeconds": Setting(
            "integer", HEALTH_CHECK_MIN_INTERVAL_SECONDS, "Shortest interval allowed."
        ),
        "maxIntervalSeconds": Setting(
            "integer", HEALTH_CHECK_MAX_INTERVAL_SECONDS, "Longest interval allowed."
        ),
        "healthPath": Setting("string", HEALTH_PATH, "The health endpoint's path."),
    },
)


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


POLICY = policy(META, check)
