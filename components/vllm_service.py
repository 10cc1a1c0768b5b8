"""VllmService: one tier's vLLM replicas (Deployment, Service, PodDisruptionBudget,
PodMonitor)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Self

import pulumi
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components.common import (
    Args,
    KubernetesName,
    TierName,
    checkov_skips,
    child_options,
    http_service,
    pull_policy,
    restricted_container,
    restricted_pod,
    tier_labels,
)
from components.isolation import inference_policy
from components.queue_worker import WorkerSidecar, credentials_env, skip_credentials
from components.secrets import api_key_env, hf_token_secret, token_env
from facts import defaults, names
from facts.catalog import Capacity, LatencyClass
from facts.checklist import HEALTH_PATH
from facts.labels import (
    CAPACITY,
    COMPONENT,
    GPU,
    GPU_RESOURCE,
    GPU_TAINT_KEY,
    LATENCY_CLASS,
    MANAGED_BY,
    MODEL_PROFILE,
    SERVING,
    SESSIONS_PER_REPLICA,
    TIER,
)
from facts.worker import MAX_LOGPROBS
from facts.worker import PORT as WORKER_PORT

TYPE = "agentfleet:index:VllmService"
VLLM_VERSION = defaults.VLLM_VERSION  # the `vllm` extra of pyproject.toml pins the same
IMAGE = defaults.VLLM_IMAGE
PORT = 8000
CACHE_DIR = "/cache"
METRICS_PATH = "/metrics"  # vLLM's and the worker's, on their own ports
PRE_STOP_SECONDS = 15  # time for the Service endpoints and the ALB to drop the pod
RUN_AS = 10001
"""Above the host's range of users (checkov CKV_K8S_40: 10000 or more); vLLM's caches are
emptyDirs owned through fsGroup, so the image's own user does not matter."""

CACHE_ENV = (
    k8s.core.v1.EnvVarArgs(name="HOME", value=CACHE_DIR),
    k8s.core.v1.EnvVarArgs(name="HF_HOME", value=f"{CACHE_DIR}/huggingface"),
    k8s.core.v1.EnvVarArgs(name="XDG_CACHE_HOME", value=CACHE_DIR),
    k8s.core.v1.EnvVarArgs(name="VLLM_NO_USAGE_STATS", value="1"),
)
"""vLLM's caches (weights, compiled kernels) on the writable volume; no usage reports."""


