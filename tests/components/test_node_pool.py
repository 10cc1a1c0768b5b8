"""GpuNodePool under recording mocks: the node group and its autoscaler tags, exactly."""

from __future__ import annotations

import base64
import email
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from components import CapacityReservation, GpuNodePool, GpuNodePoolArgs
from components.node_pool import TYPE
from facts.resource_types import AUTOSCALING_TAG as ASG_TAG
from facts.resource_types import LAUNCH_TEMPLATE, NODE_GROUP
from infra.offline.mocks import Registration, digest, run_program
from tests.components.builders import node_pool_args as pool_args
from tests.components.support import children, one, run
from tests.helpers import stack_values


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
    # With a launch template EKS refuses diskSize on the node group: the template sizes it.
    assert "diskSize" not in inputs
    template_id = one(registrations, LAUNCH_TEMPLATE, "orchestrator-launch-template")
    assert inputs["launchTemplate"] == {
        "id": f"lt-{digest('orchestrator-launch-template', length=17)}",
        "version": "1",
    }
    assert template_id.parent_type == TYPE
    assert inputs["scalingConfig"] == {"minSize": 2.0, "maxSize": 11.0, "desiredSize": 2.0}
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
        # The prices the plan used (AWS's, us-east-1), for K2's policy.
        "agentfleet.io/on-demand-usd-per-gpu-hour": "6.88",
        "agentfleet.io/spot-usd-per-gpu-hour": "none",
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
    assert len(children(registrations, TYPE)) == 1 + 1 + 4  # the launch template, the tags


def test_mig_pool_advertises_slices_for_scale_from_zero() -> None:
    registrations = build(pool_args("staging", "mid-tier"))
    inputs = one(registrations, NODE_GROUP, "mid-tier-nodes").inputs
    assert inputs["labels"]["nvidia.com/mig.config"] == "agentfleet-mid-tier"
    assert inputs["instanceTypes"] == ["p4de.24xlarge"]
    assert inputs["scalingConfig"] == {"minSize": 0.0, "maxSize": 2.0, "desiredSize": 0.0}
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
    with pytest.raises(ValidationError, match=r"min_size \(12\) is above max_size \(11\)"):
        GpuNodePoolArgs(**{**base, "min_size": 12})
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


def user_data_node_configs(encoded: str) -> list[dict[str, Any]]:
    """The NodeConfig documents nodeadm would read: the MIME parts of type
    application/node.eks.aws (it merges them with the one EKS writes)."""
    message = email.message_from_bytes(base64.b64decode(encoded))
    assert message.is_multipart()
    return [
        yaml.safe_load(str(part.get_payload()))
        for part in message.walk()
        if part.get_content_type() == "application/node.eks.aws"
    ]


def test_launch_template_tags_what_the_bill_is_for() -> None:
    """EKS copies a node group's tags to neither its instances nor their volumes (EKS API,
    Nodegroup.tags): the launch template's tag specifications put the tier's cost tags on
    the instances, volumes and network interfaces as they launch."""
    registrations = build(pool_args("prod", "lightweight"))
    template = one(registrations, LAUNCH_TEMPLATE, "lightweight-launch-template").inputs
    specs = {spec["resourceType"]: spec["tags"] for spec in template["tagSpecifications"]}
    assert set(specs) == {"instance", "volume", "network-interface"}
    for tags in specs.values():
        assert tags["agentfleet.io/tier"] == "lightweight"
        assert tags["agentfleet.io/environment"] == "prod"
        assert tags["agentfleet.io/cost-center"] == "agentfleet"
        assert tags["Name"] == "agents-prod-lightweight-gpu"
    assert template["metadataOptions"]["httpTokens"] == "required"
    assert "instanceType" not in template  # the node group names it (EKS refuses both)
    assert "imageId" not in template  # amiType picks the NVIDIA AMI and EKS merges user data


def test_root_volume_and_instance_store() -> None:
    registrations = build(pool_args("prod", "mid-tier"))
    template = one(registrations, LAUNCH_TEMPLATE, "mid-tier-launch-template").inputs
    (root,) = template["blockDeviceMappings"]
    assert root["deviceName"] == "/dev/xvda"
    assert root["ebs"] == {
        "volumeSize": 100.0,
        "volumeType": "gp3",
        "encrypted": "true",
        "deleteOnTermination": "true",
    }
    (config,) = user_data_node_configs(template["userData"])
    assert config["apiVersion"] == "node.eks.aws/v1alpha1"
    assert config["kind"] == "NodeConfig"
    assert config["spec"] == {"instance": {"localStorage": {"strategy": "RAID0"}}}


