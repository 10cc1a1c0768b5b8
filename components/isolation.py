"""NetworkPolicies that isolate the inference pods: each vLLM Deployment denies all
traffic but what it needs (VllmService declares it), and a load balancer lets its own
addresses in (InferenceLoadBalancer declares that). Policies add up: a pod may take what
any policy selecting it allows.

What an inference pod needs:
- in: its metrics ports from the Prometheus pods the add-on runs (no other pod of their
  namespace); vLLM's port from its own tier's MCP servers (they reach the GPUs through the
  tier's endpoint), and, on a user-facing tier, from the load balancer's subnets. The
  worker beside vLLM talks to it over localhost, which no NetworkPolicy governs;
- out: DNS (CoreDNS in kube-system); HTTPS to the model hub and to AWS's endpoints (S3
  and ECR for weights and images, SQS, STS), by address, since a NetworkPolicy cannot
  name hosts: anywhere, or, where the weights are streamed from S3, only S3's ranges and
  the VPC's (the SQS interface endpoint); and the EKS Pod Identity Agent on its
  link-local address, where the pod gets its credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from facts.labels import ROLE, TIER

NAMESPACE_NAME = "kubernetes.io/metadata.name"
PROMETHEUS_POD = {"app.kubernetes.io/name": "prometheus"}
"""What the Prometheus Operator labels every Prometheus pod with (so does the Prometheus
community chart): the scrapers, and nothing else of their namespace."""
POD_IDENTITY_AGENT = "169.254.170.23/32"
"""The EKS Pod Identity Agent's address (it runs on the host network, port 80)."""
ANYWHERE = "0.0.0.0/0"
DNS_PORT = 53
HTTPS_PORT = 443
HTTP_PORT = 80


def _ports(numbers: Sequence[int], protocol: str = "TCP") -> list[Any]:
    return [k8s.networking.v1.NetworkPolicyPortArgs(port=n, protocol=protocol) for n in numbers]


def inference_policy(
    name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    selector: Mapping[str, str],
    *,
    tier: str,
    serving_port: int,
    metrics_ports: Sequence[int],
    scraper_namespace: str,
    opts: pulumi.ResourceOptions,
    https_cidrs: pulumi.Input[Sequence[str]] | None = None,
) -> k8s.networking.v1.NetworkPolicy:
    """Default deny for the pods ``selector`` picks, and what every inference pod needs;
    HTTPS to ``https_cidrs`` only, when given, else anywhere. In: the metrics ports from
    the Prometheus pods of ``scraper_namespace`` (not from the rest of it), vLLM's port
    from the MCP servers of ``tier`` (not another tier's)."""
    https = pulumi.Output.from_input(https_cidrs or [ANYWHERE]).apply(
        lambda blocks: [_block(block) for block in blocks]
    )
    ingress = [
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    namespace_selector=_namespace(scraper_namespace).namespace_selector,
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=PROMETHEUS_POD),
                )
            ],
            ports=_ports(metrics_ports),
        ),
        k8s.networking.v1.NetworkPolicyIngressRuleArgs(
            from_=[
                k8s.networking.v1.NetworkPolicyPeerArgs(
                    pod_selector=k8s.meta.v1.LabelSelectorArgs(
                        match_labels={ROLE: "mcp-server", TIER: tier}
                    )
                )
            ],
            ports=_ports([serving_port]),
        ),
    ]
    return _isolating(name, metadata, selector, ingress, _egress(https), opts)


def egress_only_policy(
    name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    selector: Mapping[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """Pods that take no traffic: out, DNS, HTTPS anywhere and the Pod Identity agent (the
    model mirror's: the Hub's CDN has no fixed addresses)."""
    return _isolating(name, metadata, selector, [], _egress([_block(ANYWHERE)]), opts)


def _isolating(
    name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    selector: Mapping[str, str],
    ingress: list[Any],
    egress: list[Any],
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """A NetworkPolicy governing both directions of the pods ``selector`` picks: what no
    rule allows is denied."""
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata=metadata,
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=dict(selector)),
            policy_types=["Ingress", "Egress"],
            ingress=ingress,
            egress=egress,
        ),
        opts=opts,
    )


LINK_LOCAL = "169.254.0.0/16"
"""The instance metadata service and the Pod Identity agent: nothing an MCP server needs."""