class VllmArgs(BaseModel):
    """The `vllm serve` arguments agentfleet sets, typed; ``render()`` gives the argv."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: Annotated[str, Field(min_length=1, pattern=r"^\S+$")] = Field(
        description="Model to serve (Hugging Face id or a path)."
    )
    served_model_name: str | None = Field(
        None, description="Name clients use in requests; default: the model."
    )
    revision: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")] | None = Field(
        None, description="--revision: the Hub revision (the tokenizer's too); None: main."
    )
    max_num_seqs: Annotated[int, Field(ge=1)] = Field(
        description="--max-num-seqs: 1.5-2x the sessions per replica (C2)."
    )
    gpu_memory_utilization: Annotated[float, Field(gt=0, le=1)] = Field(
        0.90, description="Share of GPU memory vLLM may take for weights and KV cache."
    )
    tensor_parallel_size: Annotated[int, Field(ge=1)] = Field(
        1, description="GPUs one replica shards the model over."
    )
    max_model_len: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Context length limit; default: the model's own."
    )
    max_num_batched_tokens: Annotated[int, Field(ge=1)] | None = Field(
        None,
        description="--max-num-batched-tokens: the tokens one step carries (chunked "
        "prefill's budget); default: vLLM's for the device.",
    )
    shutdown_timeout: Annotated[int, Field(ge=0)] | None = Field(
        None,
        description="--shutdown-timeout: how long vLLM lets its in-flight requests finish "
        "after SIGTERM (vLLM's own default, 0, aborts them); VllmService sets the tier's "
        "request timeout.",
    )
    max_logprobs: Annotated[int, Field(ge=0)] = Field(
        MAX_LOGPROBS, description="--max-logprobs: at most this many a token (vLLM's is 20)."
    )
    load_format: str | None = Field(
        None, description="--load-format: runai_streamer for a model in S3; None: vLLM's auto."
    )
    model_loader_extra_config: dict[str, int] | None = Field(
        None, description="--model-loader-extra-config, e.g. the streamer's concurrency."
    )

    def render(self) -> list[str]:
        argv = [
            self.model,
            "--host",
            "0.0.0.0",  # noqa: S104 - inside the pod; the Service and ALB front it
            "--port",
            str(PORT),
            "--max-num-seqs",
            str(self.max_num_seqs),
            "--gpu-memory-utilization",
            f"{self.gpu_memory_utilization:g}",
        ]
        if self.served_model_name:
            argv += ["--served-model-name", self.served_model_name]
        if self.revision:
            argv += ["--revision", self.revision]
        argv += ["--max-logprobs", str(self.max_logprobs)]
        if self.tensor_parallel_size > 1:
            argv += ["--tensor-parallel-size", str(self.tensor_parallel_size)]
        if self.max_model_len is not None:
            argv += ["--max-model-len", str(self.max_model_len)]
        if self.max_num_batched_tokens is not None:
            argv += ["--max-num-batched-tokens", str(self.max_num_batched_tokens)]
        if self.shutdown_timeout is not None:
            argv += ["--shutdown-timeout", str(self.shutdown_timeout)]
        if self.load_format is not None:
            argv += ["--load-format", self.load_format]
        if self.model_loader_extra_config:
            extra = json.dumps(self.model_loader_extra_config, separators=(",", ":"))
            argv += ["--model-loader-extra-config", extra]
        return argv


class VllmServiceArgs(Args):
    """Inputs of a VllmService."""

    tier: TierName = Field(description="The tier these replicas serve.")
    namespace: KubernetesName = Field(description="Namespace of the Deployment and Service.")
    name: KubernetesName | None = Field(
        None, description="Name of the Deployment and Service; default: <tier>-vllm."
    )
    vllm: VllmArgs = Field(description="The vLLM server's arguments.")
    image: str = Field(IMAGE, description="vLLM's OpenAI-compatible server image, pinned.")
    sessions_per_replica: Annotated[int, Field(ge=1)] = Field(
        description="Concurrent sessions one replica is sized for; written as an annotation for C2."
    )
    model_profile: str | None = Field(
        None,
        description="The model's shape (facts.models.profile_json) when the shipped model "
        "table does not know it; written as an annotation so model-fits-gpu can size it.",
    )
    serving: str | None = Field(
        None,
        description="What a replica is planned to deliver (facts.serving.Promise JSON); "
        "written as an annotation so replica-meets-targets can hold it to that.",
    )
    user_facing: bool = Field(description="Written on the pods (A4, K1).")
    latency_class: LatencyClass = Field(description="Written on the pods for C1.")
    gpu: str = Field(description="Catalog key of the GPU; written on the pods.")
    capacity: Capacity = Field(description="Capacity of the nodes; written on the pods (A5).")
    replicas: Annotated[int, Field(ge=0)] = Field(
        description="Replicas at creation; the autoscaler owns the count afterwards."
    )
    gpu_resource: str = Field(
        GPU_RESOURCE,
        description="Extended resource per replica: nvidia.com/gpu, or nvidia.com/mig-<profile>.",
    )
    gpu_count: Annotated[int, Field(ge=1)] = Field(
        1, description="How many of gpu_resource one replica takes."
    )
    cpu_millis: Annotated[int, Field(ge=100)] = Field(
        description="CPU request and limit (equal: Guaranteed QoS, never evicted first)."
    )
    memory_mib: Annotated[int, Field(ge=512)] = Field(description="Memory request and limit (MiB).")
    shm_size_mib: Annotated[int, Field(ge=64)] = Field(
        8192, description="Memory-backed /dev/shm for vLLM's worker processes and NCCL."
    )
    cache_size_gib: Annotated[int, Field(ge=1)] = Field(
        200, description="Writable cache for model weights (HF_HOME) and compiled kernels."
    )
    node_selector: dict[str, str] | None = Field(
        None, description="Nodes to run on; default: the tier's GPU nodes."
    )
    request_timeout_seconds: Annotated[int, Field(ge=1)] = Field(
        defaults.REQUEST_TIMEOUT_SECONDS,
        description="The longest request the tier allows; the drain waits this long.",
    )
    keep_alive_seconds: Annotated[int, Field(ge=1)] = Field(
        defaults.SERVER_KEEP_ALIVE_SECONDS,
        description="How long vLLM keeps an idle HTTP connection open "
        "(VLLM_HTTP_TIMEOUT_KEEP_ALIVE): longer than the load balancer's idle timeout, or "
        "the load balancer sends requests down connections vLLM is closing (502s).",
    )
    startup_timeout_seconds: Annotated[int, Field(ge=60)] = Field(
        1200,
        description="How long the startup probe allows for the weights' download and "
        "vLLM's engine start (FleetTier sets it from the model's size and the source's "
        "rate: infra.startup).",
    )
    weights_region: str | None = Field(
        None,
        description="The region of the S3 bucket the weights stream from (AWS_REGION for "
        "the streamer, which otherwise asks the instance metadata). None: not from S3.",
    )
    https_cidrs: Any = Field(
        None, description="The only addresses the pods' HTTPS may reach; None: anywhere."
    )
    hf_token: Any = Field(
        None,
        description="Hugging Face token (a Pulumi secret, e.g. from `pulumi config set "
        "--secret agentfleet:hfToken`); stored in a Kubernetes Secret, never in plain env.",
    )
    api_key_secret: str | None = Field(
        None, description="Secret (components.api_key) whose key vLLM requires on its API."
    )
    disruption_budget: Annotated[int, Field(ge=1)] = Field(
        1,
        description="Replicas that may go at once (the PodDisruptionBudget's maxUnavailable): "
        "enough for a node of them to drain within EKS's 15-minute limit on a node update.",
    )
    worker: WorkerSidecar | None = Field(
        None,
        description="The queue worker sidecar that feeds this replica from the tier's "
        "queue; vLLM's pre-stop waits for it to drain.",
    )
    pod_monitor: bool = Field(
        True,
        description="Declare a PodMonitor so Prometheus scrapes vLLM's /metrics (and the "
        "worker's): kube-prometheus-stack scrapes nothing without one, and the TTFT and "
        "KV-cache alerts and the waiting-requests trigger read these metrics. Needs the "
        "Prometheus Operator's CRDs (ClusterAddons' prometheus add-on installs them).",
    )
    scrape_interval_seconds: Annotated[int, Field(ge=1, le=300)] = Field(
        15, description="How often Prometheus scrapes the pods."
    )
    scraper_namespace: KubernetesName = Field(
        defaults.PROMETHEUS_NAMESPACE,
        description="The namespace of the Prometheus that scrapes the pods: the only one "
        "the pods' NetworkPolicy lets reach their metrics ports.",
    )

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.shutdown_seconds < self.request_timeout_seconds:
            raise ValueError(
                "vllm.shutdown_timeout must be at least request_timeout_seconds: vLLM aborts "
                "what still runs when it passes"
            )
        if self.vllm.tensor_parallel_size != (
            self.gpu_count if self.gpu_resource == GPU_RESOURCE else 1
        ):
            raise ValueError(
                "vllm.tensor_parallel_size must equal gpu_count (whole GPUs) or be 1 (MIG)"
            )
        return self

    @property
    def object_name(self) -> str:
        return self.name or names.vllm(self.tier)

    @property
    def shutdown_seconds(self) -> int:
        """How long vLLM lets its requests finish after SIGTERM: the longest request, since
        one that came just before the load balancer dropped the pod may have started as
        the pre-stop pause ended."""
        timeout = self.vllm.shutdown_timeout
        return self.request_timeout_seconds if timeout is None else timeout

    @property
    def serve_args(self) -> list[str]:
        """`vllm serve`'s arguments, the shutdown timeout set."""
        return self.vllm.model_copy(update={"shutdown_timeout": self.shutdown_seconds}).render()

    @property
    def termination_grace_seconds(self) -> int:
        """Long enough for the pre-stop pause and the longest request to finish: a request
        taken as the pause ends finishes ``request_timeout_seconds`` later, inside vLLM's
        shutdown timeout, and 15 s are left for vLLM to let go of the GPU."""
        return PRE_STOP_SECONDS + max(self.request_timeout_seconds, self.shutdown_seconds) + 15

    @property
    def pre_stop(self) -> list[str]:
        """vLLM's pre-stop: wait for the Service and the ALB to drop the pod; with a queue
        worker, also until the worker has drained and exited (its port closes), so that
        vLLM keeps serving the requests the worker is finishing."""
        if self.worker is None:
            return ["sleep", str(PRE_STOP_SECONDS)]
        script = (
            f"import socket,time\ntime.sleep({PRE_STOP_SECONDS})\nwhile True:\n"
            f"    try:\n        socket.create_connection(('127.0.0.1',{WORKER_PORT}),1).close()\n"
            "    except OSError:\n        break\n    time.sleep(1)\n"
        )
        return ["python3", "-c", script]


