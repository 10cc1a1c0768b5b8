"""Karpenter as the node provisioner: each tier's NodePools and EC2NodeClasses against the
real CRDs (their schemas and CEL rules), the controller's IAM policy and interruption queue
against those its pinned release publishes, and the add-on beside the others."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from components import Addon, ClusterAddons, FleetTier
from components import addons as addons_module
from components.karpenter_pool import KarpenterNodePoolArgs, instance_types
from components.node_pool import CapacityReservation
from facts import karpenter
from facts.resource_types import (
    EC2_NODE_CLASS,
    HELM_RELEASE,
    IAM_ROLE_POLICY,
    NODE_GROUP,
    NODE_POOL,
    POD_IDENTITY_ASSOCIATION,
)
from infra.offline.manifests import manifest
from infra.offline.mocks import Registration, run_program
from tests.components.builders import addon_args, tier_args
from tests.components.support import one, run, validate_all, validate_object
from tests.helpers import stack_values, with_karpenter

UPSTREAM = json.loads(
    (Path(__file__).parents[1] / "data" / "upstream" / "karpenter-v1.14.1.json").read_text()
)
ACCOUNT = "123456789012"
REGION = "us-east-1"
CLUSTER = "agents-prod"


def prod_karpenter(**tier_changes: dict[str, Any]) -> dict[str, Any]:
    values = with_karpenter(stack_values("prod"))
    for tier, changes in tier_changes.items():
        values["agentfleet:fleet"]["tiers"][tier].update(changes)
    return values


def pools_of(registrations: list[Registration]) -> dict[str, dict[str, Any]]:
    """Every NodePool and EC2NodeClass as the API server would get it, by kind and name."""
    return {
        f"{r.type.rsplit(':', 1)[1]}/{manifest(r)['metadata']['name']}": manifest(r)
        for r in registrations
        if r.type in (NODE_POOL, EC2_NODE_CLASS)
    }


@pytest.fixture(scope="module")
def prod() -> list[Registration]:
    registrations, _ = run_program(prod_karpenter(), stack="prod-karpenter")
    return registrations


def test_prod_under_karpenter_has_a_node_pool_per_tier_valid_for_the_crds(
    prod: list[Registration],
) -> None:
    found = pools_of(prod)
    tiers = ("orchestrator", "mid-tier", "lightweight")
    assert set(found) == {f"{kind}/{t}" for t in tiers for kind in ("NodePool", "EC2NodeClass")}
    for body in found.values():
        validate_object(body)  # schema, unknown fields, CEL rules
    assert validate_all(prod) > len(found)
    # No node group and no cluster autoscaler: one node autoscaler, Karpenter.
    assert not [r for r in prod if r.type == NODE_GROUP]
    charts = {r.inputs["chart"] for r in prod if r.type == HELM_RELEASE}
    assert f"{karpenter.CHART}" in charts
    assert not [c for c in charts if "cluster-autoscaler" in c]


def test_a_node_pool_is_the_tiers_gpu_nodes(prod: list[Registration]) -> None:
    found = pools_of(prod)
    pool, node_class = found["NodePool/lightweight"], found["EC2NodeClass/lightweight"]
    template = pool["spec"]["template"]
    assert template["spec"]["taints"] == [
        {"key": "nvidia.com/gpu", "value": "true", "effect": "NoSchedule"}
    ]
    labels = template["metadata"]["labels"]
    assert labels["agentfleet.io/tier"] == "lightweight"
    assert labels["k8s.amazonaws.com/accelerator"] == "nvidia-l40s"
    requirements = {r["key"]: r for r in template["spec"]["requirements"]}
    # g6e.2xlarge as planned, and the bigger one-GPU g6e types Karpenter may fall back to.
    assert requirements[karpenter.INSTANCE_TYPE]["values"] == [
        "g6e.2xlarge",
        "g6e.4xlarge",
        "g6e.8xlarge",
        "g6e.16xlarge",
    ]
    assert requirements[karpenter.CAPACITY_TYPE] == {
        "key": karpenter.CAPACITY_TYPE,
        "operator": "In",
        "values": ["on-demand"],
    }
    plan = tier_args(prod_karpenter(), "lightweight")
    assert pool["spec"]["limits"] == {"nvidia.com/gpu": str(plan.max_instances)}
    disruption = pool["spec"]["disruption"]
    assert disruption["consolidationPolicy"] == "WhenEmpty"  # never a node that serves
    after = int(disruption["consolidateAfter"].removesuffix("s"))
    assert after > plan.scaling.scale_in_idle_seconds
    assert template["spec"]["expireAfter"] == "Never"
    assert template["spec"]["nodeClassRef"] == {
        "group": "karpenter.k8s.aws",
        "kind": "EC2NodeClass",
        "name": "lightweight",
    }
    spec = node_class["spec"]
    assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
    assert spec["metadataOptions"]["httpTokens"] == "required"
    assert spec["metadataOptions"]["httpPutResponseHopLimit"] == 1
    (root,) = spec["blockDeviceMappings"]
    assert root["ebs"]["encrypted"] is True
    assert root["rootVolume"] is True
    assert spec["tags"]["agentfleet.io/tier"] == "lightweight"
    assert spec["tags"]["agentfleet.io/environment"] == "prod"
    assert spec["subnetSelectorTerms"] == [
        {"id": s} for s in stack_values("prod")["agentfleet:cluster"]["subnetIds"]
    ]


def test_a_bursting_tier_fills_its_floor_then_spot_then_on_demand() -> None:
    values = prod_karpenter(
        orchestrator={
            "burst": {"capacity": "spot", "maxInstances": 4, "acceptInterruptions": True},
            "spotPricePerGpuHour": 2.5,
        }
    )
    args = tier_args(values, "orchestrator")
    pools = args.karpenter_pool_args()
    assert list(pools) == ["orchestrator", "orchestrator-burst", "orchestrator-overflow"]
    floor, burst, overflow = pools.values()
    gpus = floor.gpus_per_node
    assert (floor.pool_role, floor.capacity_types, floor.gpu_limit()) == (
        "floor", ["on-demand"], args.min_instances * gpus,
    )  # fmt: skip
    assert (burst.pool_role, burst.capacity_types, burst.gpu_limit()) == (
        "burst",
        ["spot"],
        4 * gpus,
    )
    assert (overflow.capacity_types, overflow.gpu_limit()) == (
        ["on-demand"],
        (args.max_instances - args.min_instances) * gpus,
    )
    registrations = run(lambda: FleetTier("orchestrator", args).endpoint)
    found = pools_of(registrations)
    weights = {name: found[f"NodePool/{name}"]["spec"]["weight"] for name in pools}
    assert (
        weights["orchestrator"] > weights["orchestrator-burst"] > weights["orchestrator-overflow"]
    )
    # The floor's nodes are never taken back for being empty: the tier's floor.
    budgets = found["NodePool/orchestrator"]["spec"]["disruption"]["budgets"]
    assert {"nodes": "0", "reasons": ["Empty", "Underutilized"]} in budgets
    burst_pool = found["NodePool/orchestrator-burst"]
    assert burst_pool["metadata"]["annotations"]["agentfleet.io/interruptions-accepted"] == "true"
    assert burst_pool["spec"]["template"]["metadata"]["labels"]["agentfleet.io/capacity-role"] == (
        "burst"
    )
    for body in found.values():
        validate_object(body)


def test_a_reservation_and_an_instance_store_carry_over() -> None:
    args = tier_args(prod_karpenter(), "lightweight")
    base = args.karpenter_pool_args()["lightweight"]
    reserved = KarpenterNodePoolArgs.model_validate(
        {
            **dict(base),
            "instance_store": True,
            "reservation": CapacityReservation(
                kind="capacity-block",
                id="cr-0123456789abcdef0",
                subnet_ids=("subnet-0a1b2c3d4e5f60002",),
            ),
        }
    )
    assert reserved.capacity_types == ["reserved"]
    assert instance_types(reserved) == ["g6e.2xlarge"]  # a reservation is for its type
    from components import KarpenterNodePool

    registrations = run(lambda: KarpenterNodePool("lightweight", reserved).node_pool.id)
    node_class = manifest(one(registrations, EC2_NODE_CLASS, "lightweight-node-class"))
    validate_object(node_class)
    spec = node_class["spec"]
    assert spec["capacityReservationSelectorTerms"] == [{"id": "cr-0123456789abcdef0"}]
    assert spec["subnetSelectorTerms"] == [{"id": "subnet-0a1b2c3d4e5f60002"}]
    assert spec["instanceStorePolicy"] == "RAID0"


def test_karpenter_refuses_a_mig_layout() -> None:
    base = tier_args(prod_karpenter(), "mid-tier").karpenter_pool_args()["mid-tier"]
    from components import MigLayout

    with pytest.raises(ValueError, match="Karpenter cannot provision MIG nodes"):
        KarpenterNodePoolArgs.model_validate(
            {
                **dict(base),
                "mig_config": "mid-tier",
                "mig_layout": MigLayout(gpu="a100-80gb", layout={"3g.40gb": 2}),
            }
        )


def upstream_statements() -> dict[str, dict[str, Any]]:
    """Upstream's statements by Sid, its placeholders filled in for this cluster."""
    filled = {
        "${AWS::Partition}": "aws",
        "${AWS::Region}": REGION,
        "${AWS::AccountId}": ACCOUNT,
        "${ClusterName}": CLUSTER,
        "${KarpenterNodeRole.Arn}": "NODE-ROLE",
        "${KarpenterInterruptionQueue.Arn}": "QUEUE",
    }
    text = json.dumps(UPSTREAM["controllerPolicies"])
    for placeholder, value in filled.items():
        text = text.replace(placeholder, value)
    assert "${" not in text
    return {s["Sid"]: s for p in json.loads(text).values() for s in p["Statement"]}


