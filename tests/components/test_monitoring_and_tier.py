"""FleetMonitoring (alerts on vLLM's current metrics, the queue-and-GPU dashboard, the
budget) and FleetTier (what one tier is made of) under recording mocks."""

from __future__ import annotations

import json
import re
from collections import Counter
from decimal import Decimal

from components import FleetMonitoring, FleetMonitoringArgs, FleetTier
from components import monitoring as monitoring_module
from facts.resource_types import BUDGET, DASHBOARD, NODE_GROUP, PROMETHEUS_RULE
from facts.resource_types import METRIC_ALARM as ALARM
from infra.offline.manifests import manifest
from infra.offline.mocks import Registration, run_program
from tests.components.builders import monitoring_args, tier_args
from tests.components.support import one, run, validate_all
from tests.helpers import prod_with_mixed_mig, stack_values

RULE = PROMETHEUS_RULE


def build(args: FleetMonitoringArgs) -> list[Registration]:
    return run(lambda: FleetMonitoring("fleet", args).dashboard.dashboard_body)


def test_prometheus_rules_name_the_current_vllm_metrics() -> None:
    registrations = build(monitoring_args())
    rule = manifest(one(registrations, RULE, "fleet-rules"))
    assert rule["metadata"] == {
        "name": "agentfleet-inference",
        "namespace": "agentfleet",
        "labels": {
            "app.kubernetes.io/part-of": "agentfleet",
            "app.kubernetes.io/managed-by": "pulumi",
            "agentfleet.io/role": "monitoring",
        },
    }
    groups = {group["name"]: group["rules"] for group in rule["spec"]["groups"]}
    assert list(groups) == ["agentfleet-orchestrator", "agentfleet-mid-tier"]
    pods = '{namespace="agentfleet",pod=~"(orchestrator-vllm)-.*"}'
    assert [(r["alert"], r["expr"], r["for"]) for r in groups["agentfleet-orchestrator"]] == [
        (
            "VllmTimeToFirstTokenP95High",
            "histogram_quantile(0.95, sum by (le) "
            f"(rate(vllm:time_to_first_token_seconds_bucket{pods}[5m]))) > 0.5",
            "5m",
        ),
        ("VllmKvCacheHigh", f"max by (pod) (vllm:kv_cache_usage_perc{pods}) > 0.85", "5m"),
        (
            "QueueWorkerQueueUnreachable",
            f"min by (pod) (agentfleet_worker_queue_reachable{pods}) == 0",
            "5m",
        ),
        ("VllmQueueBacklog", f"sum(vllm:num_requests_waiting{pods}) > 50", "10m"),
    ]
    assert "gpu_cache_usage_perc" not in json.dumps(rule)  # the deprecated metric is gone
    assert validate_all(registrations) == 1


def test_thresholds_come_from_the_config() -> None:
    registrations = build(monitoring_args(ttft_p95_alert_seconds=0.3, kv_cache_alert_percent=90))
    rules = manifest(one(registrations, RULE, "fleet-rules"))["spec"]["groups"][0]["rules"]
    assert rules[0]["expr"].endswith(" > 0.3")
    assert rules[1]["expr"].endswith(" > 0.9")


def test_dashboard_shows_queue_depth_beside_gpu_instances() -> None:
    registrations = build(monitoring_args())
    body = json.loads(one(registrations, DASHBOARD, "fleet-dashboard").inputs["dashboardBody"])
    assert [w["properties"]["title"] for w in body["widgets"]] == [
        "orchestrator: queue depth and GPU instances",
        "mid-tier: queue depth and GPU instances",
    ]
    metrics = body["widgets"][0]["properties"]["metrics"]
    assert metrics[0][:4] == [
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        "agents-prod-orchestrator-1a2b3c4d",
    ]
    # Instances counted without a manual step: EC2 publishes CPUUtilization for every
    # instance (by AutoScalingGroupName too) once per 5 minutes under basic monitoring, so
    # the SampleCount over 300 s is the number of instances; GroupInServiceInstances would
    # stay empty until someone turned on the group's metrics collection.
    assert metrics[1] == [
        "AWS/EC2",
        "CPUUtilization",
        "AutoScalingGroupName",
        "eks-orchestrator-nodes-asg",
        {"label": "GPU instances", "yAxis": "right", "stat": "SampleCount", "period": 300},
    ]
    assert "AWS/AutoScaling" not in json.dumps(body)
    assert body["widgets"][0]["properties"]["region"] == "us-east-1"