class VllmService(pulumi.ComponentResource):
    """vLLM's OpenAI-compatible server for one tier: a Deployment on the tier's GPU nodes
    (pinned image, typed args, probes on /health, GPU or MIG limits, Pod Security
    "restricted", writable caches and memory-backed /dev/shm, graceful drain, zone
    spread), a Service on port 8000, a PodDisruptionBudget, a PodMonitor for vLLM's and
    the worker's metrics, and the Hugging Face token in a Secret."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        deployment: k8s.apps.v1.Deployment
        service: k8s.core.v1.Service
        disruption_budget: k8s.policy.v1.PodDisruptionBudget
        pod_monitor: k8s.apiextensions.CustomResource | None
        network_policy: k8s.networking.v1.NetworkPolicy
        token_secret: k8s.core.v1.Secret | None
        service_name: pulumi.Output[str]
        """The Kubernetes Service in front of the replicas."""
        endpoint: pulumi.Output[str]
        """vLLM's URL inside the cluster (the Service's DNS name and port)."""
        args_name: str
        """The name of the Deployment and Service, known before they exist."""

    def __init__(
        self, name: str, args: VllmServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        object_name = self.args_name = args.object_name
        selector = {"app.kubernetes.io/name": "vllm", "app.kubernetes.io/instance": object_name}
        labels = {
            **selector,
            **MANAGED_BY,
            COMPONENT: "inference",
            "app.kubernetes.io/version": VLLM_VERSION,
            **tier_labels(args.tier, "inference", args.user_facing),
        }
        annotations = {
            SESSIONS_PER_REPLICA: str(args.sessions_per_replica),
            LATENCY_CLASS: args.latency_class,
            GPU: args.gpu,
            CAPACITY: args.capacity,
            **({MODEL_PROFILE: args.model_profile} if args.model_profile else {}),
            **({SERVING: args.serving} if args.serving else {}),
        }
        env = [*CACHE_ENV, *keep_alive_env(args)]
        if args.weights_region is not None:
            env.append(k8s.core.v1.EnvVarArgs(name="AWS_REGION", value=args.weights_region))
        self.token_secret = None
        if args.hf_token is not None:
            self.token_secret = hf_token_secret(name, object_name, args.namespace, labels,
                                                args.hf_token, child)  # fmt: skip
            env.append(token_env(self.token_secret))
        if args.api_key_secret is not None:
            env.append(api_key_env(args.api_key_secret))
        env += credentials_env(args.worker)
        pod = k8s.core.v1.PodTemplateSpecArgs(
            metadata=k8s.meta.v1.ObjectMetaArgs(
                labels=labels, annotations={**annotations, **skip_credentials(args.worker)}
            ),
            spec=pod_spec(args, vllm_container(args, env), selector),
        )
        metadata = k8s.meta.v1.ObjectMetaArgs(
            name=object_name, namespace=args.namespace, labels=labels, annotations=annotations
        )
        self.deployment = _deployment(name, args, labels, annotations, pod, selector, child)
        self.service = http_service(f"{name}-service", metadata, selector, PORT, child)
        self.disruption_budget = k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=metadata,
            spec=k8s.policy.v1.PodDisruptionBudgetSpecArgs(
                # Never none, which minAvailable at the floor would mean; one at a time
                # unless a node of several replicas, each waiting for the one before to
                # be replaced and load its weights, would drain past EKS's 15 minutes.
                max_unavailable=args.disruption_budget,
                selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            ),
            opts=child,
        )
        self.pod_monitor = None
        if args.pod_monitor:
            self.pod_monitor = k8s.apiextensions.CustomResource(
                f"{name}-pod-monitor",
                api_version="monitoring.coreos.com/v1",
                kind="PodMonitor",
                metadata=metadata,
                spec=pod_monitor_spec(args, selector),
                opts=child,
            )
        # Default deny, and what the pods need (components.isolation).
        self.network_policy = inference_policy(
            f"{name}-network-policy",
            metadata,
            selector,
            tier=args.tier,
            serving_port=PORT,
            metrics_ports=[PORT, *([WORKER_PORT] if args.worker else [])],
            scraper_namespace=args.scraper_namespace,
            opts=child,
            https_cidrs=args.https_cidrs,
        )
        self.service_name = self.service.metadata.name
        self.endpoint = pulumi.Output.concat(
            "http://", self.service_name, ".", args.namespace, ".svc.cluster.local:", str(PORT)
        )
        self.register_outputs(
            {
                "deployment": self.deployment,
                "service": self.service,
                "disruption_budget": self.disruption_budget,
                "pod_monitor": self.pod_monitor,
                "network_policy": self.network_policy,
                "token_secret": self.token_secret,
                "service_name": self.service_name,
                "endpoint": self.endpoint,
            }
        )


def pod_monitor_spec(args: VllmServiceArgs, selector: dict[str, str]) -> dict[str, Any]:
    """What Prometheus scrapes of the replicas: vLLM's /metrics on its ``http`` port and,
    with a worker, the worker's on its ``worker`` port. The operator labels each series
    with the pod's namespace and name, which the alerts and the trigger select on."""
    ports = ["http", *(["worker"] if args.worker is not None else [])]
    interval = f"{args.scrape_interval_seconds}s"
    return {
        "selector": {"matchLabels": selector},
        "podMetricsEndpoints": [
            {"port": port, "path": METRICS_PATH, "interval": interval} for port in ports
        ],
    }


