"""M4: every billable resource is tagged with its tier and environment."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import Report, items, resource_policy, tags

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


POLICY = resource_policy("cost-tags-by-tier", check)
