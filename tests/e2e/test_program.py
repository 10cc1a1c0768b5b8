"""The Pulumi program (infra/__main__.py), run as the CLI runs it but under Pulumi's
mocks: each shipped stack builds the whole fleet, every Kubernetes object validates
against the real schemas, every billable resource carries its tier's tags, and the
exports are right; a bad stack ends with the key path and declares nothing."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from facts import names
from infra.offline.mocks import Registration, run_program
from tests.components.support import validate_all
from tests.helpers import STACKS, prod_with_mixed_mig, stack_values

BILLABLE = {
    "aws:eks/nodeGroup:NodeGroup",
    "aws:sqs/queue:Queue",
    "aws:lb/loadBalancer:LoadBalancer",
    "aws:lb/targetGroup:TargetGroup",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
    "aws:sns/topic:Topic",
}


@pytest.fixture(autouse=True)
def restore_config() -> Iterator[None]:
    saved = dict(runtime_config.CONFIG.get())
    yield
    runtime_config.set_all_config(saved)


def build(
    stack: str, values: dict[str, Any] | None = None
) -> tuple[list[Registration], dict[str, Any]]:
    return run_program(values if values is not None else stack_values(stack), stack=stack)


def environment(stack: str) -> str:
    return str(stack_values(stack)["agentfleet:fleet"]["environment"])


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stack_builds_and_validates(stack: str) -> None:
    registrations, outputs = build(stack)
    new_cluster = {"cluster"} if stack_values(stack)["agentfleet:cluster"].get("create") else set()
    assert set(outputs) == {"tiers", "costPerHour", "maxCostPerHour", *new_cluster}
    kubernetes_objects = validate_all(registrations)
    assert kubernetes_objects >= 6
    for registration in registrations:
        if registration.type in BILLABLE:
            tags = registration.inputs["tags"]
            assert tags["agentfleet.io/environment"] == environment(stack), registration.name
            assert tags["agentfleet.io/tier"], registration.name
            assert tags["agentfleet.io/cost-center"] == "agentfleet", registration.name


def test_prod_resources_per_tier() -> None:
    registrations, _ = build("prod")
    types = Counter(r.type for r in registrations)
    assert types["agentfleet:index:FleetTier"] == 3
    assert types["aws:eks/nodeGroup:NodeGroup"] == 3
    assert types["kubernetes:apps/v1:Deployment"] == 3
    assert types["kubernetes:keda.sh/v1alpha1:ScaledObject"] == 3
    assert types["kubernetes:keda.sh/v1alpha1:TriggerAuthentication"] == 3
    assert types["aws:sqs/queue:Queue"] == 6  # a queue and a dead-letter queue per tier
    assert types["aws:lb/loadBalancer:LoadBalancer"] == 1  # the orchestrator only
    assert types["kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding"] == 1
    assert types["kubernetes:monitoring.coreos.com/v1:PrometheusRule"] == 1
    assert types["kubernetes:monitoring.coreos.com/v1:PodMonitor"] == 3  # one per Deployment
    assert types["aws:budgets/budget:Budget"] == 1
    assert types["aws:cloudwatch/dashboard:Dashboard"] == 1
    assert types["kubernetes:core/v1:ConfigMap"] == 1  # the model mirror's script; no MIG
    assert types["kubernetes:batch/v1:Job"] == 2  # a mirror for each Hub model it serves
    namespace = next(
        r
        for r in registrations
        if r.type == "kubernetes:core/v1:Namespace" and r.inputs["metadata"]["name"] == "agentfleet"
    )
    assert namespace.inputs["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == (
        "restricted"
    )
    # Every tier component hangs off the stack; every child off its component.
    for registration in registrations:
        if registration.type == "agentfleet:index:FleetTier":
            assert registration.parent_type == "pulumi:pulumi:Stack"
        elif registration.type.startswith("aws:eks/nodeGroup"):
            assert registration.parent_type == "agentfleet:index:GpuNodePool"


@pytest.mark.parametrize("stack", STACKS)
def test_a_rollout_waits_for_new_targets_to_be_healthy_in_the_load_balancer(stack: str) -> None:
    """The AWS Load Balancer Controller's webhook adds a readiness gate on the target's
    health (target-health.elbv2.k8s.aws/<binding>) to a pod only when the pod's namespace
    is labelled elbv2.k8s.aws/pod-readiness-gate-inject=enabled and a TargetGroupBinding of
    target type ip selects it through its Service; a Deployment's rollout counts a new pod
    available, and retires an old one, only once it is Ready. So every pod a binding
    targets must live in a namespace with that label."""
    registrations, _ = build(stack)
    labels = {
        r.inputs["metadata"]["name"]: r.inputs["metadata"].get("labels", {})
        for r in registrations
        if r.type == "kubernetes:core/v1:Namespace"
    }
    services = {
        (r.inputs["metadata"]["namespace"], r.inputs["metadata"]["name"]): r.inputs["spec"]
        for r in registrations
        if r.type == "kubernetes:core/v1:Service"
    }
    pods = [
        (r.inputs["metadata"]["namespace"], r.inputs["spec"]["template"]["metadata"]["labels"])
        for r in registrations
        if r.type == "kubernetes:apps/v1:Deployment"
    ]
    bindings = [r.inputs for r in registrations if r.type.endswith(":TargetGroupBinding")]
    for binding in bindings:
        namespace = binding["metadata"]["namespace"]
        assert binding["spec"]["targetType"] == "ip"  # gates apply to ip targets only
        selector = services[(namespace, binding["spec"]["serviceRef"]["name"])]["selector"]
        targeted = [p for ns, p in pods if ns == namespace and selector.items() <= p.items()]
        assert targeted, binding["metadata"]["name"]
        gate = labels[namespace].get("elbv2.k8s.aws/pod-readiness-gate-inject")
        assert gate == "enabled", f"{namespace}: no readiness gate for {len(targeted)} pods"


@pytest.mark.parametrize("stack", STACKS)
def test_a_node_update_drains_each_node_within_eks_eviction_limit(stack: str) -> None:
    """EKS's managed node update replaces one node at a time: it drains the node and fails
    with PodEvictionFailure when the pods have not left within 15 minutes (EKS user guide,
    "Managed node update behavior"). Each eviction waits until the disruption budget allows
    it, i.e. until the replicas evicted before are replaced and Ready. A node of R replicas
    under a budget of k goes in ceil(R / k) rounds; each round waits for k replacements on
    the update's new nodes: the vLLM image's pull and the pods' start (engine start, and
    the weights at what the node may download, k at once). That must fit 15 minutes."""
    from infra.config import parse_stack_config
    from infra.plan import plan_fleet
    from infra.startup import tier_startup

    registrations, _ = build(stack)
    plan = plan_fleet(parse_stack_config(stack_values(stack)))
    budgets = {
        r.inputs["metadata"]["name"]: r.inputs["spec"]["maxUnavailable"]
        for r in registrations
        if r.type == "kubernetes:policy/v1:PodDisruptionBudget"
    }
    for tier in plan.tiers:
        start = tier_startup(tier)
        for group in tier.replica_groups:
            shape = names.shape(tier.name, group.profile, len(tier.replica_groups))
            on_node, budget = group.replicas_per_instance, int(budgets[names.vllm(shape)])
            drain = math.ceil(on_node / budget) * start.replacement(min(budget, on_node))
            assert drain <= 15 * 60, (tier.name, group.profile, on_node, budget, drain)


def test_prod_exports() -> None:
    _, outputs = build("prod")
    assert outputs["costPerHour"] == 547.38
    assert outputs["maxCostPerHour"] == 756.44
    orchestrator = outputs["tiers"]["orchestrator"]
    assert orchestrator["endpoint"].startswith("https://internal-")  # prod's certificate
    assert orchestrator["apiKeySecret"] == "orchestrator-vllm-api-key"
    assert orchestrator["endpoint"].endswith(".us-east-1.elb.amazonaws.com")
    assert orchestrator["queueUrl"].startswith("https://sqs.us-east-1.amazonaws.com/")
    assert orchestrator["deadLetterQueueUrl"].endswith("-dlq")
    assert {
        k: orchestrator[k] for k in ("minInstances", "maxInstances", "gpus", "costPerHour")
    } == {
        "minInstances": 2,
        "maxInstances": 11,
        "gpus": 7,
        "costPerHour": 48.16,
    }
    # Background tiers are reached through their queue; their endpoint is in-cluster.
    assert outputs["tiers"]["lightweight"]["endpoint"] == (
        "http://lightweight-vllm.agentfleet.svc.cluster.local:8000"
    )
    assert list(outputs["tiers"]) == ["orchestrator", "mid-tier", "lightweight"]


def test_staging_mig_tier_is_partitioned() -> None:
    registrations, _ = build("staging")
    (config_map,) = [r for r in registrations if r.type == "kubernetes:core/v1:ConfigMap"]
    assert "agentfleet-mid-tier" in config_map.inputs["data"]["config.yaml"]
    (node_group,) = [r for r in registrations if r.name == "mid-tier-nodes"]
    assert node_group.inputs["labels"]["nvidia.com/mig.config"] == "agentfleet-mid-tier"


def test_invalid_stack_ends_cleanly_and_declares_nothing() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["mig"] = {"7g.80gb": 2}
    with pytest.raises(Exception) as raised:  # noqa: PT011 - the RunError is wrapped
        build("prod", values)
    cause: BaseException | None = raised.value
    while cause is not None and not isinstance(cause, pulumi.RunError):
        cause = cause.__cause__ or cause.__context__
    assert isinstance(cause, pulumi.RunError)
    assert str(cause) == (
        "invalid configuration\n"
        "agentfleet:fleet.tiers.orchestrator.mig: {7g.80gb: 2} needs 14 compute slices; "
        "h100-pcie has 7"
    )


@pytest.mark.parametrize(
    ("tier", "keys", "where"),
    [
        ("orchestrator", {"mig": {"7g.80gb": 2}}, "orchestrator.mig"),  # read: the keys
        (  # planned: the model cannot fit the GPUs the tier pinned
            "lightweight",
            {"model": "meta-llama/Llama-3.1-70B-Instruct", "instanceType": "g6e.2xlarge"},
            "lightweight.instanceType",
        ),
    ],
    ids=["reading", "planning"],
)
def test_a_stack_that_cannot_be_built_registers_nothing(
    tier: str, keys: dict[str, Any], where: str
) -> None:
    """Reading and planning both come before the first resource under `pulumi up`."""
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"][tier].update(keys)
    seen: list[Registration] = []
    with pytest.raises(pulumi.RunError) as raised:
        run_program(values, stack="prod", on_register=seen.append)
    assert str(raised.value).startswith(f"invalid configuration\nagentfleet:fleet.tiers.{where}: ")
    assert seen == []


def test_dashboard_and_alarms_watch_each_tiers_own_queue_and_nodes() -> None:
    registrations, _ = build("prod")
    (dashboard,) = [r for r in registrations if r.type == "aws:cloudwatch/dashboard:Dashboard"]
    widgets = json.loads(dashboard.inputs["dashboardBody"])["widgets"]
    queues = {r.name: r.inputs["name"] for r in registrations if r.type == "aws:sqs/queue:Queue"}
    for tier, widget in zip(["orchestrator", "mid-tier", "lightweight"], widgets, strict=True):
        sqs, instances = widget["properties"]["metrics"]
        assert sqs[3] == queues[f"{tier}-queue"]
        assert instances[3].startswith(f"eks-{tier}-nodes-")  # that tier's node group
    alarms = {r.name: r.inputs for r in registrations
              if r.type == "aws:cloudwatch/metricAlarm:MetricAlarm"}  # fmt: skip
    assert alarms["fleet-mid-tier-dead-letters"]["dimensions"] == {
        "QueueName": queues["mid-tier-dlq"]
    }


def test_provider_default_tags_cover_every_aws_resource() -> None:
    registrations, _ = build("staging")
    (provider,) = [r for r in registrations if r.type == "pulumi:providers:aws"]
    tags = provider.inputs["defaultTags"]
    tags = json.loads(tags) if isinstance(tags, str) else tags
    assert tags["tags"]["agentfleet.io/environment"] == "staging"
    assert tags["tags"]["agentfleet.io/cost-center"] == "agentfleet"
    assert provider.inputs["region"] == "us-east-1"


@pytest.mark.parametrize("stack", STACKS)
def test_every_object_in_the_fleet_namespace_waits_for_it(stack: str) -> None:
    registrations, _ = build(stack)
    (namespace,) = [
        r
        for r in registrations
        if r.type == "kubernetes:core/v1:Namespace" and r.inputs["metadata"]["name"] == "agentfleet"
    ]
    inside = [
        r
        for r in registrations
        if r.custom
        and r.type.startswith("kubernetes:")
        and r.inputs.get("metadata", {}).get("namespace") == "agentfleet"
    ]
    assert len(inside) >= 6
    assert [r.name for r in inside if namespace.urn not in r.dependencies] == []


@pytest.mark.parametrize("stack", [*STACKS, "prod-mixed-mig"])
def test_no_two_kubernetes_objects_share_a_name(stack: str) -> None:
    """Two objects of one kind with one namespace and name are one object to the API server:
    the second apply would overwrite the first (a tier of several MIG shapes has a
    Deployment, a ScaledObject and a TriggerAuthentication per shape)."""
    values = prod_with_mixed_mig() if stack == "prod-mixed-mig" else stack_values(stack)
    registrations, _ = build(stack.split("-", maxsplit=1)[0], values)
    seen = Counter(
        (r.type, r.inputs.get("metadata", {}).get("namespace"), r.inputs["metadata"]["name"])
        for r in registrations
        if r.custom and r.type.startswith("kubernetes:") and "metadata" in r.inputs
        and r.inputs["metadata"].get("name")
    )  # fmt: skip
    assert [key for key, count in seen.items() if count > 1] == []
    assert len(seen) >= 6


def test_prod_running_cost_alert_prices_each_tiers_nodes_as_the_plan_does() -> None:
    registrations, _ = build("prod")
    (rule,) = [
        r for r in registrations if r.type == "kubernetes:monitoring.coreos.com/v1:PrometheusRule"
    ]
    (cost,) = next(
        g["rules"] for g in rule.inputs["spec"]["groups"] if g["name"] == "agentfleet-cost"
    )
    # AWS's on-demand prices in us-east-1: p5.4xlarge $6.88, p4de.24xlarge $27.44705,
    # g6e.2xlarge $2.24208, against the stack's $800/h.
    assert cost["expr"] == (
        '(count(kube_node_labels{label_agentfleet_io_tier="orchestrator"}) * 6.88 or vector(0))'
        ' + (count(kube_node_labels{label_agentfleet_io_tier="mid-tier"}) * 27.44705 or '
        'vector(0)) + (count(kube_node_labels{label_agentfleet_io_tier="lightweight"}) * '
        "2.24208 or vector(0)) > 800"
    )


@pytest.mark.parametrize("stack", ["prod", "sandbox"])
def test_the_cluster_autoscaler_matches_the_clusters_minor(stack: str) -> None:
    """prod names an existing cluster (its version is what the cluster reports; the
    offline engine's stands in with 1.34), sandbox builds one at the default 1.34."""
    registrations, _ = build(stack)
    (release,) = [r for r in registrations if r.name == "addons-cluster-autoscaler"]
    assert release.inputs["values"]["image"] == {"tag": "v1.34.4"}