def keep_alive_env(args: VllmServiceArgs) -> list[k8s.core.v1.EnvVarArgs]:
    """vLLM's HTTP keep-alive, outlasting the load balancer's idle timeout."""
    return [
        k8s.core.v1.EnvVarArgs(
            name="VLLM_HTTP_TIMEOUT_KEEP_ALIVE", value=str(args.keep_alive_seconds)
        )
    ]


def _deployment(
    name: str,
    args: VllmServiceArgs,
    labels: dict[str, str],
    annotations: dict[str, str],
    pod: k8s.core.v1.PodTemplateSpecArgs,
    selector: dict[str, str],
    child: pulumi.ResourceOptions,
) -> k8s.apps.v1.Deployment:
    """The replicas' Deployment: rolling one replica in before one goes, its count owned by
    the autoscaler once it exists, checkov's reasoned skips on it."""
    object_name = args.object_name
    return k8s.apps.v1.Deployment(
        f"{name}-deployment",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=object_name,
            namespace=args.namespace,
            labels=labels,
            annotations={
                **annotations,
                **checkov_skips(
                    [args.image, *([args.worker.image] if args.worker else [])],
                    api_key=args.api_key_secret is not None,
                ),
            },
        ),
        spec=k8s.apps.v1.DeploymentSpecArgs(
            replicas=args.replicas,
            selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
            # Keep serving capacity during a rollout: add a replica before removing one.
            strategy=k8s.apps.v1.DeploymentStrategyArgs(
                type="RollingUpdate",
                rolling_update=k8s.apps.v1.RollingUpdateDeploymentArgs(
                    max_surge=1, max_unavailable=0
                ),
            ),
            template=pod,
        ),
        # The queue-depth autoscaler owns the replica count once the Deployment exists.
        opts=pulumi.ResourceOptions.merge(
            child, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
        ),
    )


