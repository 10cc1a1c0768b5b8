"""M4: every billable resource is tagged with its tier and environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import REQUIRED_COST_TAGS
from facts.labels import ENVIRONMENT, TIER
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import items, tags

BILLABLE = {
    "aws:eks/nodeGroup:NodeGroup",
    "aws:sqs/queue:Queue",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:alb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:alb/targetGroup:TargetGroup",
    "aws:ec2/instance:Instance",
    "aws:ec2/launchTemplate:LaunchTemplate",
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
    description="Every billable resource is tagged with its tier and environment, so cost per "
    "hour is tracked per tier.",
    remediation=f"Tag the resource with {TIER} and {ENVIRONMENT} (the components do).",
    settings={
        "requiredTags": Setting(
            "array", list(REQUIRED_COST_TAGS), "Tags every billable resource carries."
        )
    },
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type not in BILLABLE:
        args.not_applicable("not a billable resource")
    present = tags(args.props)
    missing = [str(key) for key in items(config["requiredTags"]) if not present.get(key)]
    if missing:
        report(
            f"missing the tag{'s' if len(missing) > 1 else ''} {', '.join(missing)}; want "
            f"{', '.join(map(str, items(config['requiredTags'])))} so its cost counts "
            "against its tier. Add them to the resource's tags."
        )


POLICY = policy(META, check)
