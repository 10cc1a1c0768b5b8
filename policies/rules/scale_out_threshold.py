"""A2: scale out at more than N queued requests per instance, sustained at most a minute."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import QUEUE_DEPTH_PER_INSTANCE, SCALE_OUT_SUSTAIN_SECONDS
from facts.resource_types import SCALED_OBJECT
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import dig, items, mapping, number, show

META = PolicyMeta(
    name="scale-out-threshold",
    item="A2",
    severity="medium",
    enforcement="mandatory",
    kind="resource",
    description="Scale out when the queue holds more than N requests per instance "
    f"(N = {QUEUE_DEPTH_PER_INSTANCE}), sustained for no longer than "
    f"{SCALE_OUT_SUSTAIN_SECONDS} s.",
    remediation="Set scaling.queueDepthPerInstance (queueLength) to at most the threshold and "
    "scaling.scaleOutSustainSeconds to at most the window.",
    settings={
        "maxQueueDepthPerInstance": Setting(
            "integer", QUEUE_DEPTH_PER_INSTANCE, "Largest backlog per replica."
        ),
        "maxSustainSeconds": Setting(
            "integer", SCALE_OUT_SUSTAIN_SECONDS, "Longest scale-up stabilisation."
        ),
    },
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


POLICY = policy(META, check)
