"""InferenceLoadBalancer under recording mocks: health checks on /health every 10 s, a
300 s idle timeout, and a TargetGroupBinding that validates against its CRD."""

from __future__ import annotations

import ipaddress
import re

import pytest
from pydantic import ValidationError

from components import InferenceLoadBalancer, InferenceLoadBalancerArgs
from components.load_balancer import TYPE
from facts.resource_types import LISTENER, NETWORK_POLICY
from facts.resource_types import LOAD_BALANCER as LB
from facts.resource_types import SECURITY_GROUP as SG
from facts.resource_types import TARGET_GROUP as TG
from facts.resource_types import TARGET_GROUP_BINDING as BINDING
from infra.offline.manifests import manifest
from infra.offline.mocks import OfflineMocks, Registration, digest
from tests.components.builders import lb_args
from tests.components.support import children, one, run, validate_all

RULE = "aws:lb/listenerRule:ListenerRule"
SG_ID = f"sg-{digest('orchestrator-sg', length=17)}"  # as the offline mocks make it
TAGS = {
    "agentfleet.io/tier": "orchestrator",
    "agentfleet.io/environment": "prod",
    "agentfleet.io/cost-center": "agentfleet",
    "agentfleet.io/role": "load-balancer",
}

TARGET_GROUP_ARN = (
    r"arn:aws:elasticloadbalancing:us-east-1:123456789012:"
    r"targetgroup/orchestrator-[\w-]+/[0-9a-f]{16}"
)


def build(args: InferenceLoadBalancerArgs, mocks: OfflineMocks | None = None) -> list[Registration]:
    return run(lambda: InferenceLoadBalancer("orchestrator", args).endpoint, mocks)


def test_children_and_parents() -> None:
    registrations = build(lb_args())
    assert sorted((r.type, r.name) for r in children(registrations, TYPE)) == sorted(
        [
            (SG, "orchestrator-sg"),
            (LB, "orchestrator-alb"),
            (LISTENER, "orchestrator-listener"),
            (RULE, "orchestrator-api"),
            (TG, "orchestrator-tg"),
            (BINDING, "orchestrator-binding"),
            (NETWORK_POLICY, "orchestrator-network-policy"),
        ]
    )


def test_target_group_health_checks_vllm() -> None:
    tg = one(build(lb_args()), TG, "orchestrator-tg").inputs
    assert tg["port"] == 8000.0
    assert tg["protocol"] == "HTTP"
    assert tg["targetType"] == "ip"
    assert tg["vpcId"] == "vpc-0123456789abcdef0"
    assert tg["loadBalancingAlgorithmType"] == "least_outstanding_requests"
    assert tg["deregistrationDelay"] == 300.0
    assert tg["healthCheck"] == {
        "enabled": True,
        "protocol": "HTTP",
        "port": "traffic-port",
        "path": "/health",
        "matcher": "200",
        "interval": 10.0,
        "timeout": 5.0,
        "healthyThreshold": 2.0,
        "unhealthyThreshold": 3.0,
    }
    assert tg["tags"] == TAGS
    assert len(tg["name"]) <= 32


def test_health_check_interval_is_configurable() -> None:
    tg = one(build(lb_args(health_check_interval_seconds=5)), TG, "orchestrator-tg").inputs
    assert (tg["healthCheck"]["interval"], tg["healthCheck"]["timeout"]) == (5.0, 4.0)


def test_internal_alb_with_long_idle_timeout() -> None:
    mocks = OfflineMocks(vpc_cidr="10.42.0.0/16")
    registrations = build(lb_args(), mocks)
    alb = one(registrations, LB, "orchestrator-alb").inputs
    assert alb["internal"] is True
    assert alb["loadBalancerType"] == "application"
    assert alb["idleTimeout"] == 300.0
    assert alb["dropInvalidHeaderFields"] is True
    assert alb["subnets"] == ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
    assert alb["name"].startswith("orchestrator-agents-pro-")  # cut to fit 32
    assert len(alb["name"]) <= 32
    assert alb["securityGroups"] == [SG_ID]
    assert alb["tags"] == TAGS
    sg = one(registrations, SG, "orchestrator-sg").inputs
    # Clients from inside the VPC (its CIDR from the provider) on the listener's port.
    assert mocks.calls[0] == "aws:ec2/getVpc:getVpc"
    assert sg["ingress"] == [
        {
            "protocol": "tcp",
            "fromPort": 80.0,
            "toPort": 80.0,
            "cidrBlocks": ["10.42.0.0/16"],
            "description": "clients",
        }
    ]
    assert sg["egress"][0]["toPort"] == 8000.0


def test_http_listener_without_certificate() -> None:
    registrations = build(lb_args())
    listener = one(registrations, LISTENER, "orchestrator-listener").inputs
    assert listener["port"] == 80.0
    assert listener["protocol"] == "HTTP"
    assert "sslPolicy" not in listener or listener["sslPolicy"] is None
    # Only the API goes through (vLLM's key guards it); anything else is a 404 at the ALB.
    (default,) = listener["defaultActions"]
    assert default["type"] == "fixed-response"
    assert default["fixedResponse"]["statusCode"] == "404"
    rule = one(registrations, RULE, "orchestrator-api").inputs
    assert [c["pathPattern"]["values"] for c in rule["conditions"]] == [["/v1/*"]]
    (action,) = rule["actions"]
    assert action["type"] == "forward"
    assert re.fullmatch(TARGET_GROUP_ARN, action["targetGroupArn"])


