"""The cluster section for a new cluster (create: true), and the add-ons section."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, parse_stack_config
from tests.helpers import stack_values

CLUSTER = "agentfleet:cluster"


def with_cluster(stack: str, **changes: Any) -> dict[str, Any]:
    values = stack_values(stack)
    for key, value in changes.items():
        if value is None:
            values[CLUSTER].pop(key, None)
        else:
            values[CLUSTER][key] = value
    return values


def problems(values: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    return raised.value.problems


def test_a_new_cluster_needs_only_a_name() -> None:
    values = stack_values("sandbox")
    values[CLUSTER] = {"name": "agents-lab", "create": True}
    cluster = parse_stack_config(values).cluster
    assert cluster.create is True
    assert cluster.vpc_id is None
    assert cluster.nodes.min_size == 2


AUTOSCALER_PAIRING = (
    "the cluster autoscaler add-on runs the release of the cluster's minor and has one for "
    "1.33, 1.34, 1.35; choose one of them, or turn the add-on off "
    "(agentfleet:addons.clusterAutoscaler.enabled: false)"
)


@pytest.mark.parametrize(
    ("stack", "changes", "where", "reason"),
    [
        ("sandbox", {"vpcId": "vpc-0123456789abcdef0"}, "vpcId",
         "a new cluster (create: true) makes its own; remove it"),
        ("sandbox", {"nodeRoleArn": "arn:aws:iam::123456789012:role/nodes"}, "nodeRoleArn",
         "a new cluster (create: true) makes its own; remove it"),
        ("prod", {"subnetIds": None}, "subnetIds",
         "required for an existing cluster (or set create: true)"),
        ("prod", {"publicAccessCidrs": ["10.0.0.0/8"]}, "publicAccessCidrs",
         "only for a new cluster (create: true)"),
        ("sandbox", {"loadBalancerSubnetIds": ["subnet-0a", "subnet-0b"]},
         "loadBalancerSubnetIds", "a new cluster (create: true) makes its own; remove it"),
        ("prod", {"loadBalancerSubnetIds": ["subnet-0a"]}, "loadBalancerSubnetIds",
         "list should have at least 2 items after validation, not 1 (got [\"subnet-0a\"])"),
        ("prod", {"loadBalancerSubnetIds": ["subnet-0a", "subnet-0a"]}, "loadBalancerSubnetIds",
         "subnet listed twice: subnet-0a"),
        ("sandbox", {"availabilityZones": 1}, "availabilityZones",
         "input should be greater than or equal to 2 (got 1)"),
        ("sandbox", {"vpcCidr": "10.0.0.0/24"}, "vpcCidr",
         "10.0.0.0/24: a VPC for a fleet needs a /16 to /20 range"),
        ("sandbox", {"vpcCidr": "10.0.0.1/16"}, "vpcCidr",
         "10.0.0.1/16: 10.0.0.1/16 has host bits set"),
        ("sandbox", {"kubernetesVersion": "latest"}, "kubernetesVersion",
         "string should match pattern '^1\\.\\d{2}$' (got 'latest')"),
        ("sandbox", {"systemNodes": {"minSize": 5, "maxSize": 3}}, "systemNodes.minSize",
         "5 is above maxSize (3)"),
        ("sandbox", {"kubernetesVersion": "1.31"}, "kubernetesVersion", AUTOSCALER_PAIRING),
        ("prod", {"kubernetesVersion": "1.36"}, "kubernetesVersion", AUTOSCALER_PAIRING),
    ],
)  # fmt: skip
def test_cluster_keys_of_the_other_kind_are_refused(
    stack: str, changes: dict[str, Any], where: str, reason: str
) -> None:
    assert problems(with_cluster(stack, **changes)) == ((f"{CLUSTER}.{where}", reason),)


def test_add_ons_default_on_and_can_be_turned_off() -> None:
    values = stack_values("prod")
    addons = parse_stack_config(values).addons
    assert all(
        getattr(addons, name).enabled
        for name in ("gpu_operator", "keda", "load_balancer_controller", "cluster_autoscaler",
                     "prometheus")
    )  # fmt: skip
    values["agentfleet:addons"] = {"keda": {"enabled": False}, "prometheus": {"version": "82.0.0"}}
    addons = parse_stack_config(values).addons
    assert addons.keda.enabled is False
    assert addons.prometheus.version == "82.0.0"


def test_unknown_add_on_is_refused_with_the_known_ones() -> None:
    values = stack_values("prod")
    values["agentfleet:addons"] = {"istio": {"enabled": True}}
    assert problems(values) == (
        ("agentfleet:addons.istio", "unknown key; allowed here: gpuOperator, keda, "
         "loadBalancerController, clusterAutoscaler, karpenter, prometheus"),
    )  # fmt: skip


def test_an_existing_cluster_may_name_its_version() -> None:
    values = stack_values("prod")
    values["agentfleet:cluster"]["kubernetesVersion"] = "1.33"
    assert parse_stack_config(values).cluster.kubernetes_version == "1.33"


def test_any_version_without_the_autoscaler_add_on() -> None:
    values = stack_values("sandbox")
    values["agentfleet:cluster"]["kubernetesVersion"] = "1.31"
    values.setdefault("agentfleet:addons", {})["clusterAutoscaler"] = {"enabled": False}
    assert parse_stack_config(values).cluster.kubernetes_version == "1.31"


def test_the_node_provisioner_is_the_cluster_autoscaler_unless_karpenter() -> None:
    assert parse_stack_config(stack_values("prod")).cluster.node_provisioner == (
        "cluster-autoscaler"
    )
    values = with_cluster("prod", nodeProvisioner="karpenter")
    assert parse_stack_config(values).cluster.node_provisioner == "karpenter"
    values = with_cluster("prod", nodeProvisioner="keda")
    ((key, reason),) = problems(values)
    assert key == "agentfleet:cluster.nodeProvisioner"
    assert "'cluster-autoscaler' or 'karpenter'" in reason


def test_karpenter_refuses_a_mig_tier_at_its_mig_key() -> None:
    values = with_cluster("staging", nodeProvisioner="karpenter")
    ((key, reason),) = problems(values)
    (mig_tier,) = [
        name for name, tier in values["agentfleet:fleet"]["tiers"].items() if tier.get("mig")
    ]
    assert key == f"agentfleet:fleet.tiers.{mig_tier}.mig"
    assert reason.startswith("Karpenter cannot provision MIG nodes")


def test_under_karpenter_the_autoscaler_pins_no_version() -> None:
    """The cluster autoscaler is not installed beside Karpenter: no version pairing."""
    values = with_cluster("prod", nodeProvisioner="karpenter", kubernetesVersion="1.31")
    assert parse_stack_config(values).cluster.kubernetes_version == "1.31"
    assert problems(with_cluster("prod", kubernetesVersion="1.31"))


def test_the_ami_release_is_karpenters_to_pin() -> None:
    values = with_cluster("prod", nodeProvisioner="karpenter", amiRelease="v20251209")
    assert parse_stack_config(values).cluster.ami_release == "v20251209"
    ((key, reason),) = problems(with_cluster("prod", amiRelease="v20251209"))
    assert key == "agentfleet:cluster.amiRelease"
    assert reason.startswith("only with nodeProvisioner: karpenter")
    values = with_cluster("prod", nodeProvisioner="karpenter", amiRelease="2025-12-09")
    ((key, _),) = problems(values)
    assert key == "agentfleet:cluster.amiRelease"