def as_sets(statement: dict[str, Any]) -> dict[str, Any]:
    """A statement with its lists as sets (IAM reads them so), a single value as one."""

    def norm(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: norm(v) for k, v in value.items()}
        if isinstance(value, list):
            return frozenset(v if isinstance(v, str) else norm(v) for v in value)
        return frozenset([value]) if isinstance(value, str) else value

    return {key: norm(value) for key, value in statement.items() if key != "Sid"}


@pytest.fixture(scope="module")
def controller() -> list[Registration]:
    args = addon_args(karpenter=Addon(), cluster_autoscaler=Addon(enabled=False))
    return run(lambda: ClusterAddons("addons", args).readiness)


def test_the_controller_policy_is_upstreams_statement_by_statement(
    controller: list[Registration],
) -> None:
    from components.karpenter_policy import karpenter_controller_policy

    ours = karpenter_controller_policy(REGION, ACCOUNT, CLUSTER, "NODE-ROLE", "QUEUE")
    mine = {s["Sid"]: as_sets(s) for s in ours["Statement"]}
    theirs = {sid: as_sets(s) for sid, s in upstream_statements().items()}
    assert set(mine) == set(theirs)
    for sid, statement in theirs.items():
        assert mine[sid] == statement, sid
    # The declared one is that, with the node role and queue the add-on made.
    declared = json.loads(
        one(controller, IAM_ROLE_POLICY, "addons-karpenter-policy").inputs["policy"]
    )
    assert {s["Sid"] for s in declared["Statement"]} == set(theirs)
    passed = next(s for s in declared["Statement"] if s["Sid"] == "AllowPassingInstanceRole")
    assert re.fullmatch(
        r"arn:aws:iam::\d{12}:role/addons-karpenter-node-role.*", passed["Resource"]
    )
    # One inline policy: IAM counts a role's inline policies to 10,240 characters, no spaces.
    assert len(json.dumps(declared, separators=(",", ":"))) < 10_240


