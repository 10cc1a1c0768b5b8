"""The inference pods' NetworkPolicies: VllmService denies everything but what the pods
need, and InferenceLoadBalancer lets its own addresses (the VPC) reach vLLM's port."""

from __future__ import annotations

from typing import Any

from components import InferenceLoadBalancer, VllmService, WorkerSidecar
from facts.resource_types import NETWORK_POLICY
from infra.offline.manifests import manifest
from infra.offline.mocks import OfflineMocks, run_program
from tests.components.builders import lb_args, service_args
from tests.components.support import one, run
from tests.helpers import stack_values


def vllm_policy(worker: bool, https_cidrs: list[str] | None = None) -> dict[str, Any]:
    sidecar = WorkerSidecar(
        queue_url="https://sqs.us-east-1.amazonaws.com/123456789012/q",
        region="us-east-1",
        service_account="orchestrator-queue-worker",
        max_in_flight=100,
        visibility_timeout_seconds=400,
        request_timeout_seconds=300,
    )
    args = service_args(
        "prod", "orchestrator", worker=sidecar if worker else None, https_cidrs=https_cidrs
    )
    registrations = run(lambda: VllmService("orchestrator", args).endpoint)
    return manifest(one(registrations, NETWORK_POLICY, "orchestrator-network-policy"))


def test_vllm_pods_deny_all_but_what_they_need() -> None:
    policy = vllm_policy(worker=True)
    spec = policy["spec"]
    assert policy["metadata"]["namespace"] == "agentfleet"
    selector = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": "orchestrator-vllm"}
    assert spec["podSelector"] == {"matchLabels": selector}
    assert spec["policyTypes"] == ["Ingress", "Egress"]  # what no rule allows is denied
    metrics, mcp = spec["ingress"]
    assert metrics["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}},
         "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}}}
    ]  # fmt: skip
    assert metrics["ports"] == [
        {"port": 8000, "protocol": "TCP"},
        {"port": 8081, "protocol": "TCP"},
    ]
    assert mcp["from"] == [{"podSelector": {"matchLabels": {
        "agentfleet.io/role": "mcp-server", "agentfleet.io/tier": "orchestrator"}}}]  # fmt: skip
    assert mcp["ports"] == [{"port": 8000, "protocol": "TCP"}]
    dns, https, pod_identity = spec["egress"]
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {
        "kubernetes.io/metadata.name": "kube-system"
    }
    assert {(p["port"], p["protocol"]) for p in dns["ports"]} == {(53, "UDP"), (53, "TCP")}
    assert https == {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}],
                     "ports": [{"port": 443, "protocol": "TCP"}]}  # fmt: skip
    assert pod_identity == {"to": [{"ipBlock": {"cidr": "169.254.170.23/32"}}],
                            "ports": [{"port": 80, "protocol": "TCP"}]}  # fmt: skip


def test_weights_from_s3_narrow_https_to_the_blocks_given() -> None:
    """Streamed from S3, the pods' HTTPS reaches only S3's ranges and the VPC's (the
    model store's endpoints), not the internet."""
    blocks = ["52.216.0.0/15", "10.0.0.0/16"]
    https = vllm_policy(worker=True, https_cidrs=blocks)["spec"]["egress"][1]
    assert https == {"to": [{"ipBlock": {"cidr": b}} for b in blocks],
                     "ports": [{"port": 443, "protocol": "TCP"}]}  # fmt: skip


def test_without_a_worker_only_vllms_metrics_port_opens() -> None:
    metrics = vllm_policy(worker=False)["spec"]["ingress"][0]
    assert metrics["ports"] == [{"port": 8000, "protocol": "TCP"}]


def test_the_load_balancer_lets_its_subnets_reach_vllm() -> None:
    """With IP targets the ALB connects from its own addresses in its subnets, whatever the
    clients' CIDRs (those bind the load balancer's security group)."""
    args = lb_args().model_copy(update={"allowed_cidrs": ("203.0.113.0/24",)})
    mocks = OfflineMocks(
        subnets={
            "subnet-0a1b2c3d4e5f60001": "10.0.192.0/22",
            "subnet-0a1b2c3d4e5f60002": "10.0.196.0/22",
        }
    )
    registrations = run(lambda: InferenceLoadBalancer("orchestrator", args).endpoint, mocks)
    policy = manifest(one(registrations, NETWORK_POLICY, "orchestrator-network-policy"))
    assert policy["metadata"]["name"] == "orchestrator-from-load-balancer"
    spec = policy["spec"]
    assert spec["podSelector"]["matchExpressions"] == [
        {"key": "app.kubernetes.io/instance", "operator": "In", "values": ["orchestrator-vllm"]}
    ]
    assert spec["policyTypes"] == ["Ingress"]
    assert spec["ingress"] == [{"from": [{"ipBlock": {"cidr": "10.0.192.0/22"}},
                                         {"ipBlock": {"cidr": "10.0.196.0/22"}}],
                                "ports": [{"port": 8000, "protocol": "TCP"}]}]  # fmt: skip


def test_the_namespace_denies_what_no_policy_allows() -> None:
    """Every pod of the fleet's namespace is isolated both ways by the namespace's default
    deny, so a pod nobody wrote a policy for (a user's, a new kind) starts closed; each
    pod the fleet runs there has a policy of its own that lets it do its work."""
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    policies = [manifest(r) for r in registrations if r.type == NETWORK_POLICY]
    deny = next(p for p in policies if p["metadata"]["name"] == "default-deny")
    assert deny["metadata"]["namespace"] == "agentfleet"
    assert not deny["spec"]["podSelector"].get("matchLabels")  # every pod
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"]
    assert not deny["spec"].get("ingress")
    assert not deny["spec"].get("egress")
    own = [
        p
        for p in policies
        if p["metadata"]["name"] != "default-deny" and "Egress" in p["spec"]["policyTypes"]
    ]
    for kind in ("kubernetes:apps/v1:Deployment", "kubernetes:batch/v1:Job"):
        for workload in (manifest(r) for r in registrations if r.type == kind):
            labels = workload["spec"]["template"]["metadata"]["labels"]
            assert any(
                labels.items() >= p["spec"]["podSelector"].get("matchLabels", {}).items()
                for p in own
            ), workload["metadata"]["name"]