def default_deny_policy(
    name: str, namespace: str, opts: pulumi.ResourceOptions
) -> k8s.networking.v1.NetworkPolicy:
    """Every pod of the namespace, in and out, denied but what another policy allows: a pod
    nobody wrote a policy for (a user's, a new kind) starts isolated, not open."""
    return _isolating(
        name,
        k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=namespace),
        {},
        [],
        [],
        opts,
    )


def mcp_server_policy(
    name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    selector: Mapping[str, str],
    port: int,
    vllm_port: int,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """An MCP server (the user's image): in, its own port from anywhere (agents call it);
    out, DNS, vLLM's port of the namespace's inference pods, and HTTP(S) to anything but
    the link-local addresses, so it reaches neither the node's credentials nor a Pod
    Identity role it was never given."""
    vllm = k8s.networking.v1.NetworkPolicyPeerArgs(
        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"app.kubernetes.io/name": "vllm"})
    )
    internet = k8s.networking.v1.NetworkPolicyPeerArgs(
        ip_block=k8s.networking.v1.IPBlockArgs(cidr=ANYWHERE, except_=[LINK_LOCAL])
    )
    ingress = [k8s.networking.v1.NetworkPolicyIngressRuleArgs(ports=_ports([port]))]
    egress = [
        _dns(),
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=[vllm], ports=_ports([vllm_port])),
        # HTTP too: a user-facing tier's endpoint is its load balancer, HTTP without a
        # certificate
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[internet], ports=_ports([HTTP_PORT, HTTPS_PORT])
        ),
    ]
    return _isolating(name, metadata, selector, ingress, egress, opts)


def load_balancer_policy(
    name: str,
    metadata: k8s.meta.v1.ObjectMetaArgs,
    instances: Sequence[Any],
    source_cidrs: pulumi.Input[Sequence[str]],
    port: int,
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.NetworkPolicy:
    """Ingress to the vLLM pods behind a load balancer from the load balancer's own
    addresses: with IP targets the ALB opens its own connections to the pods, from its
    nodes in its own subnets, so the sources are those subnets' CIDR blocks
    (``source_cidrs``) whoever the client is (the clients' CIDRs are the load balancer's
    security group's business). Not the VPC's: under the VPC CNI every pod has an address
    there."""
    peers = pulumi.Output.from_input(source_cidrs).apply(
        lambda blocks: [_block(block) for block in blocks]
    )
    return k8s.networking.v1.NetworkPolicy(
        name,
        metadata=metadata,
        spec=k8s.networking.v1.NetworkPolicySpecArgs(
            pod_selector=k8s.meta.v1.LabelSelectorArgs(
                match_labels={"app.kubernetes.io/name": "vllm"},
                match_expressions=[
                    k8s.meta.v1.LabelSelectorRequirementArgs(
                        key="app.kubernetes.io/instance", operator="In", values=list(instances)
                    )
                ],
            ),
            policy_types=["Ingress"],
            ingress=[
                k8s.networking.v1.NetworkPolicyIngressRuleArgs(from_=peers, ports=_ports([port]))
            ],
        ),
        opts=opts,
    )


def _egress(https: Any) -> list[Any]:
    """Out: DNS, HTTPS to the ``https`` peers, and the EKS Pod Identity agent."""
    return [
        _dns(),
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(to=https, ports=_ports([HTTPS_PORT])),
        k8s.networking.v1.NetworkPolicyEgressRuleArgs(
            to=[_block(POD_IDENTITY_AGENT)], ports=_ports([HTTP_PORT])
        ),
    ]


def _dns() -> Any:
    """Egress to CoreDNS in kube-system."""
    return k8s.networking.v1.NetworkPolicyEgressRuleArgs(
        to=[
            k8s.networking.v1.NetworkPolicyPeerArgs(
                namespace_selector=k8s.meta.v1.LabelSelectorArgs(
                    match_labels={NAMESPACE_NAME: "kube-system"}
                ),
                pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
            )
        ],
        ports=[*_ports([DNS_PORT], "UDP"), *_ports([DNS_PORT])],
    )


def _namespace(name: str) -> Any:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={NAMESPACE_NAME: name})
    )


def _block(cidr: pulumi.Input[str]) -> Any:
    return k8s.networking.v1.NetworkPolicyPeerArgs(
        ip_block=k8s.networking.v1.IPBlockArgs(cidr=cidr)
    )