def test_budget_per_hour_equivalent() -> None:
    registrations = build(monitoring_args())
    budget = one(registrations, BUDGET, "fleet-budget").inputs
    assert budget["budgetType"] == "COST"
    assert budget["limitAmount"] == "146000.00"  # 200 $/h x 730 h
    assert (budget["limitUnit"], budget["timeUnit"]) == ("USD", "MONTHLY")
    assert budget["costFilters"] == [
        {
            "name": "TagKeyValue",
            "values": ["user:agentfleet.io/tier$orchestrator", "user:agentfleet.io/tier$mid-tier"],
        }
    ]
    notifications = {
        (n["notificationType"], n["threshold"], n["thresholdType"], n["comparisonOperator"])
        for n in budget["notifications"]
    }
    assert notifications == {
        (kind, threshold, "PERCENTAGE", "GREATER_THAN")
        for kind in ("ACTUAL", "FORECASTED")
        for threshold in (80.0, 100.0)
    }
    topic_name = one(registrations, "aws:sns/topic:Topic", "fleet-alerts").inputs["name"]
    topic = f"arn:aws:sns:us-east-1:123456789012:{topic_name}"  # as AWS writes it
    assert all(n["subscriberSnsTopicArns"] == [topic] for n in budget["notifications"])


def test_no_budget_without_a_budget_setting() -> None:
    registrations = build(monitoring_args(budget_per_hour=None))
    assert [r for r in registrations if r.type == BUDGET] == []


def test_queue_alarms_and_subscribers() -> None:
    registrations = build(monitoring_args())
    backlog = one(registrations, ALARM, "fleet-orchestrator-backlog").inputs
    assert backlog["dimensions"] == {"QueueName": "agents-prod-orchestrator-1a2b3c4d"}
    assert (backlog["threshold"], backlog["evaluationPeriods"]) == (50.0, 3.0)
    dead = one(registrations, ALARM, "fleet-orchestrator-dead-letters").inputs
    assert dead["dimensions"] == {"QueueName": "agents-prod-orchestrator-1a2b3c4d-dlq"}
    assert dead["threshold"] == 0.0
    subscription = one(registrations, "aws:sns/topicSubscription:TopicSubscription",
                        "fleet-alerts-email-0").inputs  # fmt: skip
    assert (subscription["protocol"], subscription["endpoint"]) == ("email", "oncall@example.com")
    types = Counter(r.type for r in registrations if r.parent_type == monitoring_module.TYPE)
    assert types[ALARM] == 4


def tier_registrations(stack: str, name: str) -> list[Registration]:
    args = tier_args(stack, name)
    return run(lambda: FleetTier(name, args).endpoint)


def components_of(registrations: list[Registration]) -> Counter[str]:
    return Counter(r.type for r in registrations if r.parent_type == "agentfleet:index:FleetTier")


def test_user_facing_tier_has_a_load_balancer() -> None:
    registrations = tier_registrations("prod", "orchestrator")
    assert components_of(registrations) == Counter(
        {
            "agentfleet:index:GpuNodePool": 1,
            "agentfleet:index:AgentQueue": 1,
            "agentfleet:index:QueueWorker": 1,
            "agentfleet:index:VllmService": 1,
            "kubernetes:core/v1:Secret": 1,  # the tier's API key
            "random:index/randomPassword:RandomPassword": 1,
            "agentfleet:index:QueueDepthAutoscaler": 1,
            "agentfleet:index:InferenceLoadBalancer": 1,
        }
    )
    scaled = manifest(one(registrations, "kubernetes:keda.sh/v1alpha1:ScaledObject",
                          "orchestrator-scaled-object"))  # fmt: skip
    # The ceiling holds the weekday peak: 600 x 1.3 = 780 interactions, 9 H100s of 91.
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 11)
    (cron,) = [t for t in scaled["spec"]["triggers"] if t["type"] == "cron"]
    assert cron["metadata"] == {
        "timezone": "America/New_York",
        "start": "0 7 * * 1-5",
        "end": "0 19 * * 1-5",
        "desiredReplicas": "9",
    }
    binding = manifest(one(registrations, "kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding",
                           "orchestrator-binding"))  # fmt: skip
    assert binding["spec"]["serviceRef"]["name"] == "orchestrator-vllm"
    validate_all(registrations)


