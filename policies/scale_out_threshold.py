"""A2: scale out at more than N queued requests per instance, sustained at most 60 s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import (
    SCALED_OBJECT,
    Report,
    dig,
    items,
    mapping,
    number,
    resource_policy,
    show,
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type != SCALED_OBJECT:
        args.not_applicable("not a KEDA ScaledObject")
    spec = mapping(args.props.get("spec"))
    depth = float(config["maxQueueDepthPerInstance"])
    for trigger in (mapping(t) for t in items(spec.get("triggers"))):
        if trigger.get("type") != "aws-sqs-queue":
            continue
        length = number(mapping(trigger.get("metadata")).get("queueLength"))
        length = 5.0 if length is None else length  # KEDA's default
        if length > depth:
            report(
                f"scales out at {show(length)} queued requests per replica; want at most "
                f"{show(depth)}. Set scaling.queueDepthPerInstance (queueLength)."
            )
    window = number(dig(spec, "advanced", "horizontalPodAutoscalerConfig", "behavior",
                        "scaleUp", "stabilizationWindowSeconds"))  # fmt: skip
    longest = float(config["maxSustainSeconds"])
    if window is not None and window > longest:
        report(
            f"scale-up waits for a backlog lasting {show(window)} s; want at most "
            f"{show(longest)} s. Set scaling.scaleOutSustainSeconds."
        )


POLICY = resource_policy("scale-out-threshold", check)
