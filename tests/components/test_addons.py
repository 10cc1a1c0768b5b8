"""ClusterAddons under recording mocks: each release's chart, pinned version, namespace and
the values that matter; each controller's Pod Identity role, trust and least privilege."""

from __future__ import annotations

import json
import re
from typing import Any

import pulumi
import pytest

from components import Addon, ClusterAddons, ClusterAddonsArgs, MigConfigurationArgs, MigLayout
from components import addons as addons_module
from facts.resource_types import CONFIG_MAP
from facts.resource_types import HELM_RELEASE as RELEASE
from facts.resource_types import IAM_ROLE as ROLE
from facts.resource_types import IAM_ROLE_POLICY as POLICY
from facts.resource_types import POD_IDENTITY_ASSOCIATION as ASSOCIATION
from infra.offline.manifests import manifest
from infra.offline.mocks import Registration
from tests.components.builders import addon_args
from tests.components.support import children, one, run, validate_all

ACCOUNT = "123456789012"
OFF = Addon(enabled=False)


def build(args: ClusterAddonsArgs) -> list[Registration]:
    return run(lambda: ClusterAddons("addons", args).readiness)


def release(registrations: list[Registration], addon: str) -> dict[str, Any]:
    return one(registrations, RELEASE, f"addons-{addon}").inputs


def policy(registrations: list[Registration], addon: str) -> list[dict[str, Any]]:
    found = one(registrations, POLICY, f"addons-{addon}-policy").inputs["policy"]
    return list(json.loads(found)["Statement"])


@pytest.fixture(scope="module")
def everything() -> list[Registration]:
    mig = MigConfigurationArgs(
        layouts={"mid-tier": MigLayout(gpu="a100-80gb", layout={"3g.40gb": 2})}
    )
    return build(addon_args(mig=mig))


def test_each_add_on_is_a_pinned_release_in_its_namespace(everything: list[Registration]) -> None:
    found = {
        r.name: (r.inputs["chart"], r.inputs["version"], r.inputs["repositoryOpts"]["repo"],
                 r.inputs["namespace"])
        for r in children(everything, addons_module.TYPE) if r.type == RELEASE
    }  # fmt: skip
    assert found == {
        "addons-gpu-operator": ("gpu-operator", "v25.10.1", "https://helm.ngc.nvidia.com/nvidia",
                                "gpu-operator"),
        "addons-keda": ("keda", "2.18.3", "https://kedacore.github.io/charts", "keda"),
        "addons-load-balancer-controller": ("aws-load-balancer-controller", "1.14.0",
                                            "https://aws.github.io/eks-charts", "kube-system"),
        "addons-cluster-autoscaler": ("cluster-autoscaler", "9.58.0",
                                      "https://kubernetes.github.io/autoscaler", "kube-system"),
        "addons-prometheus": ("kube-prometheus-stack", "81.2.2",
                              "https://prometheus-community.github.io/helm-charts", "monitoring"),
    }  # fmt: skip


def test_gpu_operator_uses_the_amis_driver_and_the_fleets_mig_config(
    everything: list[Registration],
) -> None:
    values = release(everything, "gpu-operator")["values"]
    assert values["driver"] == {"enabled": False}
    assert values["toolkit"] == {"enabled": False}
    assert values["mig"] == {"strategy": "mixed"}
    assert values["migManager"] == {
        "enabled": True,
        "config": {
            "create": False,
            "name": "agentfleet-mig-parted-config",
            "default": "all-disabled",
        },
    }
    assert values["dcgmExporter"]["serviceMonitor"] == {"enabled": True}
    config_map = manifest(one(everything, "kubernetes:core/v1:ConfigMap", "mig-config"))
    assert config_map["metadata"]["namespace"] == "gpu-operator"
    namespace = manifest(one(everything, "kubernetes:core/v1:Namespace",
                             "addons-gpu-operator-namespace"))  # fmt: skip
    assert namespace["metadata"]["name"] == "gpu-operator"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
    # The operator starts only once its MIG config map is there, in its own namespace.
    gpu = one(everything, RELEASE, "addons-gpu-operator")
    assert one(everything, "kubernetes:core/v1:ConfigMap", "mig-config").urn in gpu.dependencies
    config = one(everything, "kubernetes:core/v1:ConfigMap", "mig-config")
    assert one(everything, "kubernetes:core/v1:Namespace",
               "addons-gpu-operator-namespace").urn in config.dependencies  # fmt: skip
    validate_all(everything)


def test_without_mig_tiers_the_mig_manager_keeps_its_own_config() -> None:
    values = release(build(addon_args()), "gpu-operator")["values"]
    assert values["migManager"] == {"enabled": True}


