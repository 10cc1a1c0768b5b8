"""FleetMonitoring: alerts, the queue-and-GPU dashboard and the cost budget (M1-M4, K3)."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from components.common import (
    KubernetesName,
    TaggedArgs,
    TierName,
    child_options,
    cost_tags,
)
from facts.checklist import BUDGET_ALERT_PERCENTS, KV_CACHE_ALERT_PERCENT, TTFT_P95_ALERT_SECONDS
from facts.labels import BUDGET_PER_HOUR, MANAGED_BY, ROLE, TIER
from facts.money import CENT, exact

TYPE = "agentfleet:index:FleetMonitoring"
EC2_BASIC_PERIOD_SECONDS = 300
"""EC2's basic monitoring: a datapoint per instance every 5 minutes."""
NODE_TIER_LABEL = "label_" + re.sub(r"[^a-zA-Z0-9_]", "_", TIER)
"""The tier label of a node as kube-state-metrics' kube_node_labels names it."""
HOURS_PER_MONTH = 730


class PartQueue(BaseModel):
    """Another queue of a tier: a co-resident model's (MIG), with its own workers."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    part: TierName = Field(description="The part of the tier it feeds (its MIG profile).")
    queue_name: Any = Field(description="The SQS queue.")
    dlq_name: Any = Field(description="Its dead-letter queue.")


class MonitoredTier(BaseModel):
    """What FleetMonitoring watches of one tier."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    tier: TierName = Field(description="The tier's name.")
    deployments: tuple[str, ...] = Field(description="Names of the tier's vLLM Deployments.")
    queue_name: Any = Field(description="The tier's SQS queue.")
    dlq_name: Any = Field(description="Its dead-letter queue.")
    autoscaling_group: Any = Field(
        None, description="The Auto Scaling group of its node group; None under Karpenter."
    )
    instance_types: tuple[str, ...] = Field(
        (),
        description="Under Karpenter (no Auto Scaling group): the instance types its NodePools "
        "launch, whose instances (detailed monitoring on) the dashboard counts.",
    )
    part_queues: tuple[PartQueue, ...] = Field(
        (),
        description="The tier's other queues (co-resident models on MIG): alarmed and "
        "charted like its own.",
    )
    backlog_alert: Annotated[int, Field(ge=1)] = Field(
        description="Requests waiting that mean the tier cannot keep up (at its ceiling)."
    )
    node_price_per_hour: Decimal | None = Field(
        None,
        description="What one of the tier's GPU nodes costs an hour (K3): with a budget, the "
        "running-cost alert counts the tier's nodes at this price. None: left out.",
    )
    reserved_instances: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="Instances a reservation bills whether they run or not: the running-cost "
        "alert counts at least this many of the tier's nodes.",
    )
    ttft_alert_seconds: Annotated[float, Field(gt=0)] | None = Field(
        None,
        description="M1 for this tier: alert above this p95 time to first token, below the "
        "tier's own target. None: the fleet's ttft_p95_alert_seconds.",
    )


class FleetMonitoringArgs(TaggedArgs):
    """Inputs of a FleetMonitoring."""

    name_prefix: str = Field(description="Prefix of the dashboard and topic names.")
    namespace: KubernetesName = Field(description="Namespace of the fleet's pods and rules.")
    tiers: Annotated[tuple[MonitoredTier, ...], Field(min_length=1)] = Field(
        description="The tiers to watch."
    )
    ttft_p95_alert_seconds: Annotated[float, Field(gt=0)] = Field(
        TTFT_P95_ALERT_SECONDS,
        description="M1: alert above this p95 time to first token, below the SLA.",
    )
    kv_cache_alert_percent: Annotated[float, Field(gt=0, le=100)] = Field(
        KV_CACHE_ALERT_PERCENT,
        description="M2: alert when KV-cache usage stays above this for 5 min.",
    )
    budget_per_hour: Decimal | None = Field(
        None,
        description="K3: the fleet's budget per hour; an AWS Budget of 730x that per month, "
        "alerting at 80% and 100%, forecast and actual. None: no budget.",
    )
    alert_emails: tuple[str, ...] = Field((), description="E-mail subscribers of the alert topic.")


