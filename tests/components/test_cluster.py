"""FleetCluster under recording mocks: the VPC over several zones, the cluster's security
settings (private endpoint, encrypted secrets, logs, access entries), its add-ons and
its CPU node group."""

from __future__ import annotations

import json
import re
from collections import Counter

import pytest

from components import FleetCluster, FleetClusterArgs, SystemNodes
from components import cluster as cluster_module
from facts.resource_types import EKS_CLUSTER as CLUSTER
from facts.resource_types import SUBNET
from infra import wiring
from infra.offline.mocks import OfflineMocks, Registration
from tests.components.builders import cluster_args, plan_of
from tests.components.support import children, one, run


def build(args: FleetClusterArgs) -> list[Registration]:
    return run(lambda: FleetCluster("cluster", args).cluster.endpoint)


@pytest.fixture(scope="module")
def default() -> list[Registration]:
    return build(cluster_args(admin_role_arns=("arn:aws:iam::123456789012:role/admins",)))


def test_resources_of_a_new_cluster(default: list[Registration]) -> None:
    types = Counter(r.type for r in children(default, cluster_module.TYPE))
    assert types == {
        "aws:ec2/vpc:Vpc": 1,
        "aws:ec2/internetGateway:InternetGateway": 1,
        SUBNET: 9,
        "aws:ec2/routeTable:RouteTable": 4,
        "aws:ec2/routeTableAssociation:RouteTableAssociation": 9,
        "aws:ec2/eip:Eip": 3,
        "aws:ec2/natGateway:NatGateway": 3,
        "aws:kms/key:Key": 1,
        "aws:kms/alias:Alias": 1,
        "aws:iam/role:Role": 3,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 4,
        "aws:cloudwatch/logGroup:LogGroup": 1,
        CLUSTER: 1,
        "aws:eks/accessEntry:AccessEntry": 1,
        "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": 1,
        "aws:eks/addon:Addon": 4,
        "aws:eks/nodeGroup:NodeGroup": 1,
        "aws:ec2/launchTemplate:LaunchTemplate": 1,
    }