def test_the_interruption_queue_hears_what_upstream_sends_it(
    controller: list[Registration],
) -> None:
    rules = {
        r.name: json.loads(r.inputs["eventPattern"])
        for r in controller
        if r.type == "aws:cloudwatch/eventRule:EventRule"
    }
    assert sorted(map(json.dumps, rules.values())) == sorted(
        map(json.dumps, UPSTREAM["eventPatterns"].values())
    )
    targets = [r for r in controller if r.type == "aws:cloudwatch/eventTarget:EventTarget"]
    assert len(targets) == len(rules)
    queue = one(controller, "aws:sqs/queue:Queue", "addons-karpenter-interruptions").inputs
    upstream = UPSTREAM["interruptionQueue"]
    assert queue["messageRetentionSeconds"] == upstream["MessageRetentionPeriod"]
    assert queue["sqsManagedSseEnabled"] is upstream["SqsManagedSseEnabled"]
    policy = json.loads(
        one(controller, "aws:sqs/queuePolicy:QueuePolicy", "addons-karpenter-interruptions").inputs[
            "policy"
        ]
    )
    senders = next(s for s in policy["Statement"] if s["Effect"] == "Allow")
    assert set(senders["Principal"]["Service"]) == {"events.amazonaws.com", "sqs.amazonaws.com"}
    assert senders["Action"] == "sqs:SendMessage"
    denied = next(s for s in policy["Statement"] if s["Effect"] == "Deny")
    assert denied["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_controller_runs_as_its_own_role_and_its_nodes_join(
    controller: list[Registration],
) -> None:
    release = one(controller, HELM_RELEASE, "addons-karpenter").inputs
    assert (release["chart"], release["version"]) == (karpenter.CHART, karpenter.VERSION)
    assert "repositoryOpts" not in release or not release["repositoryOpts"]
    # Its CRDs from their own chart of the same release, so an upgrade upgrades them too
    # (Helm never upgrades a chart's crds/); the controller's chart leaves them alone.
    crds = one(controller, HELM_RELEASE, "addons-karpenter-crd")
    assert (crds.inputs["chart"], crds.inputs["version"]) == (
        f"{karpenter.REGISTRY}/karpenter-crd",
        karpenter.VERSION,
    )
    assert release["skipCrds"] is True
    assert crds.urn in one(controller, HELM_RELEASE, "addons-karpenter").dependencies
    values = release["values"]
    assert values["settings"]["clusterName"] == CLUSTER
    queue = one(controller, "aws:sqs/queue:Queue", "addons-karpenter-interruptions")
    assert values["settings"]["interruptionQueue"] == queue.inputs["name"]
    association = one(controller, POD_IDENTITY_ASSOCIATION, "addons-karpenter-pod-identity")
    assert (association.inputs["namespace"], association.inputs["serviceAccount"]) == (
        "kube-system",
        values["serviceAccount"]["name"],
    )
    entry = one(controller, "aws:eks/accessEntry:AccessEntry", "addons-karpenter-node-access")
    assert entry.inputs["type"] == "EC2_LINUX"
    attached = {
        r.inputs["policyArn"].rsplit("/", 1)[1]
        for r in controller
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    # Upstream's node policies; the CNI's only where the CNI takes its rights from nodes.
    assert attached == set(UPSTREAM["nodeRolePolicies"]) - {karpenter.CNI_POLICY}
    with_cni = run(
        lambda: (
            ClusterAddons(
                "addons",
                addon_args(karpenter=Addon(), karpenter_cni_on_node=True),
            ).readiness
        )
    )
    attached = {
        r.inputs["policyArn"].rsplit("/", 1)[1]
        for r in with_cni
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    assert attached == set(UPSTREAM["nodeRolePolicies"])


def test_the_add_on_is_not_there_by_default() -> None:
    registrations = run(lambda: ClusterAddons("addons", addon_args()).readiness)
    assert not [r for r in registrations if "karpenter" in r.name]
    assert addons_module.CHARTS["karpenter"].version == karpenter.VERSION


def test_the_cost_alert_counts_the_same_nodes(prod: list[Registration]) -> None:
    """The running-cost alert counts GPU nodes by their tier label, which NodePools put on
    their nodes as node groups do: the same rule either way."""

    def rules(registrations: list[Registration]) -> Any:
        (found,) = [manifest(r) for r in registrations if r.type.endswith("PrometheusRule")]
        return found["spec"]

    autoscaled, _ = run_program(stack_values("prod"), stack="prod")
    assert rules(prod) == rules(autoscaled)
    labels = pools_of(prod)["NodePool/mid-tier"]["spec"]["template"]["metadata"]["labels"]
    assert labels["agentfleet.io/tier"] == "mid-tier"


def test_a_pinned_ami_release_is_the_node_classes_alias() -> None:
    values = prod_karpenter()
    values["agentfleet:cluster"]["amiRelease"] = "v20251209"
    registrations, _ = run_program(values, stack="prod-karpenter")
    for name, body in pools_of(registrations).items():
        if name.startswith("EC2NodeClass/"):
            assert body["spec"]["amiSelectorTerms"] == [{"alias": "al2023@v20251209"}]
            validate_object(body)


def test_the_values_set_are_the_charts_own_keys(controller: list[Registration]) -> None:
    """Every value the release sets is one the chart's values.yaml at the pinned release
    declares (Helm would carry an unknown one silently), and the batch window the
    simulator waits is the chart's default."""
    chart = UPSTREAM["chartValues"]
    values = one(controller, HELM_RELEASE, "addons-karpenter").inputs["values"]
    assert set(values["settings"]) <= set(chart["settings"])
    assert set(values["serviceAccount"]) <= set(chart["serviceAccount"])
    assert set(values["controller"]) <= set(chart["controller"])
    assert chart["settings"]["batchIdleDuration"] == f"{karpenter.BATCH_IDLE_SECONDS:g}s"