def selector(namespace: str, deployments: tuple[str, ...]) -> str:
    pods = "|".join(deployments)
    return f'{{namespace="{namespace}",pod=~"({pods})-.*"}}'


def alert_rules(args: FleetMonitoringArgs, tier: MonitoredTier) -> list[dict[str, Any]]:
    """The tier's Prometheus alerts, on vLLM's current metric names."""
    pods = selector(args.namespace, tier.deployments)
    labels = {"severity": "warning", "tier": tier.tier}
    kv_ratio = f"{args.kv_cache_alert_percent / 100:g}"
    ttft = tier.ttft_alert_seconds or args.ttft_p95_alert_seconds
    return [
        {
            "alert": "VllmTimeToFirstTokenP95High",
            "expr": "histogram_quantile(0.95, sum by (le) "
            f"(rate(vllm:time_to_first_token_seconds_bucket{pods}[5m]))) > {ttft:g}",
            "for": "5m",
            "labels": labels,
            "annotations": {
                "summary": f"{tier.tier}: p95 time to first token above {ttft:g}s",
                "description": "Alerting below the SLA: add capacity or shed load before "
                "users feel it.",
            },
        },
        {
            "alert": "VllmKvCacheHigh",
            "expr": f"max by (pod) (vllm:kv_cache_usage_perc{pods}) > {kv_ratio}",
            "for": "5m",
            "labels": labels,
            "annotations": {
                "summary": f"{tier.tier}: KV cache above {args.kv_cache_alert_percent:g}% "
                "for 5 minutes",
                "description": "Requests will be preempted: lower --max-num-seqs or add replicas.",
            },
        },
        {
            "alert": "QueueWorkerQueueUnreachable",
            "expr": f"min by (pod) (agentfleet_worker_queue_reachable{pods}) == 0",
            "for": "5m",
            "labels": labels,
            "annotations": {
                "summary": f"{tier.tier}: a queue worker has not reached its queue for 5 minutes",
                "description": "Its replica still serves the load balancer but takes nothing "
                "from the queue: check SQS, STS and the Pod Identity agent.",
            },
        },
        {
            "alert": "VllmQueueBacklog",
            "expr": f"sum(vllm:num_requests_waiting{pods}) > {tier.backlog_alert}",
            "for": "10m",
            "labels": labels,
            "annotations": {
                "summary": f"{tier.tier}: requests waiting in vLLM for 10 minutes",
                "description": "The tier is at its ceiling or not scaling: check the "
                "autoscaler and maxInstances.",
            },
        },
    ]


def rule_groups(args: FleetMonitoringArgs) -> list[dict[str, Any]]:
    """A group of alerts per tier, and the fleet's running cost against its budget."""
    groups = [
        {"name": f"agentfleet-{tier.tier}", "rules": alert_rules(args, tier)} for tier in args.tiers
    ]
    cost = cost_rule(args)
    if cost is not None:
        groups.append({"name": "agentfleet-cost", "rules": [cost]})
    return groups