def test_system_nodes_are_tagged_as_they_launch(default: list[Registration]) -> None:
    """EKS copies a node group's tags to neither its instances nor their volumes: the
    system nodes' launch template tags them, so the fleet's shared cost is attributed."""
    nodes = one(default, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes").inputs
    template = one(
        default, "aws:ec2/launchTemplate:LaunchTemplate", "cluster-system-launch-template"
    )
    assert nodes["launchTemplate"]["id"].startswith("lt-")
    assert "diskSize" not in nodes
    specs = {s["resourceType"]: s["tags"] for s in template.inputs["tagSpecifications"]}
    assert {kind: tags["agentfleet.io/tier"] for kind, tags in specs.items()} == {
        "instance": nodes["tags"]["agentfleet.io/tier"],
        "volume": nodes["tags"]["agentfleet.io/tier"],
        "network-interface": nodes["tags"]["agentfleet.io/tier"],
    }
    assert "userData" not in template.inputs


def test_private_subnets_in_every_zone_carry_the_nodes(default: list[Registration]) -> None:
    subnets = {r.name: r.inputs for r in default if r.type == SUBNET}
    private = [subnets[f"cluster-private-{i}"] for i in range(3)]
    public = [subnets[f"cluster-public-{i}"] for i in range(3)]
    assert [s["availabilityZone"] for s in private] == ["us-east-1a", "us-east-1b", "us-east-1c"]
    assert [s["cidrBlock"] for s in private] == ["10.0.0.0/19", "10.0.32.0/19", "10.0.64.0/19"]
    # No load balancer is placed among the nodes (and their pods).
    assert not any(tag.startswith("kubernetes.io/role/") for s in private for tag in s["tags"])
    assert all(s["tags"]["kubernetes.io/role/elb"] == "1" for s in public)
    assert all(s["mapPublicIpOnLaunch"] is False for s in public)
    cluster = one(default, CLUSTER, "cluster-cluster").inputs
    nodes = one(default, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes").inputs
    assert len(cluster["vpcConfig"]["subnetIds"]) == 3
    assert len(nodes["subnetIds"]) == 3
    assert sorted(cluster["vpcConfig"]["subnetIds"]) == sorted(nodes["subnetIds"])
    # Each private subnet routes out through the NAT gateway of its own zone.
    routes = one(default, "aws:ec2/routeTable:RouteTable", "cluster-private-1").inputs
    assert routes["routes"][0]["natGatewayId"].startswith("cluster-nat-1")


def test_the_cluster_is_private_encrypted_and_logged(default: list[Registration]) -> None:
    cluster = one(default, CLUSTER, "cluster-cluster")
    inputs = cluster.inputs
    assert inputs["name"] == "agents-sandbox"
    assert inputs["version"] == "1.34"
    assert inputs["vpcConfig"]["endpointPrivateAccess"] is True
    assert inputs["vpcConfig"]["endpointPublicAccess"] is False
    assert "publicAccessCidrs" not in inputs["vpcConfig"]
    key = one(default, "aws:kms/key:Key", "cluster-secrets")
    assert key.inputs["enableKeyRotation"] is True
    assert inputs["encryptionConfig"]["resources"] == ["secrets"]
    key_arn = inputs["encryptionConfig"]["provider"]["keyArn"]
    assert re.fullmatch(r"arn:aws:kms:us-east-1:123456789012:key/[0-9a-f-]{36}", key_arn)
    assert inputs["enabledClusterLogTypes"] == [
        "api", "audit", "authenticator", "controllerManager", "scheduler"]  # fmt: skip
    assert inputs["accessConfig"] == {
        "authenticationMode": "API",
        "bootstrapClusterCreatorAdminPermissions": True,
    }
    logs = one(default, "aws:cloudwatch/logGroup:LogGroup", "cluster-logs")
    assert logs.inputs["name"] == "/aws/eks/agents-sandbox/cluster"
    assert logs.urn in cluster.dependencies  # retention set before EKS makes the group


def test_public_access_only_from_the_given_cidrs() -> None:
    registrations = build(cluster_args(public_access_cidrs=("203.0.113.0/24",)))
    vpc = one(registrations, CLUSTER, "cluster-cluster").inputs["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True
    assert vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert vpc["endpointPrivateAccess"] is True


def test_admins_pod_identity_and_cpu_nodes(default: list[Registration]) -> None:
    entry = one(default, "aws:eks/accessEntry:AccessEntry", "cluster-admin-0").inputs
    assert entry["principalArn"] == "arn:aws:iam::123456789012:role/admins"
    association = one(default, "aws:eks/accessPolicyAssociation:AccessPolicyAssociation",
                      "cluster-admin-0").inputs  # fmt: skip
    assert association["policyArn"] == (
        "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy")  # fmt: skip
    assert association["accessScope"] == {"type": "cluster"}
    addons = sorted(r.inputs["addonName"] for r in default if r.type == "aws:eks/addon:Addon")
    assert addons == ["coredns", "eks-pod-identity-agent", "kube-proxy", "vpc-cni"]
    cni = one(default, "aws:eks/addon:Addon", "cluster-vpc-cni").inputs
    # NetworkPolicies are enforced only with the CNI's network policy agent on.
    assert json.loads(cni["configurationValues"]) == {"enableNetworkPolicy": "true"}
    nodes = one(default, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes").inputs
    assert nodes["instanceTypes"] == ["m7i.xlarge"]
    assert nodes["capacityType"] == "ON_DEMAND"
    assert nodes["labels"] == {"agentfleet.io/node-class": "system"}
    assert "taints" not in nodes
    assert nodes["scalingConfig"] == {"minSize": 2.0, "desiredSize": 2.0, "maxSize": 6.0}
    roles = {r.name: json.loads(r.inputs["assumeRolePolicy"]) for r in default
             if r.type == "aws:iam/role:Role"}  # fmt: skip
    assert roles["cluster-cluster-role"]["Statement"][0]["Principal"] == {
        "Service": "eks.amazonaws.com"}  # fmt: skip
    assert roles["cluster-node-role"]["Statement"][0]["Principal"] == {
        "Service": "ec2.amazonaws.com"}  # fmt: skip
    attached = sorted(r.inputs["policyArn"].rsplit("/", 1)[1] for r in default
                      if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment")  # fmt: skip
    assert attached == ["AmazonEC2ContainerRegistryReadOnly", "AmazonEKSClusterPolicy",
                        "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]  # fmt: skip


def test_a_pod_on_the_node_gets_no_cni_rights_from_the_node_role(
    default: list[Registration],
) -> None:
    """The VPC CNI's rights (ENIs and addresses on every instance) were on the node role,
    which anything reaching the instance metadata could borrow. They are on a role of their
    own now, which Pod Identity gives only to kube-system/aws-node."""
    attachments = {
        r.name: r.inputs["policyArn"]
        for r in default
        if r.type == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"
    }
    node = [arn for name, arn in attachments.items() if name.startswith("cluster-node-")]
    assert not [arn for arn in node if arn.endswith("/AmazonEKS_CNI_Policy")]
    cni_role = one(default, "aws:iam/role:Role", "cluster-cni-role")
    trust = json.loads(cni_role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    assert trust["Condition"]["StringEquals"] == {
        "aws:RequestTag/eks-cluster-name": "agents-sandbox",
        "aws:RequestTag/kubernetes-namespace": "kube-system",
        "aws:RequestTag/kubernetes-service-account": "aws-node",
    }
    assert attachments["cluster-cni-AmazonEKS_CNI_Policy"].endswith("/AmazonEKS_CNI_Policy")
    addon = one(default, "aws:eks/addon:Addon", "cluster-vpc-cni")
    association = addon.inputs["podIdentityAssociations"]
    assert [a["serviceAccount"] for a in association] == ["aws-node"]
    agent = one(default, "aws:eks/addon:Addon", "cluster-eks-pod-identity-agent")
    assert agent.urn in addon.dependencies  # the CNI's pods get credentials from it


def test_internal_load_balancers_have_subnets_of_their_own(default: list[Registration]) -> None:
    """Internal load balancers go to subnets where no node, and so no pod, has an address:
    vLLM can then admit the load balancer by its subnets' blocks without admitting pods."""
    subnets = {r.name: r.inputs for r in default if r.type == SUBNET}
    balancers = [subnets[f"cluster-load-balancer-{i}"] for i in range(3)]
    private = [subnets[f"cluster-private-{i}"] for i in range(3)]
    assert [s["cidrBlock"] for s in balancers] == ["10.0.192.0/22", "10.0.196.0/22",
                                                   "10.0.200.0/22"]  # fmt: skip
    assert all(s["tags"]["kubernetes.io/role/internal-elb"] == "1" for s in balancers)
    assert [s["availabilityZone"] for s in balancers] == [s["availabilityZone"] for s in private]
    mocks = OfflineMocks()
    built = run(lambda: FleetCluster("cluster", cluster_args()).cluster.endpoint, mocks)
    nodes = one(built, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes").inputs
    assert sorted(mocks.subnets[subnet] for subnet in nodes["subnetIds"]) == sorted(
        s["cidrBlock"] for s in private
    )


def test_coredns_waits_for_nodes_to_run_on(default: list[Registration]) -> None:
    coredns = one(default, "aws:eks/addon:Addon", "cluster-coredns")
    nodes = one(default, "aws:eks/nodeGroup:NodeGroup", "cluster-system-nodes")
    assert nodes.urn in coredns.dependencies


def test_args_from_the_sandbox_stack() -> None:
    args = wiring.new_cluster(plan_of("sandbox"))
    assert (args.name, args.environment, args.cost_center) == (
        "agents-sandbox",
        "dev",
        "agentfleet",
    )
    assert args.public_access_cidrs == ("203.0.113.0/24",)
    assert args.admin_role_arns == ("arn:aws:iam::123456789012:role/platform-admins",)
    assert args.nodes == SystemNodes(instance_type="m7i.xlarge", min_size=2, max_size=4)
    assert (args.availability_zones, args.vpc_cidr, args.kubernetes_version) == (
        3, "10.0.0.0/16", "1.34")  # fmt: skip