def test_cluster_autoscaler_discovers_the_clusters_groups_and_spares_gpu_nodes(
    everything: list[Registration],
) -> None:
    values = release(everything, "cluster-autoscaler")["values"]
    assert values["autoDiscovery"] == {
        "clusterName": "agents-prod",
        "tags": ["k8s.io/cluster-autoscaler/enabled", "k8s.io/cluster-autoscaler/agents-prod"],
    }
    assert values["awsRegion"] == "us-east-1"
    assert values["rbac"]["serviceAccount"] == {"create": True, "name": "cluster-autoscaler"}
    assert values["extraArgs"] == {
        "scale-down-unneeded-time": "15m",
        "scale-down-delay-after-add": "15m",
        "max-node-provision-time": "15m",
        "skip-nodes-with-local-storage": "false",
        "balance-similar-node-groups": "true",
        "expander": "least-waste",
    }


def test_keda_and_the_load_balancer_controller_values(everything: list[Registration]) -> None:
    keda = release(everything, "keda")
    assert keda["values"]["serviceAccount"]["operator"] == {"create": True, "name": "keda-operator"}
    assert keda["values"]["podIdentity"] == {"aws": {"irsa": {"enabled": False}}}
    assert keda["createNamespace"] is True
    lbc = release(everything, "load-balancer-controller")["values"]
    assert (lbc["clusterName"], lbc["region"], lbc["vpcId"]) == (
        "agents-prod", "us-east-1", "vpc-0123456789abcdef0")  # fmt: skip
    assert lbc["serviceAccount"] == {"create": True, "name": "aws-load-balancer-controller"}
    assert lbc["enableServiceMutatorWebhook"] is False
    prometheus = release(everything, "prometheus")["values"]
    spec = prometheus["prometheus"]["prometheusSpec"]
    assert spec["ruleSelectorNilUsesHelmValues"] is False
    assert spec["ruleSelector"] == {}
    assert prometheus["fullnameOverride"] == "agentfleet"


@pytest.mark.parametrize(
    ("addon", "namespace", "account"),
    [
        ("keda", "keda", "keda-operator"),
        ("load-balancer-controller", "kube-system", "aws-load-balancer-controller"),
        ("cluster-autoscaler", "kube-system", "cluster-autoscaler"),
    ],
)
def test_each_controller_gets_a_pod_identity_role(
    everything: list[Registration], addon: str, namespace: str, account: str
) -> None:
    role = one(everything, ROLE, f"addons-{addon}-role")
    assert json.loads(role.inputs["assumeRolePolicy"])["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "pods.eks.amazonaws.com"},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
            "Condition": {
                "StringEquals": {
                    "aws:RequestTag/eks-cluster-name": "agents-prod",
                    "aws:RequestTag/kubernetes-namespace": namespace,
                    "aws:RequestTag/kubernetes-service-account": account,
                }
            },
        }
    ]
    association = one(everything, ASSOCIATION, f"addons-{addon}-pod-identity").inputs
    where = (association["clusterName"], association["namespace"], association["serviceAccount"])
    assert where == ("agents-prod", namespace, account)
    assert association["roleArn"] == f"arn:aws:iam::{ACCOUNT}:role/addons-{addon}-role"
    # The release starts once its pods will get the role's credentials.
    identity = one(everything, ASSOCIATION, f"addons-{addon}-pod-identity")
    assert identity.urn in one(everything, RELEASE, f"addons-{addon}").dependencies