def cost_rule(args: FleetMonitoringArgs) -> dict[str, Any] | None:
    """K3 within minutes: the GPU nodes running now, by the tier label on them
    (kube-state-metrics' kube_node_labels, with the label allowlisted), at each tier's
    node price, against the budget per hour. An AWS Budget only sees the month's total,
    hours late."""
    priced = [
        (tier.tier, tier.node_price_per_hour, tier.reserved_instances)
        for tier in args.tiers
        if tier.node_price_per_hour is not None
    ]
    if args.budget_per_hour is None or not priced:
        return None
    terms = []
    for name, price, reserved in priced:
        nodes = f'count(kube_node_labels{{{NODE_TIER_LABEL}="{name}"}})'
        if reserved is None:
            terms.append(f"({nodes} * {exact(price)} or vector(0))")
        else:  # billed whole: at least the reserved instances, running or not
            terms.append(f"(clamp_min({nodes} or vector(0), {reserved}) * {exact(price)})")
    return {
        "alert": "FleetCostPerHourOverBudget",
        "expr": " + ".join(terms) + f" > {args.budget_per_hour}",
        "for": "10m",
        "labels": {"severity": "warning", "tier": "fleet"},
        "annotations": {
            "summary": f"The fleet's GPU nodes cost more than ${args.budget_per_hour}/h",
            "description": "Counted from the nodes running now at list prices: check which "
            "tier grew (maxInstances) before the month's bill shows it.",
        },
    }


def dashboard_body(region: str, tiers: list[dict[str, Any]]) -> str:
    """One widget per tier: SQS backlog beside the GPU instances in service (M3)."""
    widgets = []
    for index, tier in enumerate(tiers):
        widgets.append(
            {
                "type": "metric",
                "x": 0,
                "y": index * 6,
                "width": 24,
                "height": 6,
                "properties": {
                    "title": f"{tier['tier']}: queue depth and GPU instances",
                    "region": region,
                    "stat": "Maximum",
                    "period": 60,
                    "view": "timeSeries",
                    "metrics": [
                        [
                            "AWS/SQS",
                            "ApproximateNumberOfMessagesVisible",
                            "QueueName",
                            tier["queue"],
                            {"label": "queue depth"},
                        ],
                        *(
                            [
                                "AWS/SQS",
                                "ApproximateNumberOfMessagesVisible",
                                "QueueName",
                                queue,
                                {"label": f"queue depth ({part})"},
                            ]
                            for part, queue in tier.get("parts", [])
                        ),
                        # The instances of the node group's Auto Scaling group, counted
                        # from what EC2 publishes for every instance (one CPU sample per
                        # instance per 5 minutes, basic monitoring): the group's own
                        # GroupInServiceInstances exists only once metrics collection is
                        # enabled on it, which EKS leaves off. Karpenter's nodes are in
                        # no group: its own metrics count them (karpenter_nodes_*).
                        *(
                            [
                                "AWS/EC2",
                                "CPUUtilization",
                                "AutoScalingGroupName",
                                group,
                                {
                                    "label": "GPU instances",
                                    "yAxis": "right",
                                    "stat": "SampleCount",
                                    "period": EC2_BASIC_PERIOD_SECONDS,
                                },
                            ]
                            for group in [tier.get("group")]
                            if group
                        ),
                        # Karpenter's instances, in no group: those of the tier's instance
                        # types, from EC2's per-type aggregate (one sample a minute per
                        # instance, which its EC2NodeClass's detailed monitoring turns on).
                        *(
                            [
                                "AWS/EC2",
                                "CPUUtilization",
                                "InstanceType",
                                instance_type,
                                {
                                    "label": f"GPU instances ({instance_type})",
                                    "yAxis": "right",
                                    "stat": "SampleCount",
                                    "period": 60,
                                },
                            ]
                            for instance_type in ([] if tier.get("group") else tier["types"])
                        ),
                    ],
                },
            }
        )
    return json.dumps({"widgets": widgets})