def test_access_logs_go_to_the_bucket_under_the_tiers_prefix() -> None:
    alb = one(build(lb_args(access_logs_bucket="agents-prod-lb-logs-x")), LB, "orchestrator-alb")
    assert alb.inputs["accessLogs"] == {
        "bucket": "agents-prod-lb-logs-x", "enabled": True, "prefix": "orchestrator"}  # fmt: skip
    assert "accessLogs" not in one(build(lb_args()), LB, "orchestrator-alb").inputs


def test_https_listener_with_certificate() -> None:
    certificate = "arn:aws:acm:us-east-1:123456789012:certificate/abc"
    registrations = build(lb_args(certificate_arn=certificate, allowed_cidrs=("10.0.0.0/8",)))
    listener = one(registrations, LISTENER, "orchestrator-listener").inputs
    assert (listener["port"], listener["protocol"]) == (443.0, "HTTPS")
    assert listener["certificateArn"] == certificate
    assert listener["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    sg = one(registrations, SG, "orchestrator-sg").inputs
    assert sg["ingress"][0]["cidrBlocks"] == ["10.0.0.0/8"]
    assert sg["ingress"][0]["fromPort"] == 443.0


def test_target_group_binding() -> None:
    registrations = build(lb_args())
    binding = manifest(one(registrations, BINDING, "orchestrator-binding"))
    assert binding["apiVersion"] == "elbv2.k8s.aws/v1beta1"
    assert binding["metadata"]["namespace"] == "agentfleet"
    assert binding["metadata"]["labels"]["agentfleet.io/tier"] == "orchestrator"
    assert re.fullmatch(TARGET_GROUP_ARN, binding["spec"]["targetGroupARN"])
    assert binding["spec"] == {
        "serviceRef": {"name": "orchestrator-vllm", "port": 8000},
        "targetGroupARN": binding["spec"]["targetGroupARN"],
        "targetType": "ip",
        "networking": {
            "ingress": [
                {
                    "from": [{"securityGroup": {"groupID": SG_ID}}],
                    "ports": [{"port": 8000, "protocol": "TCP"}],
                }
            ]
        },
    }
    assert validate_all(registrations) == 2  # the binding (its CRD's schema), the policy


def test_one_binding_per_service_sharing_the_target_group() -> None:
    registrations = build(lb_args(service_names=("a-vllm", "b-vllm")))
    bindings = sorted(
        (manifest(r) for r in registrations if r.type == BINDING),
        key=lambda b: b["metadata"]["name"],
    )
    assert [(b["metadata"]["name"], b["spec"]["serviceRef"]["name"]) for b in bindings] == [
        ("orchestrator-vllm-0", "a-vllm"),
        ("orchestrator-vllm-1", "b-vllm"),
    ]
    assert all(b["spec"]["multiClusterTargetGroup"] is True for b in bindings)
    assert validate_all(registrations) == 3


def test_args_are_validated() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 300"):
        InferenceLoadBalancerArgs(**{**lb_args().model_dump(), "idle_timeout_seconds": 60})
    with pytest.raises(ValidationError, match="internet-facing load balancer needs a certificate"):
        InferenceLoadBalancerArgs(**{**lb_args().model_dump(), "internal": False})
    with pytest.raises(ValidationError, match="at least 2 items"):
        InferenceLoadBalancerArgs(**{**lb_args().model_dump(), "subnet_ids": ("subnet-1",)})
    with pytest.raises(ValidationError, match="greater than or equal to 5"):
        InferenceLoadBalancerArgs(**{**lb_args().model_dump(), "health_check_interval_seconds": 2})


def test_targets_take_health_checks_from_every_cidr_block_of_the_vpc() -> None:
    """An ALB's nodes take their addresses from its subnets, which may be in any CIDR block
    associated with the VPC (a secondary block added for room, 100.64.0.0/16 here); its
    health checks and the requests it forwards to IP targets come from those addresses. So
    an internal load balancer's security group must let them out to the pods, and the pods'
    NetworkPolicy must let them in, whatever block the subnets sit in; and no more than
    the subnets, since every pod has an address in the VPC too."""
    mocks = OfflineMocks(
        vpc_cidr="10.42.0.0/16",
        secondary_cidrs=("100.64.0.0/16",),
        subnets={
            "subnet-0a1b2c3d4e5f60001": "100.64.0.0/24",
            "subnet-0a1b2c3d4e5f60002": "100.64.1.0/24",
        },
    )
    registrations = build(lb_args(), mocks)
    alb_node = ipaddress.ip_address("100.64.1.17")  # in a subnet of the secondary block
    sg = one(registrations, SG, "orchestrator-sg").inputs
    out = [ipaddress.ip_network(block) for block in sg["egress"][0]["cidrBlocks"]]
    assert any(alb_node in network for network in out)
    policy = manifest(one(registrations, NETWORK_POLICY, "orchestrator-network-policy"))
    sources = [ipaddress.ip_network(peer["ipBlock"]["cidr"])
               for rule in policy["spec"]["ingress"] for peer in rule["from"]]  # fmt: skip
    assert any(alb_node in network for network in sources)
    assert sources == [ipaddress.ip_network("100.64.0.0/24"), ipaddress.ip_network("100.64.1.0/24")]