def test_keda_may_only_assume_the_clusters_queue_readers(everything: list[Registration]) -> None:
    assert policy(everything, "keda") == [
        {
            "Sid": "AssumeQueueReaders",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": f"arn:aws:iam::{ACCOUNT}:role/agentfleet/agents-prod/keda/*",
        }
    ]


def test_load_balancer_controller_is_limited_to_target_group_bindings(
    everything: list[Registration],
) -> None:
    describe, register, security_groups = policy(everything, "load-balancer-controller")
    assert all(action.split(":")[1].startswith("Describe") for action in describe["Action"])
    assert register["Action"] == [
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
    ]
    assert register["Condition"] == {
        "StringEquals": {"aws:ResourceTag/agentfleet.io/role": "load-balancer"}
    }
    assert security_groups["Condition"] == {
        "ArnEquals": {"ec2:Vpc": f"arn:aws:ec2:us-east-1:{ACCOUNT}:vpc/vpc-0123456789abcdef0"}
    }
    every_action = [a for s in (describe, register, security_groups) for a in s["Action"]]
    assert not [a for a in every_action if a.startswith(("iam:", "wafv2:", "shield:", "acm:"))]
    assert "elasticloadbalancing:CreateLoadBalancer" not in every_action


def test_cluster_autoscaler_resizes_only_its_clusters_groups(
    everything: list[Registration],
) -> None:
    describe, node_groups, resize = policy(everything, "cluster-autoscaler")
    assert all(":Describe" in a or ":Get" in a for a in describe["Action"])
    assert node_groups["Resource"] == f"arn:aws:eks:us-east-1:{ACCOUNT}:nodegroup/agents-prod/*/*"
    assert resize["Action"] == [
        "autoscaling:SetDesiredCapacity",
        "autoscaling:TerminateInstanceInAutoScalingGroup",
    ]
    assert resize["Condition"] == {
        "StringEquals": {"aws:ResourceTag/k8s.io/cluster-autoscaler/agents-prod": "owned"}
    }


def test_an_add_on_the_cluster_already_runs_is_left_out() -> None:
    registrations = build(addon_args(keda=OFF, prometheus=OFF))
    releases = {r.name for r in registrations if r.type == RELEASE}
    assert releases == {
        "addons-gpu-operator",
        "addons-load-balancer-controller",
        "addons-cluster-autoscaler",
    }
    assert not [r for r in registrations if r.name.startswith("addons-keda")]
    values = release(registrations, "gpu-operator")["values"]
    assert values["dcgmExporter"]["serviceMonitor"] == {"enabled": False}


def test_nothing_at_all_when_every_add_on_is_off() -> None:
    registrations = build(
        addon_args(gpu_operator=OFF, keda=OFF, load_balancer_controller=OFF,
                   cluster_autoscaler=OFF, prometheus=OFF)
    )  # fmt: skip
    assert children(registrations, addons_module.TYPE) == []


def test_a_chart_version_can_be_set() -> None:
    registrations = build(addon_args(keda=Addon(version="2.19.0")))
    assert release(registrations, "keda")["version"] == "2.19.0"


@pytest.mark.parametrize(
    ("version", "tag"),
    [("1.33", "v1.33.5"), ("1.34", "v1.34.4"), ("1.35", "v1.35.1"), ("1.34.2", "v1.34.4")],
)
def test_cluster_autoscaler_runs_the_release_of_the_clusters_minor(version: str, tag: str) -> None:
    """Upstream supports a cluster autoscaler only on the Kubernetes minor it was built
    for; the chart's default image follows the newest minor instead."""
    values = release(build(addon_args(kubernetes_version=version)), "cluster-autoscaler")["values"]
    assert values["image"] == {"tag": tag}
    assert tag.removeprefix("v").startswith(".".join(version.split(".")[:2]) + ".")


def test_an_unsupported_minor_stops_the_deployment_cleanly() -> None:
    with pytest.raises(pulumi.RunError, match=r"runs Kubernetes 1\.31; .* supports 1\.33, 1\.34"):
        addons_module.cluster_autoscaler_image_tag("1.31")


def test_without_a_version_the_chart_picks_the_image() -> None:
    values = release(build(addon_args()), "cluster-autoscaler")["values"]
    assert "image" not in values


def test_burst_tiers_get_the_priority_expander() -> None:
    """Spot burst groups first (priority 50), every other group after (10); the expander
    chain falls back to least-waste among equals."""
    registrations = run(
        lambda: ClusterAddons("addons", addon_args(burst_tiers=("orchestrator",))).readiness
    )
    values = release(registrations, "cluster-autoscaler")["values"]
    assert values["extraArgs"]["expander"] == "priority,least-waste"
    config_map = manifest(one(registrations, CONFIG_MAP, "addons-priority-expander"))
    assert config_map["metadata"] == {
        "name": "cluster-autoscaler-priority-expander",
        "namespace": "kube-system",
    }
    priorities = config_map["data"]["priorities"]
    assert priorities == "50:\n  - ^eks-orchestrator-burst-nodes-[0-9a-f]+-.*\n10:\n  - .*\n"
    pattern = re.compile(addons_module.burst_group_pattern("orchestrator"))
    # EKS's Auto Scaling group of a managed node group named as pulumi-aws autonames it
    assert pattern.match(
        "eks-orchestrator-burst-nodes-1a2b3c4-8ec6b1b0-0f4e-4f4a-9c1d-1d2e3f4a5b6c"
    )
    assert not pattern.match("eks-orchestrator-nodes-1a2b3c4-8ec6b1b0-0f4e-4f4a-9c1d-1d2e3f4a5b6c")
    validate_all(registrations)


def test_no_burst_no_priority_expander(everything: list[Registration]) -> None:
    assert not [r for r in everything if r.type == CONFIG_MAP and "priority" in r.name]