def vllm_container(
    args: VllmServiceArgs, env: list[k8s.core.v1.EnvVarArgs]
) -> k8s.core.v1.ContainerArgs:
    """vLLM's container: the typed argv, GPU (or MIG) and CPU/memory limits equal to the
    requests, probes on /health, the drain on pre-stop, a read-only root."""
    health = k8s.core.v1.HTTPGetActionArgs(path=HEALTH_PATH, port=PORT)
    accelerators = {args.gpu_resource: str(args.gpu_count)}
    resources = {"cpu": f"{args.cpu_millis}m", "memory": f"{args.memory_mib}Mi"}
    return k8s.core.v1.ContainerArgs(
        name="vllm",
        image=args.image,
        image_pull_policy=pull_policy(args.image),
        command=["vllm", "serve"],
        args=args.serve_args,
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=PORT)],
        env=env,
        resources=k8s.core.v1.ResourceRequirementsArgs(
            requests={**resources, **accelerators}, limits={**resources, **accelerators}
        ),
        # The port opens before the engine is ready: a long startup probe covers image
        # pull, CUDA init and weight loading; then readiness and liveness on /health.
        startup_probe=k8s.core.v1.ProbeArgs(
            http_get=health,
            period_seconds=10,
            timeout_seconds=5,
            failure_threshold=args.startup_timeout_seconds // 10,
        ),
        readiness_probe=k8s.core.v1.ProbeArgs(
            http_get=health, period_seconds=10, timeout_seconds=5, failure_threshold=3
        ),
        liveness_probe=k8s.core.v1.ProbeArgs(
            http_get=health, period_seconds=20, timeout_seconds=10, failure_threshold=3
        ),
        lifecycle=k8s.core.v1.LifecycleArgs(
            pre_stop=k8s.core.v1.LifecycleHandlerArgs(
                exec_=k8s.core.v1.ExecActionArgs(command=args.pre_stop)
            )
        ),
        security_context=restricted_container(run_as=RUN_AS),
        volume_mounts=[
            k8s.core.v1.VolumeMountArgs(name="cache", mount_path=CACHE_DIR),
            k8s.core.v1.VolumeMountArgs(name="tmp", mount_path="/tmp"),  # noqa: S108
            k8s.core.v1.VolumeMountArgs(name="shm", mount_path="/dev/shm"),  # noqa: S108
        ],
    )


