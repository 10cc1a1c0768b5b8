"""GpuNodePool under recording mocks: the node group and its autoscaler tags, exactly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from components import GpuNodePool, GpuNodePoolArgs
from components.node_pool import TYPE
from facts.resource_types import AUTOSCALING_TAG as ASG_TAG
from facts.resource_types import NODE_GROUP
from infra.offline.mocks import Registration, digest
from tests.components.builders import node_pool_args as pool_args
from tests.components.support import children, one, run


def build(args: GpuNodePoolArgs) -> list[Registration]:
    return run(lambda: GpuNodePool(args.tier, args).autoscaling_group_name)


def test_orchestrator_node_group() -> None:
    registrations = build(pool_args("prod", "orchestrator"))
    node_group = one(registrations, NODE_GROUP, "orchestrator-nodes")
    assert node_group.parent_type == TYPE
    inputs = node_group.inputs
    assert inputs["clusterName"] == "agents-prod"
    assert inputs["nodeRoleArn"] == "arn:aws:iam::123456789012:role/agents-prod-nodes"
    assert inputs["subnetIds"] == [
        "subnet-0a1b2c3d4e5f60001",
        "subnet-0a1b2c3d4e5f60002",
        "subnet-0a1b2c3d4e5f60003",
    ]
    assert inputs["amiType"] == "AL2023_x86_64_NVIDIA"
    assert inputs["instanceTypes"] == ["p5.4xlarge"]
    assert inputs["capacityType"] == "ON_DEMAND"
    assert inputs["diskSize"] == 200.0
    assert inputs["scalingConfig"] == {"minSize": 2.0, "maxSize": 8.0, "desiredSize": 2.0}
    assert inputs["updateConfig"] == {"maxUnavailable": 1.0}
    assert inputs["taints"] == [{"key": "nvidia.com/gpu", "value": "true", "effect": "NO_SCHEDULE"}]
    labels = {
        "agentfleet.io/tier": "orchestrator",
        "agentfleet.io/role": "inference",
        "agentfleet.io/user-facing": "true",
        "agentfleet.io/node-class": "gpu",
        "agentfleet.io/gpu": "h100-pcie",
        "agentfleet.io/latency-class": "ttft-first",
        "agentfleet.io/capacity": "on-demand",
        # The cluster autoscaler's AWS provider (cloudprovider/aws, GPULabel): a node with
        # it and no GPUs advertised yet is a GPU node starting, not one that lacks GPUs.
        "k8s.amazonaws.com/accelerator": "nvidia-h100",
    }
    assert inputs["labels"] == labels
    template = "k8s.io/cluster-autoscaler/node-template"
    autoscaler = {
        "k8s.io/cluster-autoscaler/enabled": "true",
        "k8s.io/cluster-autoscaler/agents-prod": "owned",
        f"{template}/taint/nvidia.com/gpu": "true:NoSchedule",
        f"{template}/resources/nvidia.com/gpu": "1",
        **{f"{template}/label/{key}": value for key, value in labels.items()},
    }
    assert inputs["tags"] == {
        "agentfleet.io/tier": "orchestrator",
        "agentfleet.io/environment": "prod",
        "agentfleet.io/cost-center": "agentfleet",
        "agentfleet.io/role": "node-pool",
        "agentfleet.io/user-facing": "true",
        "agentfleet.io/capacity": "on-demand",
        "agentfleet.io/gpu": "h100-pcie",
        "agentfleet.io/latency-class": "ttft-first",
        **autoscaler,
    }
    # On the Auto Scaling group itself: what the autoscaler cannot read from the EKS API
    # (the GPU resources), the taint, and the label pods select on.
    asg_tags = [r for r in registrations if r.type == ASG_TAG]
    assert {r.inputs["tag"]["key"]: r.inputs["tag"]["value"] for r in asg_tags} == {
        f"{template}/taint/nvidia.com/gpu": "true:NoSchedule",
        f"{template}/resources/nvidia.com/gpu": "1",
        f"{template}/label/agentfleet.io/tier": "orchestrator",
        f"{template}/label/k8s.amazonaws.com/accelerator": "nvidia-h100",
    }
    # The group EKS made for the node group (the offline mocks name it eks-<group>-asg).
    assert {tag.inputs["autoscalingGroupName"] for tag in asg_tags} == {
        f"eks-{node_group.name}-{digest(node_group.name)}-asg"
    }
    for tag in asg_tags:
        assert tag.parent_type == TYPE
        assert tag.inputs["tag"]["propagateAtLaunch"] is False
        assert tag.name == "orchestrator-asg-" + tag.inputs["tag"]["key"].removeprefix(
            "k8s.io/cluster-autoscaler/"
        )
    assert [r.type for r in children(registrations, TYPE)].count(NODE_GROUP) == 1
    assert len(children(registrations, TYPE)) == 1 + 4


def test_mig_pool_advertises_slices_for_scale_from_zero() -> None:
    registrations = build(pool_args("staging", "mid-tier"))
    inputs = one(registrations, NODE_GROUP, "mid-tier-nodes").inputs
    assert inputs["labels"]["nvidia.com/mig.config"] == "agentfleet-mid-tier"
    assert inputs["instanceTypes"] == ["p4de.24xlarge"]
    assert inputs["scalingConfig"] == {"minSize": 0.0, "maxSize": 1.0, "desiredSize": 0.0}
    template = "k8s.io/cluster-autoscaler/node-template"
    tags = {r.inputs["tag"]["key"]: r.inputs["tag"]["value"] for r in registrations
            if r.type == ASG_TAG}  # fmt: skip
    # 8 GPUs per p4de.24xlarge x 2 3g.40gb instances each; no whole GPUs are left.
    assert tags[f"{template}/resources/nvidia.com/mig-3g.40gb"] == "16"
    assert f"{template}/resources/nvidia.com/gpu" not in tags
    assert tags[f"{template}/label/nvidia.com/mig.config"] == "agentfleet-mid-tier"


def test_spot_capacity() -> None:
    args = pool_args("prod", "mid-tier", capacity="spot")
    inputs = one(build(args), NODE_GROUP, "mid-tier-nodes").inputs
    assert inputs["capacityType"] == "SPOT"
    assert inputs["labels"]["agentfleet.io/capacity"] == "spot"


def test_args_are_validated() -> None:
    base = pool_args("prod", "orchestrator").model_dump()
    with pytest.raises(ValidationError, match=r"min_size \(9\) is above max_size \(8\)"):
        GpuNodePoolArgs(**{**base, "min_size": 9})
    with pytest.raises(ValidationError, match="set both or neither"):
        GpuNodePoolArgs(**{**base, "mig_config": "agentfleet-orchestrator"})
    with pytest.raises(ValidationError, match="needs 8 compute slices"):
        GpuNodePoolArgs(
            **{
                **base,
                "mig_config": "x",
                "mig_layout": {"gpu": "h100-pcie", "layout": {"4g.40gb": 2}},
            }
        )
    with pytest.raises(ValidationError, match="mig_layout is for a100-80gb; the nodes carry"):
        GpuNodePoolArgs(
            **{
                **base,
                "mig_config": "x",
                "mig_layout": {"gpu": "a100-80gb", "layout": {"7g.80gb": 1}},
            }
        )
    with pytest.raises(ValidationError, match=r"g6e\.2xlarge does not carry h100-pcie"):
        GpuNodePoolArgs(**{**base, "instance_type": "g6e.2xlarge"})
    with pytest.raises(ValidationError, match="frozen"):
        pool_args("prod", "orchestrator").min_size = 0  # type: ignore[misc]


def test_whole_gpu_tiers_have_no_mig() -> None:
    args = pool_args("prod", "lightweight")
    assert (args.mig_config, args.mig_layout) == (None, None)
    assert args.node_resources() == {"nvidia.com/gpu": 1}