class FleetMonitoring(pulumi.ComponentResource):
    """A PrometheusRule with, per tier, the TTFT p95 alert (M1), the KV-cache alert (M2)
    and a sustained-backlog alert; CloudWatch alarms on each queue's backlog and
    dead-letter queue; a dashboard of each tier's queue depth beside its GPU instances in
    service (M3); and an AWS Budget on the tier tags with alerts at 80% and 100% (K3), all
    notifying one SNS topic."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        rules: k8s.apiextensions.CustomResource
        topic: aws.sns.Topic
        dashboard: aws.cloudwatch.Dashboard
        budget: aws.budgets.Budget | None

    def __init__(
        self, name: str, args: FleetMonitoringArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags("fleet", args.environment, args.cost_center, "monitoring")
        region = aws.get_region_output(opts=pulumi.InvokeOutputOptions(parent=self)).region
        self.rules = k8s.apiextensions.CustomResource(
            f"{name}-rules",
            api_version="monitoring.coreos.com/v1",
            kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name="agentfleet-inference",
                namespace=args.namespace,
                labels={**MANAGED_BY, ROLE: "monitoring"},
            ),
            spec={"groups": rule_groups(args)},
            opts=child,
        )
        self.topic = self._topic(name, args, region, tags, child)

        def queue_alarm(
            suffix: str,
            tier: MonitoredTier,
            queue: Any,
            periods: int,
            threshold: int,
            text: str,
            notify_ok: bool,
        ) -> None:
            """Alarm when a queue holds more than ``threshold`` messages for ``periods``
            five-minute periods; notify the alert topic (and again on recovery)."""
            aws.cloudwatch.MetricAlarm(
                f"{name}-{tier.tier}-{suffix}",
                alarm_description=f"{tier.tier}: {text}",
                namespace="AWS/SQS",
                metric_name="ApproximateNumberOfMessagesVisible",
                dimensions={"QueueName": queue},
                statistic="Maximum",
                period=300,
                evaluation_periods=periods,
                threshold=threshold,
                comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn] if notify_ok else None,
                tags=cost_tags(tier.tier, args.environment, args.cost_center, "monitoring"),
                opts=child,
            )

        for tier in args.tiers:
            queue_alarm("backlog", tier, tier.queue_name, 3, tier.backlog_alert,
                        "task queue backlog for 15 minutes", notify_ok=True)  # fmt: skip
            queue_alarm("dead-letters", tier, tier.dlq_name, 1, 0,
                        "requests failed into the dead-letter queue", notify_ok=False)  # fmt: skip
            for part in tier.part_queues:
                backlog = f"{part.part} task queue backlog for 15 minutes"
                failed = f"{part.part} requests failed into the dead-letter queue"
                queue_alarm(f"{part.part}-backlog", tier, part.queue_name, 3,
                            tier.backlog_alert, backlog, notify_ok=True)  # fmt: skip
                queue_alarm(f"{part.part}-dead-letters", tier, part.dlq_name, 1, 0, failed,
                            notify_ok=False)  # fmt: skip
        widgets = pulumi.Output.all(
            region,
            [
                pulumi.Output.all(tier=tier.tier, queue=tier.queue_name,
                                  group=tier.autoscaling_group,
                                  types=list(tier.instance_types),
                                  parts=[pulumi.Output.all(part.part, part.queue_name)
                                         for part in tier.part_queues])
                for tier in args.tiers
            ],
        )  # fmt: skip
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=f"{args.name_prefix}-fleet",
            dashboard_body=widgets.apply(lambda values: dashboard_body(values[0], values[1])),
            opts=child,
        )
        self.budget = self._budget(name, args, tags, child)
        self.register_outputs(
            {
                "rules": self.rules,
                "topic": self.topic,
                "dashboard": self.dashboard,
                "budget": self.budget,
            }
        )

    def _topic(
        self,
        name: str,
        args: FleetMonitoringArgs,
        region: pulumi.Output[str],
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.sns.Topic:
        """The SNS topic every alert goes to, encrypted with a key of its own, with its
        e-mail subscribers."""
        topic_name = alert_topic_name(args.name_prefix)
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self))
        key = aws.kms.Key(
            f"{name}-alerts-key",
            description=f"agentfleet alerts ({topic_name})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            # AWS Budgets cannot publish to a topic under the AWS-managed SNS key: a key of
            # the fleet's own lets it, and CloudWatch, in for this topic alone.
            policy=pulumi.Output.all(identity.arn, region).apply(
                lambda values: _alert_key_policy(values[0], values[1], topic_name)
            ),
            tags=tags,
            opts=child,
        )
        topic = aws.sns.Topic(
            f"{name}-alerts",
            name=topic_name,
            kms_master_key_id=key.arn,
            tags=tags,
            opts=child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alerts-policy",
            arn=topic.arn,
            policy=topic.arn.apply(_topic_policy),
            opts=child,
        )
        for index, email in enumerate(args.alert_emails):
            aws.sns.TopicSubscription(
                f"{name}-alerts-email-{index}",
                topic=topic.arn,
                protocol="email",
                endpoint=email,
                opts=child,
            )
        return topic

    def _budget(
        self,
        name: str,
        args: FleetMonitoringArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.budgets.Budget | None:
        """K3: an AWS Budget of the hourly budget x 730 a month over the tiers' cost tags,
        notifying the topic at each alert percentage, actual and forecast."""
        if args.budget_per_hour is None:
            return None
        monthly = (args.budget_per_hour * HOURS_PER_MONTH).quantize(CENT)
        return aws.budgets.Budget(
            f"{name}-budget",
            name=f"{args.name_prefix}-fleet",
            budget_type="COST",
            limit_amount=str(monthly),
            limit_unit="USD",
            time_unit="MONTHLY",
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(
                    name="TagKeyValue",
                    values=[f"user:{TIER}${tier.tier}" for tier in args.tiers],
                )
            ],
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    comparison_operator="GREATER_THAN",
                    notification_type=kind,
                    threshold=threshold,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[self.topic.arn],
                )
                for threshold in BUDGET_ALERT_PERCENTS
                for kind in ("ACTUAL", "FORECASTED")
            ],
            tags={**tags, BUDGET_PER_HOUR: str(args.budget_per_hour)},
            opts=child,
        )


def alert_topic_name(name_prefix: str) -> str:
    """The alert topic's name: Alertmanager (ClusterAddons) addresses it by it."""
    return f"{name_prefix}-alerts"


