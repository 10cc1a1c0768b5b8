"""McpServer: an MCP server as a CPU workload in front of a tier's inference pool (C3)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import pulumi
import pulumi_kubernetes as k8s
from pydantic import Field

from components.common import (
    Args,
    KubernetesName,
    TierName,
    child_options,
    http_service,
    restricted_container,
    restricted_pod,
    tier_labels,
)
from components.isolation import mcp_server_policy
from components.secrets import api_key_env
from components.vllm_service import PORT as VLLM_PORT
from facts.labels import COMPONENT, GPU_PRESENT, MANAGED_BY, NODE_CLASS, SERVES_TIER

TYPE = "agentfleet:index:McpServer"
RUN_AS = 10001  # above the host's range of users (checkov CKV_K8S_40)


class McpServerArgs(Args):
    """Inputs of an McpServer."""

    name: KubernetesName = Field(description="Name of the Deployment and Service.")
    namespace: KubernetesName = Field(description="Namespace of the Deployment and Service.")
    tier: TierName = Field(description="The inference tier the server sends work to.")
    image: Annotated[str, Field(min_length=1)] = Field(
        description="The MCP server's image; pin it by tag or digest."
    )
    port: Annotated[int, Field(ge=1, le=65535)] = Field(8080, description="Port it listens on.")
    health_path: str | None = Field(
        None, description="HTTP path of its health check; default: a TCP check on the port."
    )
    replicas: Annotated[int, Field(ge=1)] = Field(2, description="Replicas (two survive one).")
    inference_url: Any = Field(
        description="The tier's OpenAI-compatible endpoint (env INFERENCE_URL)."
    )
    queue_url: Any = Field(
        None, description="The tier's SQS task queue (env TASK_QUEUE_URL), when it has one."
    )
    api_key_secret: str | None = Field(
        None,
        description="The tier's API key Secret (FleetTier.api_key; env VLLM_API_KEY), which "
        "vLLM requires on its API.",
    )
    env: dict[str, str] = Field(
        default_factory=dict,
        description="More plain environment; secrets belong in Secrets, not here.",
    )
    cpu_millis: Annotated[int, Field(ge=50)] = Field(500, description="CPU request and limit.")
    memory_mib: Annotated[int, Field(ge=64)] = Field(512, description="Memory request and limit.")
    node_selector: dict[str, str] = Field(
        default_factory=dict, description="CPU nodes to run on, e.g. a CPU node group's label."
    )


class McpServer(pulumi.ComponentResource):
    """A CPU-only Deployment and Service for a user's MCP server image, pointed at a tier's
    inference endpoint and queue through its environment. No GPU request, no GPU
    toleration, and node affinity away from GPU nodes (checklist C3): the GPU lives behind
    it, in the shared pool."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        deployment: k8s.apps.v1.Deployment
        service: k8s.core.v1.Service
        network_policy: k8s.networking.v1.NetworkPolicy
        endpoint: pulumi.Output[str]
        """The MCP server's URL inside the cluster."""

    def __init__(
        self, name: str, args: McpServerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        selector = {"app.kubernetes.io/name": "mcp-server", "app.kubernetes.io/instance": args.name}
        labels = {
            **selector,
            **MANAGED_BY,
            COMPONENT: "mcp-server",
            **tier_labels(args.tier, "mcp-server"),
            SERVES_TIER: args.tier,
        }
        env = [k8s.core.v1.EnvVarArgs(name="INFERENCE_URL", value=args.inference_url)]
        if args.queue_url is not None:
            env.append(k8s.core.v1.EnvVarArgs(name="TASK_QUEUE_URL", value=args.queue_url))
        if args.api_key_secret is not None:
            env.append(api_key_env(args.api_key_secret))
        env += [k8s.core.v1.EnvVarArgs(name=key, value=value) for key, value in args.env.items()]
        check: dict[str, Any] = (
            {"http_get": k8s.core.v1.HTTPGetActionArgs(path=args.health_path, port=args.port)}
            if args.health_path
            else {"tcp_socket": k8s.core.v1.TCPSocketActionArgs(port=args.port)}
        )
        resources = {"cpu": f"{args.cpu_millis}m", "memory": f"{args.memory_mib}Mi"}
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name=args.name, namespace=args.namespace, labels=labels
        )
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata=metadata,
            spec=k8s.apps.v1.DeploymentSpecArgs(
                replicas=args.replicas,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
                template=k8s.core.v1.PodTemplateSpecArgs(
                    metadata=k8s.meta.v1.ObjectMetaArgs(labels=labels),
                    spec=k8s.core.v1.PodSpecArgs(
                        containers=[
                            k8s.core.v1.ContainerArgs(
                                name="mcp-server",
                                image=args.image,
                                ports=[
                                    k8s.core.v1.ContainerPortArgs(
                                        name="http", container_port=args.port
                                    )
                                ],
                                env=env,
                                resources=k8s.core.v1.ResourceRequirementsArgs(
                                    requests=resources, limits=resources
                                ),
                                readiness_probe=k8s.core.v1.ProbeArgs(
                                    period_seconds=10, failure_threshold=3, **check
                                ),
                                liveness_probe=k8s.core.v1.ProbeArgs(
                                    period_seconds=20, failure_threshold=3, **check
                                ),
                                security_context=restricted_container(),
                                volume_mounts=[
                                    k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp")  # noqa: S108
                                ],
                            )
                        ],
                        node_selector=args.node_selector or None,
                        affinity=_away_from_gpu_nodes(),
                        automount_service_account_token=False,
                        security_context=restricted_pod(RUN_AS),
                        volumes=[
                            k8s.core.v1.VolumeArgs(
                                name="tmp",
                                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="256Mi"),
                            )
                        ],
                    ),
                ),
            ),
            opts=child,
        )
        self.service = http_service(f"{name}-service", metadata, selector, args.port, child)
        self.endpoint = pulumi.Output.concat(
            "http://", self.service.metadata.name, ".", args.namespace, ".svc.cluster.local:",
            str(args.port),
        )  # fmt: skip
        # Default deny (the namespace's), but its port in, and out DNS, the tier's vLLM
        # and HTTPS short of the link-local addresses (components.isolation).
        self.network_policy = mcp_server_policy(
            f"{name}-network-policy", metadata, selector, args.port, VLLM_PORT, child
        )
        self.register_outputs(
            {
                "deployment": self.deployment,
                "service": self.service,
                "network_policy": self.network_policy,
                "endpoint": self.endpoint,
            }
        )


def _away_from_gpu_nodes() -> k8s.core.v1.AffinityArgs:
    """Never on a GPU node: not on agentfleet's GPU node groups, nor on any node the GPU
    operator's feature discovery marks as having a GPU."""
    return k8s.core.v1.AffinityArgs(
        node_affinity=k8s.core.v1.NodeAffinityArgs(
            required_during_scheduling_ignored_during_execution=k8s.core.v1.NodeSelectorArgs(
                node_selector_terms=[
                    k8s.core.v1.NodeSelectorTermArgs(
                        match_expressions=[
                            k8s.core.v1.NodeSelectorRequirementArgs(
                                key=NODE_CLASS, operator="NotIn", values=["gpu"]
                            ),
                            k8s.core.v1.NodeSelectorRequirementArgs(
                                key=GPU_PRESENT, operator="NotIn", values=["true"]
                            ),
                        ]
                    )
                ]
            )
        )
    )