def pod_spec(
    args: VllmServiceArgs, container: k8s.core.v1.ContainerArgs, selector: dict[str, str]
) -> k8s.core.v1.PodSpecArgs:
    """The pod: vLLM and its queue worker on the tier's GPU nodes, spread over zones and
    hosts, Pod Security "restricted", caches and /dev/shm on emptyDirs."""
    spread = [
        k8s.core.v1.TopologySpreadConstraintArgs(
            max_skew=1,
            topology_key=key,
            when_unsatisfiable="ScheduleAnyway",
            label_selector=k8s.meta.v1.LabelSelectorArgs(match_labels=selector),
        )
        for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")
    ]
    return k8s.core.v1.PodSpecArgs(
        # The worker is an ordinary container, not a native sidecar: both get SIGTERM
        # at once, so it stops taking work while vLLM's pre-stop waits for it.
        containers=[container, *([args.worker.container(PORT)] if args.worker else [])],
        service_account_name=args.worker.service_account if args.worker else None,
        node_selector=args.node_selector or {TIER: args.tier},
        tolerations=[
            k8s.core.v1.TolerationArgs(key=GPU_TAINT_KEY, operator="Exists", effect="NoSchedule")
        ],
        topology_spread_constraints=spread,
        termination_grace_period_seconds=args.termination_grace_seconds,
        # Nothing here calls the Kubernetes API. EKS Pod Identity still reaches the worker:
        # its webhook adds a projected token volume of its own (eks-pod-identity-token,
        # audience pods.eks.amazonaws.com), which does not depend on this setting.
        automount_service_account_token=False,
        security_context=restricted_pod(RUN_AS, fs_group=RUN_AS),
        volumes=[
            k8s.core.v1.VolumeArgs(
                name="cache",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                    size_limit=f"{args.cache_size_gib}Gi"
                ),
            ),
            k8s.core.v1.VolumeArgs(
                name="tmp",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(size_limit="1Gi"),
            ),
            k8s.core.v1.VolumeArgs(
                name="shm",
                empty_dir=k8s.core.v1.EmptyDirVolumeSourceArgs(
                    medium="Memory", size_limit=f"{args.shm_size_mib}Mi"
                ),
            ),
        ],
    )
