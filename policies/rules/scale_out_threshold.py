"""A2: scale out at more than N waiting requests per replica, sustained at most a minute, and
fast enough to follow the load from the floor to the ceiling."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.autoscaling import KEDA_DEFAULT_QUEUE_LENGTH, ScaledObject, seconds_to_ceiling
from facts.checklist import (
    QUEUE_DEPTH_PER_REPLICA,
    SCALE_OUT_RAMP_SECONDS,
    SCALE_OUT_SUSTAIN_SECONDS,
)
from facts.resource_types import SCALED_OBJECT
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import dig, items, mapping, number, show

META = PolicyMeta(
    name="scale-out-threshold",
    item="A2",
    severity="medium",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.scaling.queueDepthPerInstance",
        "agentfleet:fleet.tiers.<tier>.scaling.scaleOutSustainSeconds",
        "agentfleet:fleet.tiers.<tier>.scaling",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Scale out when the queue holds more than N waiting requests per replica "
    f"(N = {QUEUE_DEPTH_PER_REPLICA}; an aws-sqs-queue trigger with queueLength at most N, "
    "whether or not it also counts the messages in flight), sustained for no longer than "
    f"{SCALE_OUT_SUSTAIN_SECONDS} s, and let the HPA go from the floor to the ceiling within "
    f"{SCALE_OUT_RAMP_SECONDS} s.",
    remediation="Set scaling.queueDepthPerInstance (the backlog trigger's queueLength) to at "
    "most the threshold, scaling.scaleOutSustainSeconds to at most the window, and scale-up "
    "policies that at least double the replicas a minute.",
    settings={
        "maxQueueDepthPerInstance": Setting(
            "integer", QUEUE_DEPTH_PER_REPLICA, "Largest backlog per replica."
        ),
        "maxSustainSeconds": Setting(
            "integer", SCALE_OUT_SUSTAIN_SECONDS, "Longest scale-up stabilisation."
        ),
        "maxRampSeconds": Setting(
            "integer", SCALE_OUT_RAMP_SECONDS, "Longest HPA time from the floor to the ceiling."
        ),
    },
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type != SCALED_OBJECT:
        args.not_applicable("not a KEDA ScaledObject")
    spec = mapping(args.props.get("spec"))
    _backlog(spec, report, float(config["maxQueueDepthPerInstance"]))
    window = number(dig(spec, "advanced", "horizontalPodAutoscalerConfig", "behavior",
                        "scaleUp", "stabilizationWindowSeconds"))  # fmt: skip
    longest = float(config["maxSustainSeconds"])
    if window is not None and window > longest:
        report(
            f"scale-up waits for a backlog lasting {show(window)} s; want at most "
            f"{show(longest)} s. Set scaling.scaleOutSustainSeconds."
        )
    _ramp(spec, report, int(config["maxRampSeconds"]))


def _backlog(spec: Mapping[str, Any], report: Report, depth: float) -> None:
    """Some SQS trigger asks for a replica per N waiting messages. One that also counts the
    messages in flight reads at least as many, so it scales out at least as soon."""
    lengths = []
    for trigger in (mapping(t) for t in items(spec.get("triggers"))):
        if trigger.get("type") == "aws-sqs-queue":
            length = number(mapping(trigger.get("metadata")).get("queueLength"))
            lengths.append(float(KEDA_DEFAULT_QUEUE_LENGTH) if length is None else length)
    if not lengths:
        report(
            "has no aws-sqs-queue trigger: it does not scale out on the queue's backlog. Add "
            f"one with queueLength at most {show(depth)}."
        )
    elif min(lengths) > depth:
        report(
            f"scales out at {show(min(lengths))} waiting requests per replica at the least; "
            f"want at most {show(depth)}. Set scaling.queueDepthPerInstance (queueLength)."
        )


def _ramp(spec: Mapping[str, Any], report: Report, longest: int) -> None:
    """The HPA's scale-up behaviour, run from the floor to the ceiling."""
    try:
        scaled = ScaledObject.from_spec({**spec, "triggers": []})
    except (KeyError, TypeError, ValueError):
        return  # unknown until applied, or malformed: the schema checks that
    if scaled.max_replicas <= max(1, scaled.min_replicas):
        return
    seconds = seconds_to_ceiling(scaled, limit=longest)
    if seconds is None:
        report(
            f"scale-up takes more than {longest} s of HPA time from {max(1, scaled.min_replicas)} "
            f"to {scaled.max_replicas} replicas; a business-hours ramp outruns it. Let "
            "scaleUp policies at least double the replicas a minute."
        )


POLICY = policy(META, check)