def _alert_key_policy(caller_arn: str, region: str, topic_name: str) -> str:
    """The alert topic's key: the account's IAM policies govern it (Alertmanager's role
    gets its use there), and AWS Budgets and CloudWatch may make and read data keys for
    this topic only (SNS's encryption context names it; who may publish at all is the
    topic policy's business)."""
    _, partition, _, _, account, _ = caller_arn.split(":", 5)
    topic_arn = f"arn:{partition}:sns:{region}:{account}:{topic_name}"
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "AccountIamPolicies",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:{partition}:iam::{account}:root"},
                    "Action": "kms:*",
                    "Resource": "*",
                },
                *(
                    {
                        "Sid": f"AlertPublishers{service.split('.')[0].capitalize()}",
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": ["kms:GenerateDataKey*", "kms:Decrypt"],
                        "Resource": "*",
                        "Condition": {
                            "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}
                        },
                    }
                    for service in ("budgets.amazonaws.com", "cloudwatch.amazonaws.com")
                ),
            ],
        }
    )


def _topic_policy(topic_arn: str) -> str:
    """AWS Budgets and CloudWatch may publish alerts to the topic, for this account's
    budgets and alarms only (``aws:SourceAccount``, ``aws:SourceArn``: a service principal
    acts for every account, and without them another account's alarm could publish here);
    nothing else new."""
    _, partition, _, region, account, _ = topic_arn.split(":", 5)
    sources = {
        "budgets.amazonaws.com": f"arn:{partition}:budgets::{account}:budget/*",
        "cloudwatch.amazonaws.com": f"arn:{partition}:cloudwatch:{region}:{account}:alarm:*",
    }
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": f"AlertPublishers{service.split('.')[0].capitalize()}",
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "SNS:Publish",
                    "Resource": topic_arn,
                    "Condition": {
                        "StringEquals": {"aws:SourceAccount": account},
                        "ArnLike": {"aws:SourceArn": source},
                    },
                }
                for service, source in sources.items()
            ],
        }
    )
