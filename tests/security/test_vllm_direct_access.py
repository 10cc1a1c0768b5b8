"""Who can reach vLLM's port without going through the tier's front door, judged by
Kubernetes' NetworkPolicy rules (tests/netpolicy.py) over the rendered objects: only the
load balancer's own addresses, the Prometheus pods, and the tier's own MCP servers. A pod
elsewhere in the VPC, another pod of the monitoring namespace, or another tier's MCP
server is refused, since vLLM's API key guards only part of its paths (/v1 and a few
prefixes; /invocations, /tokenize and others stay open)."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from components import McpServer, VllmService
from facts.resource_types import NETWORK_POLICY
from infra.offline.manifests import manifest
from infra.offline.mocks import OfflineMocks, run_program
from tests.components.builders import mcp_args, service_args
from tests.components.support import run
from tests.helpers import stack_values
from tests.netpolicy import Pod, admits

PORT, WORKER_METRICS = 8000, 8081
PROMETHEUS = {  # what the Prometheus Operator puts on the pods of kube-prometheus-stack's
    "app.kubernetes.io/name": "prometheus",
    "app.kubernetes.io/instance": "agentfleet-prometheus",
    "app.kubernetes.io/managed-by": "prometheus-operator",
    "operator.prometheus.io/name": "agentfleet-prometheus",
    "prometheus": "agentfleet-prometheus",
}
GRAFANA = {"app.kubernetes.io/name": "grafana", "app.kubernetes.io/instance": "agentfleet"}


def _address(cidr: str, offset: int = 17) -> str:
    return str(ipaddress.ip_network(cidr)[offset])


@pytest.fixture(scope="module")
def prod() -> dict[str, Any]:
    """The prod stack as rendered: its NetworkPolicies, the orchestrator's vLLM pod, and
    addresses in its node subnets and its load balancers' subnets."""
    values = stack_values("prod")
    mocks = OfflineMocks()
    registrations, _ = run_program(values, mocks, stack="prod")
    policies = [manifest(r) for r in registrations if r.type == NETWORK_POLICY]
    deployment = next(
        manifest(r)
        for r in registrations
        if r.type == "kubernetes:apps/v1:Deployment" and r.name.startswith("orchestrator")
    )
    cluster = values["agentfleet:cluster"]
    nodes = [mocks.subnets.get(s) or mocks._block(s) for s in cluster["subnetIds"]]
    balancers = [mocks._block(s) for s in cluster["loadBalancerSubnetIds"]]
    assert not {ipaddress.ip_network(n) for n in nodes} & {
        ipaddress.ip_network(b) for b in balancers
    }, "the mock put a node subnet and a load balancer subnet on one block"
    vllm = Pod(
        deployment["metadata"]["namespace"],
        deployment["spec"]["template"]["metadata"]["labels"],
        _address(nodes[0], 40),
    )
    return {"policies": policies, "vllm": vllm, "nodes": nodes, "balancers": balancers}


def test_a_pod_elsewhere_in_the_vpc_cannot_call_vllm_around_the_load_balancer(
    prod: dict[str, Any],
) -> None:
    """Any pod has an address in the VPC: a policy admitting the VPC's CIDR admitted them
    all. Only the load balancer's subnets get in now."""
    policies, vllm = prod["policies"], prod["vllm"]
    for cidr in prod["balancers"]:
        alb = Pod("", {}, _address(cidr))
        assert admits(policies, vllm, alb, PORT), cidr
    for cidr in prod["nodes"]:
        intruder = Pod("sandbox", {"app": "notebook"}, _address(cidr))
        assert not admits(policies, vllm, intruder, PORT), cidr
        neighbour = Pod("agentfleet", {"app.kubernetes.io/name": "vllm"}, _address(cidr, 99))
        assert not admits(policies, vllm, neighbour, PORT), cidr
    for policy in policies:
        for rule in policy["spec"].get("ingress") or ():
            for peer in rule.get("from") or ():
                block = peer.get("ipBlock", {}).get("cidr")
                assert block != "10.0.0.0/16", policy["metadata"]["name"]


def test_only_prometheus_of_the_monitoring_namespace_can_call_vllm(prod: dict[str, Any]) -> None:
    """Every pod of ``monitoring`` (Grafana, Alertmanager, exporters) could POST to port
    8000; only the Prometheus pods scrape, so only they get in, to the metrics ports."""
    policies, vllm, node = prod["policies"], prod["vllm"], prod["nodes"][1]
    prometheus = Pod("monitoring", PROMETHEUS, _address(node))
    assert admits(policies, vllm, prometheus, PORT)
    assert admits(policies, vllm, prometheus, WORKER_METRICS)
    grafana = Pod("monitoring", GRAFANA, _address(node, 18))
    assert not admits(policies, vllm, grafana, PORT)
    assert not admits(policies, vllm, grafana, WORKER_METRICS)


def test_another_tiers_mcp_server_cannot_call_vllm() -> None:
    """An MCP server runs a user's image; it reaches its own tier's vLLM, not the others'."""
    own = service_args("prod", "orchestrator")
    registrations = run(
        lambda: [
            VllmService("orchestrator", own).endpoint,
            McpServer("mine", mcp_args(name="mine", tier="orchestrator")).network_policy.id,
            McpServer("theirs", mcp_args(name="theirs", tier="mid-tier")).network_policy.id,
        ]
    )
    policies = [manifest(r) for r in registrations if r.type == NETWORK_POLICY]
    pods = {
        m["metadata"]["name"]: m["spec"]["template"]["metadata"]["labels"]
        for m in (manifest(r) for r in registrations if r.type == "kubernetes:apps/v1:Deployment")
    }
    vllm = Pod(own.namespace, pods["orchestrator-vllm"], "10.0.0.40")
    mine = Pod(own.namespace, pods["mine"], "10.0.0.41")
    theirs = Pod(own.namespace, pods["theirs"], "10.0.0.42")
    assert admits(policies, vllm, mine, PORT)
    assert not admits(policies, vllm, theirs, PORT)
