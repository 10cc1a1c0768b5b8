"""M4: every billable resource is tagged with its tier and environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import REQUIRED_COST_TAGS
from facts.labels import ENVIRONMENT, TIER
from facts.resource_types import EC2_NODE_CLASS, LAUNCH_TEMPLATE, NODE_GROUP
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import dig, items, mapping, tags

LAUNCHED = ("instance", "volume")
"""What a launch template starts that is billed: its tag specifications must tag them."""

BILLABLE = {
    "aws:sqs/queue:Queue",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:alb/targetGroup:TargetGroup",
    "aws:ec2/instance:Instance",
    "aws:ebs/volume:Volume",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sns/topic:Topic",
    "aws:kms/key:Key",
}


META = PolicyMeta(
    name="cost-tags-by-tier",
    item="M4",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>",
        "agentfleet:fleet",
    ),
    description="Every billable resource is tagged with its tier and environment, so cost per "
    "hour is tracked per tier. A node group's instances and volumes are tagged by its launch "
    "template's tag specifications: EKS copies a node group's own tags to neither.",
    remediation=f"Tag the resource with {TIER} and {ENVIRONMENT}; give node groups a launch "
    "template that tags instances and volumes (the components do).",
    settings={
        "requiredTags": Setting(
            "array", list(REQUIRED_COST_TAGS), "Tags every billable resource carries."
        )
    },
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    required = [str(key) for key in items(config["requiredTags"])]
    if args.resource_type == NODE_GROUP:
        if not mapping(args.props.get("launchTemplate")):
            report(
                "has no launch template, so its instances and volumes carry no tags: EKS does "
                "not copy a node group's tags to them. Give it a launch template whose "
                f"tagSpecifications tag instances and volumes with {', '.join(required)} "
                "(components.GpuNodePool does)."
            )
        return
    if args.resource_type == LAUNCH_TEMPLATE:
        specs = {
            str(spec.get("resourceType")): mapping(spec.get("tags"))
            for spec in (mapping(s) for s in items(args.props.get("tagSpecifications")))
        }
        for kind in LAUNCHED:
            missing = [key for key in required if not specs.get(kind, {}).get(key)]
            if missing:
                report(
                    f"launches {kind}s without the tag{_s(missing)} {', '.join(missing)}; want "
                    f"{', '.join(required)} in its tagSpecifications for {kind} so their cost "
                    "counts against the tier."
                )
        return
    if args.resource_type == EC2_NODE_CLASS:
        # Karpenter tags what it launches (instances, volumes, interfaces) with these.
        present = mapping(dig(args.props, "spec", "tags"))
        missing = [key for key in required if not present.get(key)]
        if missing:
            report(
                f"launches Karpenter's nodes without the tag{_s(missing)} "
                f"{', '.join(missing)}; want {', '.join(required)} in spec.tags, which "
                "Karpenter puts on the instances and volumes, so their cost counts against "
                "the tier (components.KarpenterNodePool does)."
            )
        return
    if args.resource_type not in BILLABLE:
        args.not_applicable("not a billable resource")
    present = tags(args.props)
    missing = [key for key in required if not present.get(key)]
    if missing:
        report(
            f"missing the tag{_s(missing)} {', '.join(missing)}; want {', '.join(required)} "
            "so its cost counts against its tier. Add them to the resource's tags."
        )


def _s(words: list[str]) -> str:
    return "s" if len(words) > 1 else ""


POLICY = policy(META, check)
