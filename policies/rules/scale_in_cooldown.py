"""A3: scale in only after the queue stayed low for at least 5 minutes, with a cooldown."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import SCALE_IN_IDLE_SECONDS
from facts.resource_types import HPA_TYPES, SCALED_OBJECT
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import dig, mapping, number, show

HPA_DEFAULT_SCALE_DOWN_WINDOW = 300.0
KEDA_DEFAULT_COOLDOWN = 300.0


META = PolicyMeta(
    name="scale-in-cooldown",
    item="A3",
    severity="medium",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.scaling.scaleInIdleSeconds",
        "agentfleet:fleet.tiers.<tier>.scaling",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Scale in only after the queue has stayed below the threshold for at least "
    f"{SCALE_IN_IDLE_SECONDS // 60} minutes, with a cooldown.",
    remediation=f"Set scaling.scaleInIdleSeconds to at least {SCALE_IN_IDLE_SECONDS} (scale-down "
    "stabilisation and KEDA cooldownPeriod).",
    settings={
        "minScaleInSeconds": Setting(
            "integer", SCALE_IN_IDLE_SECONDS, "Shortest scale-in window allowed."
        )
    },
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    spec = mapping(args.props.get("spec"))
    if args.resource_type == SCALED_OBJECT:
        behavior = dig(spec, "advanced", "horizontalPodAutoscalerConfig", "behavior")
        cooldown = number(spec.get("cooldownPeriod"))
        cooldown = KEDA_DEFAULT_COOLDOWN if cooldown is None else cooldown
    elif args.resource_type in HPA_TYPES:
        behavior, cooldown = spec.get("behavior"), None
    else:
        args.not_applicable("not an autoscaler")
        return
    shortest = float(config["minScaleInSeconds"])
    window = number(dig(behavior, "scaleDown", "stabilizationWindowSeconds"))
    window = HPA_DEFAULT_SCALE_DOWN_WINDOW if window is None else window
    if window < shortest:
        report(
            f"scales in after {show(window)} s below the threshold; want at least "
            f"{show(shortest)} s. Set scaling.scaleInIdleSeconds (scale-down stabilisation)."
        )
    if cooldown is not None and cooldown < shortest:
        report(
            f"cooldownPeriod before scaling to zero is {show(cooldown)} s; want at least "
            f"{show(shortest)} s. Set scaling.scaleInIdleSeconds (KEDA cooldownPeriod)."
        )


POLICY = policy(META, check)
