"""QueueWorker: what the tier's queue workers run as (a ServiceAccount with an IAM role
through EKS Pod Identity), and the sidecar container each vLLM replica gets."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field

from components import iam
from components.common import (
    KubernetesName,
    TaggedArgs,
    TierName,
    child_options,
    cost_tags,
    pull_policy,
    restricted_container,
    tier_labels,
)
from components.model_store import read_statements
from components.secrets import api_key_env
from facts import defaults, names
from facts.labels import MANAGED_BY
from facts.worker import CREDENTIALS_PATH, CREDENTIALS_PORT, ENV, IMAGE, PORT, RUN_AS

TYPE = "agentfleet:index:QueueWorker"
QUEUE_ACTIONS = ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility")
REPLY_ACTIONS = ("sqs:SendMessage",)
KMS_ACTIONS = ("kms:Decrypt",)  # to read messages of a queue encrypted with a KMS key
COMMAND = ("agentfleet-worker",)  # the worker's console script, the image's entry point


class WorkerSidecar(BaseModel):
    """The ``agentfleet worker`` container beside vLLM: what it reads and how it drains."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    image: str = Field(IMAGE, description="The worker image (this package's Dockerfile).")
    queue_url: Any = Field(description="The tier's task queue.")
    region: str = Field(description="AWS region of the queue.")
    service_account: KubernetesName = Field(
        description="The ServiceAccount whose Pod Identity role the worker uses."
    )
    max_in_flight: Annotated[int, Field(ge=1)] = Field(
        description="Requests forwarded at once: the replica's --max-num-seqs."
    )
    visibility_timeout_seconds: Annotated[int, Field(ge=1, le=43_200)] = Field(
        description="The queue's visibility timeout; extended while a request runs."
    )
    request_timeout_seconds: Annotated[int, Field(ge=1)] = Field(
        description="The longest request; also the drain on SIGTERM."
    )
    reply_queue_arns: tuple[str, ...] = Field(
        (), description="Reply queues the worker may answer on; others are refused unrun."
    )
    reply_queues_by_sender: dict[str, tuple[str, ...]] = Field(
        default_factory=dict,
        description="Each sender's own reply queues (SQS SenderId's IAM unique id to ARNs).",
    )
    cpu_millis: Annotated[int, Field(ge=50)] = Field(
        defaults.WORKER_CPU_MILLIS, description="CPU request and limit."
    )
    memory_mib: Annotated[int, Field(ge=64)] = Field(
        defaults.WORKER_MEMORY_MIB, description="Memory request and limit."
    )
    api_key_secret: str | None = Field(
        None, description="Secret holding the key vLLM requires (components.secrets)."
    )
    weights_role_arn: Any = Field(
        None,
        description="The tier's weights role (QueueWorker.weights_role): the worker hands "
        "vLLM its short-lived credentials on the pod's loopback. None: weights not in S3.",
    )

    def container(self, vllm_port: int) -> k8s.core.v1.ContainerArgs:
        env = {
            ENV["queue_url"]: self.queue_url,
            ENV["vllm_url"]: f"http://127.0.0.1:{vllm_port}",
            ENV["max_in_flight"]: str(self.max_in_flight),
            ENV["visibility_timeout"]: str(self.visibility_timeout_seconds),
            ENV["request_timeout"]: str(self.request_timeout_seconds),
            ENV["drain_seconds"]: str(self.request_timeout_seconds),
            ENV["port"]: str(PORT),
            ENV["region"]: self.region,
        }
        if self.reply_queue_arns:
            env[ENV["reply_queues"]] = ",".join(self.reply_queue_arns)
        if self.reply_queues_by_sender:
            env[ENV["reply_queues_by_sender"]] = json.dumps(
                {sender: list(arns) for sender, arns in self.reply_queues_by_sender.items()},
                separators=(",", ":"),
            )
        if self.weights_role_arn is not None:
            env[ENV["weights_role_arn"]] = self.weights_role_arn
        resources = {"cpu": f"{self.cpu_millis}m", "memory": f"{self.memory_mib}Mi"}
        return k8s.core.v1.ContainerArgs(
            name="queue-worker",
            image=self.image,
            image_pull_policy=pull_policy(self.image),
            command=list(COMMAND),
            ports=[k8s.core.v1.ContainerPortArgs(name="worker", container_port=PORT)],
            env=[
                *(k8s.core.v1.EnvVarArgs(name=name, value=value) for name, value in env.items()),
                *([api_key_env(self.api_key_secret)] if self.api_key_secret else []),
            ],
            resources=k8s.core.v1.ResourceRequirementsArgs(requests=resources, limits=resources),
            # Ready, and alive, while its loop runs (/livez), not on /readyz: a pod is Ready
            # only when all its containers are, and a queue the worker cannot reach (an SQS
            # or STS throttle, the Pod Identity agent restarting) must not take a healthy
            # vLLM out of the load balancer. That is an alert (QueueWorkerQueueUnreachable).
            readiness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/livez", port=PORT),
                period_seconds=10,
                timeout_seconds=3,
                failure_threshold=3,
            ),
            liveness_probe=k8s.core.v1.ProbeArgs(
                http_get=k8s.core.v1.HTTPGetActionArgs(path="/livez", port=PORT),
                period_seconds=20,
                timeout_seconds=5,
                failure_threshold=3,
            ),
            security_context=restricted_container(run_as=RUN_AS),
        )