def test_no_instance_store_no_user_data() -> None:
    registrations = build(pool_args("prod", "mid-tier", instance_store=False, disk_size_gib=700))
    template = one(registrations, LAUNCH_TEMPLATE, "mid-tier-launch-template").inputs
    assert "userData" not in template
    assert template["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 700.0


def test_a_capacity_block_is_launched_into_and_tagged() -> None:
    """EKS's recipe for a managed node group on a Capacity Block for ML: the launch template
    targets the block (CapacityReservationTarget) with market type capacity-block, the node
    group's capacity type is CAPACITY_BLOCK, and its subnets are the block's zone's."""
    block = CapacityReservation(
        kind="capacity-block",
        id="cr-0123456789abcdef0",
        ends_at="2026-12-20T11:30:00+00:00",
        subnet_ids=("subnet-0a1b2c3d4e5f60002",),
    )
    registrations = build(
        pool_args("prod", "orchestrator").model_copy(update={"reservation": block})
    )
    template = one(registrations, LAUNCH_TEMPLATE, "orchestrator-launch-template").inputs
    assert template["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}
    }
    assert template["instanceMarketOptions"] == {"marketType": "capacity-block"}
    nodes = one(registrations, NODE_GROUP, "orchestrator-nodes").inputs
    assert nodes["capacityType"] == "CAPACITY_BLOCK"
    assert nodes["subnetIds"] == ["subnet-0a1b2c3d4e5f60002"]
    assert {k: v for k, v in nodes["tags"].items() if "capacity-" in k} == {
        "agentfleet.io/capacity-reservation": "cr-0123456789abcdef0",
        "agentfleet.io/capacity-reservation-kind": "capacity-block",
        "agentfleet.io/capacity-block-ends": "2026-12-20T11:30:00+00:00",
    }


def test_a_capacity_reservation_stays_on_demand() -> None:
    """A component user who names no zone's subnets gets the node group's own."""
    odcr = CapacityReservation(kind="capacity-reservation", id="cr-0123456789abcdef0")
    registrations = build(
        pool_args("prod", "orchestrator").model_copy(update={"reservation": odcr})
    )
    template = one(registrations, LAUNCH_TEMPLATE, "orchestrator-launch-template").inputs
    assert template["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}
    }
    assert "instanceMarketOptions" not in template
    nodes = one(registrations, NODE_GROUP, "orchestrator-nodes").inputs
    assert nodes["capacityType"] == "ON_DEMAND"
    assert len(nodes["subnetIds"]) == 3


def test_pods_cannot_reach_the_nodes_credentials_and_need_not() -> None:
    """IMDSv2's token comes back with the launch template's hop limit as its IP TTL: at 1
    it dies crossing a pod's veth, so no pod (an MCP server runs the user's image) gets the
    node role. What calls AWS from a pod is told its region (and VPC) instead of asking
    the instance metadata."""
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    templates = [r for r in registrations if r.type == "aws:ec2/launchTemplate:LaunchTemplate"]
    assert templates
    for template in templates:
        options = template.inputs["metadataOptions"]
        assert (options["httpTokens"], options["httpPutResponseHopLimit"]) == ("required", 1)
    releases = {
        r.inputs["chart"]: r.inputs["values"]
        for r in registrations
        if r.type == "kubernetes:helm.sh/v3:Release"
    }
    assert releases["aws-load-balancer-controller"]["region"] == "us-east-1"
    assert releases["aws-load-balancer-controller"]["vpcId"]
    assert releases["cluster-autoscaler"]["awsRegion"] == "us-east-1"
    for deployment in (r for r in registrations if r.type == "kubernetes:apps/v1:Deployment"):
        for container in deployment.inputs["spec"]["template"]["spec"]["containers"]:
            names = {e["name"]: e.get("value") for e in container.get("env", [])}
            if container["name"] in ("queue-worker", "vllm"):  # vLLM streams from S3
                assert names["AWS_REGION"] == "us-east-1", deployment.name