def test_background_tier_has_no_load_balancer_and_may_scale_to_zero() -> None:
    registrations = tier_registrations("staging", "mid-tier")
    assert "agentfleet:index:InferenceLoadBalancer" not in components_of(registrations)
    scaled = manifest(one(registrations, "kubernetes:keda.sh/v1alpha1:ScaledObject",
                          "mid-tier-scaled-object"))  # fmt: skip
    # 16 replicas (2 MIG slices x 8 GPUs) per p4de.24xlarge, two instances at most.
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (0, 32)
    assert scaled["spec"]["triggers"][0]["metadata"]["activationQueueLength"] == "0"
    node_group = one(registrations, "aws:eks/nodeGroup:NodeGroup", "mid-tier-nodes").inputs
    assert node_group["labels"]["nvidia.com/mig.config"] == "agentfleet-mid-tier"
    validate_all(registrations)


def test_mixed_mig_tier_has_a_deployment_per_shape() -> None:
    values = prod_with_mixed_mig()
    args = tier_args(values, "orchestrator")
    registrations = run(lambda: FleetTier("orchestrator", args).endpoint)
    deployments = [manifest(r) for r in registrations if r.type == "kubernetes:apps/v1:Deployment"]
    assert sorted(d["metadata"]["name"] for d in deployments) == [
        "orchestrator-1g-10gb-vllm",
        "orchestrator-2g-20gb-vllm",
    ]
    bindings = [r for r in registrations if r.type.endswith("TargetGroupBinding")]
    assert len(bindings) == 2
    validate_all(registrations)