SKIP_CONTAINERS = "eks.amazonaws.com/skip-containers"
"""The pod annotation naming the containers (comma-separated, no spaces) EKS's pod
identity webhook gives no credentials: neither the variables nor the token's mount
(amazon-eks-pod-identity-webhook, pkg/handler/handler.go, on its Pod Identity path as on
IRSA's)."""
VLLM_CONTAINER = "vllm"


def skip_credentials(worker: WorkerSidecar | None) -> dict[str, str]:
    """The inference pod's annotation keeping the pod's AWS credentials out of the vLLM
    container, which parses every tenant's request: only the worker holds them."""
    return {} if worker is None else {SKIP_CONTAINERS: VLLM_CONTAINER}


def credentials_env(worker: WorkerSidecar | None) -> list[k8s.core.v1.EnvVarArgs]:
    """vLLM's only AWS credentials, where its weights are in S3: the weights role's, from
    the worker on the pod's loopback (bridge.credentials)."""
    if worker is None or worker.weights_role_arn is None:
        return []
    return [
        k8s.core.v1.EnvVarArgs(
            name="AWS_CONTAINER_CREDENTIALS_FULL_URI",
            value=f"http://127.0.0.1:{CREDENTIALS_PORT}{CREDENTIALS_PATH}",
        )
    ]


class QueueWorkerArgs(TaggedArgs):
    """Inputs of a QueueWorker."""

    tier: TierName = Field(description="The tier whose queue the workers drain.")
    cluster_name: str = Field(description="The EKS cluster of the Pod Identity association.")
    namespace: KubernetesName = Field(description="Namespace of the ServiceAccount.")
    part: TierName | None = Field(
        None,
        description="The part of the tier whose queue these workers drain, when the tier "
        "serves several models (co-resident on MIG); part of the ServiceAccount's name.",
    )
    queue_arn: Any = Field(description="The tier's task queue: receive, delete, hide.")
    reply_queue_arns: tuple[str, ...] = Field(
        (), description="The agents' reply queues: send only."
    )
    kms_key_arn: Any = Field(None, description="The queue's KMS key when it has one: decrypt only.")
    weights_folders: tuple[str, ...] = Field(
        (),
        description="S3 folders (s3://<bucket>/<prefix>/) the pods stream weights from: read "
        "and list within them only (the pods run as this service account).",
    )
    weights_kms_key_arn: Any = Field(
        None, description="The weights bucket's KMS key: decrypt through S3 only."
    )
    region: str | None = Field(
        None, description="The weights bucket's region (decrypt through that region's S3)."
    )

    @property
    def service_account_name(self) -> str:
        return names.queue_worker_account(names.part(self.tier, self.part))


