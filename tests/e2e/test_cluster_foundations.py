"""The whole program with cluster add-ons and a new cluster: what waits for what, so one
`pulumi up` on a bare cluster (or on no cluster at all) works; and the program with every
add-on off, for a cluster that already runs them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from pulumi.runtime import config as runtime_config

from infra.offline.mocks import Registration, run_program
from tests.components.support import validate_all
from tests.helpers import stack_values

RELEASE = "kubernetes:helm.sh/v3:Release"
ADDONS = ("gpuOperator", "keda", "loadBalancerController", "clusterAutoscaler", "prometheus")


@pytest.fixture(autouse=True)
def restore_config() -> Iterator[None]:
    saved = dict(runtime_config.CONFIG.get())
    yield
    runtime_config.set_all_config(saved)


def build(stack: str, values: dict[str, Any] | None = None) -> list[Registration]:
    registrations, _ = run_program(values or stack_values(stack), stack=stack)
    return registrations


def named(registrations: list[Registration], type_: str, name: str) -> Registration:
    (found,) = [r for r in registrations if r.type == type_ and r.name == name]
    return found


def all_off() -> dict[str, Any]:
    values = stack_values("prod")
    values["agentfleet:addons"] = {addon: {"enabled": False} for addon in ADDONS}
    return values


@pytest.fixture(scope="module")
def prod() -> list[Registration]:
    return build("prod")


@pytest.mark.parametrize(
    ("type_", "release"),
    [
        ("kubernetes:keda.sh/v1alpha1:ScaledObject", "addons-keda"),
        ("kubernetes:keda.sh/v1alpha1:TriggerAuthentication", "addons-keda"),
        ("kubernetes:elbv2.k8s.aws/v1beta1:TargetGroupBinding", "addons-load-balancer-controller"),
        ("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "addons-prometheus"),
        ("kubernetes:apps/v1:Deployment", "addons-gpu-operator"),
    ],
)
def test_crd_users_wait_for_the_add_on_that_installs_it(
    prod: list[Registration], type_: str, release: str
) -> None:
    users = [r for r in prod if r.type == type_]
    assert users
    urn = named(prod, RELEASE, release).urn
    assert [r.name for r in users if urn not in r.dependencies] == []


def test_keda_assumes_the_queue_readers_through_its_own_role(prod: list[Registration]) -> None:
    reader = named(prod, "aws:iam/role:Role", "orchestrator-keda-role").inputs
    assert reader["path"] == "/agentfleet/agents-prod/keda/"
    trust = json.loads(reader["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/addons-keda-role"}


def test_the_installed_prometheus_feeds_the_user_facing_scaler(prod: list[Registration]) -> None:
    scaled = named(prod, "kubernetes:keda.sh/v1alpha1:ScaledObject", "orchestrator-scaled-object")
    (prometheus,) = [t for t in scaled.inputs["spec"]["triggers"] if t["type"] == "prometheus"]
    assert (
        prometheus["metadata"]["serverAddress"]
        == "http://agentfleet-prometheus.monitoring.svc:9090"
    )


def test_with_every_add_on_off_the_fleet_still_builds() -> None:
    registrations = build("prod", all_off())
    assert [r for r in registrations if r.type == RELEASE] == []
    assert not [r for r in registrations if r.name.startswith("addons-")]
    assert validate_all(registrations) >= 20
    # Without the KEDA add-on the queue readers trust the account (or kedaOperatorRoleArn).
    reader = named(registrations, "aws:iam/role:Role", "orchestrator-keda-role").inputs
    trust = json.loads(reader["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    scaled = named(registrations, "kubernetes:keda.sh/v1alpha1:ScaledObject",
                   "orchestrator-scaled-object")  # fmt: skip
    # No Prometheus, no vLLM waiting-queue trigger: the load, the backlog and the peak.
    assert [t["type"] for t in scaled.inputs["spec"]["triggers"]] == [
        "aws-sqs-queue",
        "aws-sqs-queue",
        "cron",
    ]


def test_mig_config_without_the_gpu_operator_add_on_stays_where_the_operator_is() -> None:
    values = stack_values("staging")
    values["agentfleet:addons"] = {"gpuOperator": {"enabled": False}}
    registrations = build("staging", values)
    config_map = named(registrations, "kubernetes:core/v1:ConfigMap", "mig-config")
    assert config_map.inputs["metadata"]["namespace"] == "gpu-operator"
    assert "ClusterAddons" not in config_map.urn  # the program's own, not the add-on's


@pytest.fixture(scope="module")
def sandbox() -> list[Registration]:
    return build("sandbox")


def test_everything_on_a_new_cluster_waits_for_it(sandbox: list[Registration]) -> None:
    cluster = next(r for r in sandbox if r.type == "aws:eks/cluster:Cluster")
    outside = [
        r
        for r in sandbox
        if r.custom
        and "FleetCluster" not in r.urn
        and not r.type.startswith("pulumi:providers:aws")
    ]
    assert len(outside) > 40
    assert [r.name for r in outside if cluster.urn not in r.dependencies] == []


def test_the_tiers_build_into_the_new_cluster(sandbox: list[Registration]) -> None:
    nodes = named(sandbox, "aws:eks/nodeGroup:NodeGroup", "assistant-nodes").inputs
    system = named(sandbox, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes").inputs
    assert nodes["clusterName"] == "agents-sandbox"
    assert nodes["nodeRoleArn"] == system["nodeRoleArn"]
    assert sorted(nodes["subnetIds"]) == sorted(system["subnetIds"])
    validate_all(sandbox)