def test_a_media_engine_slice_is_named_as_the_device_plugin_names_it() -> None:
    """`1g.10gb+me`: the pod requests `nvidia.com/mig-1g.10gb.me` (what k8s-device-plugin
    advertises), the node template advertises the same, and every name stays a valid
    Kubernetes name."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["mig"] = {"1g.10gb+me": 1, "3g.40gb": 1}
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["model"] = "Qwen/Qwen2.5-3B-Instruct"
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["serviceSeconds"] = 10  # a 1g slice
    registrations = run(
        lambda: FleetTier("orchestrator", tier_args(values, "orchestrator")).endpoint
    )
    deployments = {
        r.name: manifest(r) for r in registrations if r.type == "kubernetes:apps/v1:Deployment"
    }
    media = deployments["orchestrator-1g-10gb-me-deployment"]
    assert media["metadata"]["name"] == "orchestrator-1g-10gb-me-vllm"
    limits = media["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"]
    assert limits["nvidia.com/mig-1g.10gb.me"] == "1"
    advertised = {
        r.inputs["tag"]["key"].rsplit("/resources/", 1)[1]
        for r in registrations
        if r.type == "aws:autoscaling/tag:Tag" and "/resources/" in r.inputs["tag"]["key"]
    }
    assert advertised == {"nvidia.com/mig-1g.10gb.me", "nvidia.com/mig-3g.40gb"}
    validate_all(registrations)


def test_vllm_keeps_idle_connections_longer_than_the_load_balancer() -> None:
    """An ALB reuses idle connections to its targets for its idle timeout; if the server
    closes one first (vLLM's default keep-alive is 5 s), a request sent down it gets a 502.
    The target's keep-alive must outlast the load balancer's idle timeout."""
    registrations = tier_registrations("prod", "orchestrator")
    alb = one(registrations, "aws:lb/loadBalancer:LoadBalancer", "orchestrator-alb").inputs
    deployment = manifest(one(registrations, "kubernetes:apps/v1:Deployment",
                              "orchestrator-deployment"))  # fmt: skip
    (vllm, *_) = deployment["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in vllm["env"]}
    assert int(env["VLLM_HTTP_TIMEOUT_KEEP_ALIVE"]) > alb["idleTimeout"] >= 300


TERM = re.compile(
    r'\(count\(kube_node_labels\{label_agentfleet_io_tier="([^"]+)"\}\) '
    r"\* ([0-9.]+) or vector\(0\)\)"
)


def cost_alert_fires(expression: str, nodes: list[str]) -> bool:
    """The cost alert's expression evaluated as Prometheus would over kube_node_labels
    series, one per node (``nodes``: each node's tier label). count() of no series is no
    series, which ``or vector(0)`` turns into 0."""
    terms, threshold = expression.rsplit(" > ", 1)
    parsed = TERM.findall(terms)
    assert " + ".join(f'(count(kube_node_labels{{label_agentfleet_io_tier="{tier}"}}) * {price} '
                      "or vector(0))" for tier, price in parsed) == terms  # fmt: skip
    total = sum(nodes.count(tier) * Decimal(price) for tier, price in parsed)
    return total > Decimal(threshold)


def test_running_cost_alert_counts_gpu_nodes_at_their_price() -> None:
    priced = tuple(
        tier.model_copy(update={"node_price_per_hour": price})
        for tier, price in zip(
            monitoring_args().tiers, (Decimal("2.51"), Decimal("8.32")), strict=True
        )
    )
    registrations = build(monitoring_args(tiers=priced))
    groups = manifest(one(registrations, RULE, "fleet-rules"))["spec"]["groups"]
    (rule,) = next(g["rules"] for g in groups if g["name"] == "agentfleet-cost")
    assert (rule["alert"], rule["for"]) == ("FleetCostPerHourOverBudget", "10m")
    # 2 orchestrator nodes and 5 p4de: 5.02 + 41.60 = 46.62 $/h, well inside $200/h.
    assert not cost_alert_fires(rule["expr"], ["orchestrator"] * 2 + ["mid-tier"] * 5)
    # 24 p4de: 199.68 $/h, still inside; 25: 208.00, over.
    assert not cost_alert_fires(rule["expr"], ["mid-tier"] * 24)
    assert cost_alert_fires(rule["expr"], ["mid-tier"] * 25)
    assert not cost_alert_fires(rule["expr"], [])  # no GPU node: 0, not "no data"
    assert validate_all(registrations) == 1


def test_no_running_cost_alert_without_a_budget_or_prices() -> None:
    for args in (monitoring_args(), monitoring_args(budget_per_hour=None)):
        groups = manifest(one(build(args), RULE, "fleet-rules"))["spec"]["groups"]
        assert "agentfleet-cost" not in [g["name"] for g in groups]


def test_a_bursting_tier_has_a_spot_node_group_above_its_on_demand_floor() -> None:
    """The floor's group stays as it was; the burst's is SPOT from 0 to 6, labelled and
    tagged so, with the same scheduling labels (the pods land on either); the autoscaler's
    ceiling counts both groups."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"].update(
        spotPricePerGpuHour=1.9,
        burst={"capacity": "spot", "maxInstances": 6, "acceptInterruptions": True},
    )
    registrations = run(
        lambda: FleetTier("orchestrator", tier_args(values, "orchestrator")).endpoint
    )
    assert components_of(registrations)["agentfleet:index:GpuNodePool"] == 2
    floor = one(registrations, NODE_GROUP, "orchestrator-nodes").inputs
    burst = one(registrations, NODE_GROUP, "orchestrator-burst-nodes").inputs
    assert (floor["capacityType"], floor["scalingConfig"]["minSize"]) == ("ON_DEMAND", 2.0)
    assert "agentfleet.io/capacity-role" not in floor["labels"]
    assert burst["capacityType"] == "SPOT"
    assert burst["scalingConfig"] == {"minSize": 0.0, "maxSize": 6.0, "desiredSize": 0.0}
    assert burst["labels"]["agentfleet.io/capacity-role"] == "burst"
    assert burst["labels"]["agentfleet.io/tier"] == floor["labels"]["agentfleet.io/tier"]
    assert burst["tags"]["agentfleet.io/interruptions-accepted"] == "true"
    assert burst["tags"]["agentfleet.io/capacity"] == "spot"
    scaled = manifest(one(registrations, "kubernetes:keda.sh/v1alpha1:ScaledObject",
                          "orchestrator-scaled-object"))  # fmt: skip
    assert (scaled["spec"]["minReplicaCount"], scaled["spec"]["maxReplicaCount"]) == (2, 17)
    validate_all(registrations)


def test_co_resident_models_get_their_own_queue_workers_and_autoscaler() -> None:
    """The seed's layout: Qwen2.5-7B in the 2g.20gb slice, bge-large in the 1g.10gb one.
    A request names one model, so each model drains its own queue through its own workers
    (and identity), scaled on that queue; the load balancer fronts the tier's own model."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"].update(
        mig={"2g.20gb": 1, "1g.10gb": 1},
        migModels={"1g.10gb": "BAAI/bge-large-en-v1.5"},
        serviceSeconds=10,  # a 7B model streams 350 tokens in 8.1 s in a 2g.20gb slice
    )
    registrations = run(
        lambda: FleetTier("orchestrator", tier_args(values, "orchestrator")).endpoint
    )
    queues = sorted(r.name for r in registrations if r.type == "aws:sqs/queue:Queue")
    assert queues == [
        "orchestrator-1g-10gb-dlq",
        "orchestrator-1g-10gb-queue",
        "orchestrator-dlq",
        "orchestrator-queue",
    ]
    deployments = {
        r.name: manifest(r) for r in registrations if r.type == "kubernetes:apps/v1:Deployment"
    }
    pods = {name: d["spec"]["template"]["spec"] for name, d in deployments.items()}
    qwen = pods["orchestrator-2g-20gb-deployment"]
    bge = pods["orchestrator-1g-10gb-deployment"]
    store = "s3://agents-prod-weights-123456789012/models"  # prod's model store
    assert qwen["containers"][0]["args"][0] == f"{store}/Qwen/Qwen2.5-7B-Instruct/"
    assert bge["containers"][0]["args"][0] == f"{store}/BAAI/bge-large-en-v1.5/"
    assert (qwen["serviceAccountName"], bge["serviceAccountName"]) == (
        "orchestrator-queue-worker",
        "orchestrator-1g-10gb-queue-worker",
    )

    def queue_url(pod: dict[str, object]) -> str:
        (worker,) = [c for c in pod["containers"] if c["name"] == "queue-worker"]  # type: ignore[attr-defined]
        (url,) = [e["value"] for e in worker["env"] if e["name"].endswith("QUEUE_URL")]
        return str(url)

    assert "orchestrator-1g-10gb" in queue_url(bge)
    assert "1g-10gb" not in queue_url(qwen)
    scaled = {
        r.name: manifest(r)
        for r in registrations
        if r.type == "kubernetes:keda.sh/v1alpha1:ScaledObject"
    }
    bge_triggers = scaled["orchestrator-1g-10gb-scaled-object"]["spec"]["triggers"]
    assert all(
        "orchestrator-1g-10gb" in t["metadata"]["queueURL"]
        for t in bge_triggers
        if t["type"] == "aws-sqs-queue"
    )
    bindings = [r for r in registrations if r.type.endswith("TargetGroupBinding")]
    assert [b.inputs["spec"]["serviceRef"]["name"] for b in bindings] == [
        "orchestrator-2g-20gb-vllm"
    ]
    validate_all(registrations)


def test_only_this_accounts_budgets_and_alarms_may_publish_to_the_alert_topic() -> None:
    """budgets.amazonaws.com and cloudwatch.amazonaws.com act for every account: the
    topic's policy holds them to this account's budgets and alarms (aws:SourceAccount,
    aws:SourceArn), or any account's alarm could page the fleet's on-call."""
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    topic_policy = next(r for r in registrations if r.type == "aws:sns/topicPolicy:TopicPolicy")
    topic = topic_policy.inputs["arn"]
    account = topic.split(":")[4]
    statements = json.loads(topic_policy.inputs["policy"])["Statement"]
    assert {s["Principal"]["Service"] for s in statements} == {
        "budgets.amazonaws.com",
        "cloudwatch.amazonaws.com",
    }
    for statement in statements:
        assert statement["Resource"] == topic
        assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account}
        source = statement["Condition"]["ArnLike"]["aws:SourceArn"]
        assert source.split(":")[4] == account
        assert source.endswith(("budget/*", "alarm:*"))