def worker_policy(
    queue_arn: str,
    reply_queue_arns: tuple[str, ...],
    kms_key_arn: str | None,
    weights_role_arn: str | None = None,
) -> str:
    """Least privilege for the worker: take, hide and delete messages of one queue; send to
    the named reply queues; decrypt with the queue's key, if it has one; and assume the
    weights role, if the model is in S3, to lend vLLM its credentials."""
    statements = [iam.allow(QUEUE_ACTIONS, queue_arn, sid="TakeRequests")]
    if reply_queue_arns:
        statements.append(iam.allow(REPLY_ACTIONS, reply_queue_arns, sid="SendReplies"))
    if kms_key_arn:
        statements.append(iam.allow(KMS_ACTIONS, kms_key_arn, sid="ReadEncrypted"))
    if weights_role_arn:
        statements.append(iam.allow("sts:AssumeRole", weights_role_arn, sid="LendWeightsRole"))
    return json.dumps(iam.document(*statements))


class QueueWorker(pulumi.ComponentResource):
    """The identity of a tier's queue workers: a ServiceAccount (no RBAC: it reaches AWS
    only), an IAM role that EKS Pod Identity gives its pods (the worker container only),
    with a least-privilege policy, the Pod Identity association between the two, and, where
    the weights are in S3, the weights role the worker lends vLLM (read of the model's
    folder only)."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        service_account: k8s.core.v1.ServiceAccount
        role: aws.iam.Role
        association: aws.eks.PodIdentityAssociation
        weights_role: aws.iam.Role | None
        weights_role_arn: pulumi.Output[str] | None
        """The role vLLM reads its weights with, from the worker; None: not from S3."""
        service_account_name: str
        """The Kubernetes ServiceAccount the worker runs as."""

    def __init__(
        self, name: str, args: QueueWorkerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        tags = cost_tags(args.tier, args.environment, args.cost_center, "queue-worker")
        self.service_account_name = args.service_account_name
        self.service_account = k8s.core.v1.ServiceAccount(
            f"{name}-service-account",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=self.service_account_name,
                namespace=args.namespace,
                labels={**MANAGED_BY, **tier_labels(args.tier, "queue-worker")},
            ),
            automount_service_account_token=False,
            opts=child,
        )
        self.role = aws.iam.Role(
            f"{name}-worker-role",
            description=f"agentfleet worker: moves the {args.tier} task queue into vLLM",
            assume_role_policy=iam.pod_identity_trust(
                args.cluster_name, args.namespace, self.service_account_name
            ),
            tags=tags,
            opts=child,
        )
        self.weights_role = self._weights_role(name, args, tags, child)
        weights_role_arn = None if self.weights_role is None else self.weights_role.arn
        self.weights_role_arn = weights_role_arn
        aws.iam.RolePolicy(
            f"{name}-worker-policy",
            role=self.role.id,
            policy=pulumi.Output.all(args.queue_arn, args.kms_key_arn, weights_role_arn).apply(
                lambda values: worker_policy(values[0], args.reply_queue_arns, values[1], values[2])
            ),
            opts=child,
        )
        self.association = aws.eks.PodIdentityAssociation(
            f"{name}-pod-identity",
            cluster_name=args.cluster_name,
            namespace=args.namespace,
            service_account=self.service_account_name,
            role_arn=self.role.arn,
            tags=tags,
            opts=child,
        )
        self.register_outputs(
            {
                "service_account": self.service_account,
                "role": self.role,
                "association": self.association,
            }
        )

    def _weights_role(
        self,
        name: str,
        args: QueueWorkerArgs,
        tags: dict[str, str],
        child: pulumi.ResourceOptions,
    ) -> aws.iam.Role | None:
        """Read of the model's S3 folders and nothing else, for vLLM: only the worker's role
        may assume it (the worker serves its sessions on the pod's loopback)."""
        if not args.weights_folders:
            return None
        role = aws.iam.Role(
            f"{name}-weights-role",
            description=f"agentfleet {args.tier}: vLLM reads its weights (from the worker)",
            assume_role_policy=self.role.arn.apply(
                lambda arn: iam.trust({"AWS": arn}, ("sts:AssumeRole",))
            ),
            max_session_duration=3600,
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-weights-policy",
            role=role.id,
            policy=pulumi.Output.from_input(args.weights_kms_key_arn).apply(
                lambda key: json.dumps(
                    iam.document(*read_statements(args.weights_folders, key, args.region))
                )
            ),
            opts=child,
        )
        return role
