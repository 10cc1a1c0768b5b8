"""QueueDepthAutoscaler: KEDA scales a tier's vLLM Deployment on its queue's depth (A1-A4)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any, Self

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s
from pydantic import BaseModel, ConfigDict, Field, model_validator

from components import iam
from components.common import (
    KubernetesName,
    TaggedArgs,
    TierName,
    child_options,
    cost_tags,
    tier_labels,
)
from facts import names
from facts.checklist import (
    HPA_MAX_WINDOW_SECONDS,
    QUEUE_DEPTH_PER_REPLICA,
    SCALE_IN_IDLE_SECONDS,
    SCALE_OUT_SUSTAIN_SECONDS,
)
from facts.labels import MANAGED_BY

TYPE = "agentfleet:index:QueueDepthAutoscaler"
MIN_COOLDOWN_SECONDS = SCALE_IN_IDLE_SECONDS  # A3: never step to zero sooner
KEDA_SQS_ACTIONS = ("sqs:GetQueueAttributes",)  # all the aws-sqs-queue scaler calls


class ScheduledReplicas(BaseModel):
    """A cron window during which the Deployment is held at ``replicas`` at least."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = Field(description="Cron expression of when the window opens.")
    end: str = Field(description="Cron expression of when it closes.")
    timezone: str = Field("UTC", description="IANA time zone of the two expressions.")
    replicas: Annotated[int, Field(ge=1)] = Field(
        description="Replicas held at least while the window is open."
    )


class QueueDepthAutoscalerArgs(TaggedArgs):
    """Inputs of a QueueDepthAutoscaler."""

    tier: TierName = Field(description="The tier; its labels go on the KEDA objects.")
    namespace: KubernetesName = Field(description="Namespace of the Deployment.")
    deployment_name: Any = Field(description="The vLLM Deployment to scale.")
    user_facing: bool = Field(description="User-facing tiers never scale to zero (A4).")
    region: str = Field(description="AWS region of the queue.")
    queue_url: Any = Field(description="The tier's SQS queue URL.")
    queue_arn: Any = Field(description="The queue's ARN: the only resource the role may read.")
    min_replicas: Annotated[int, Field(ge=0)] = Field(
        description="A4: the floor; 0 lets a background tier scale to zero."
    )
    max_replicas: Annotated[int, Field(ge=1)] = Field(description="The ceiling.")
    replicas_per_instance: Annotated[int, Field(ge=1)] = Field(
        1, description="Replicas one GPU instance holds: scale-up adds a node's worth at once."
    )
    in_flight_target: Annotated[int, Field(ge=1)] = Field(
        description="The load (requests served plus waiting) per replica the HPA aims at: "
        "it asks for ceil(load / this) replicas. The replica's sessions (its share of the "
        "node's for one shape of several), lowered just enough that the HPA's 10% tolerance "
        "cannot hold the tier short of its planned replicas at its planned load; the plan "
        "computes it (infra.sizing.in_flight_target)."
    )
    queue_depth_per_replica: Annotated[int, Field(ge=1)] = Field(
        QUEUE_DEPTH_PER_REPLICA, description="A2: KEDA's target backlog per replica (queueLength)."
    )
    scale_out_sustain_seconds: Annotated[int, Field(ge=0, le=HPA_MAX_WINDOW_SECONDS)] = Field(
        SCALE_OUT_SUSTAIN_SECONDS,
        description="A2: scale-up stabilisation: the backlog must last this long.",
    )
    scale_in_idle_seconds: Annotated[int, Field(ge=0, le=HPA_MAX_WINDOW_SECONDS)] = Field(
        SCALE_IN_IDLE_SECONDS,
        description="A3: scale-down stabilisation, and the cooldown before zero.",
    )
    prometheus_address: str | None = Field(
        None,
        description="With one, user-facing tiers also scale on vLLM's waiting requests "
        "(vllm:num_requests_waiting).",
    )
    schedule: tuple[ScheduledReplicas, ...] = Field(
        (), description="Known peaks: KEDA cron triggers that pre-scale for them."
    )
    keda_operator_role_arn: Any = Field(
        None,
        description="The KEDA operator's IAM role (a string or an Output), the only principal "
        "allowed to assume the queue-reading role. Default: any principal of the account "
        "that IAM allows.",
    )
    role_path: str = Field(
        "/",
        description="IAM path of the queue-reading role; ClusterAddons' KEDA role may assume "
        "the roles under keda_role_path(cluster).",
    )

    @model_validator(mode="after")
    def _floor(self) -> Self:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) is above max_replicas ({self.max_replicas})"
            )
        return self

    @property
    def cooldown_seconds(self) -> int:
        return max(MIN_COOLDOWN_SECONDS, self.scale_in_idle_seconds)


def keda_role_path(cluster_name: str) -> str:
    """The IAM path of a cluster's queue-reading roles: what the KEDA operator may assume."""
    return f"/agentfleet/{cluster_name}/keda/"


def queue_reader_policy(queue_arn: str) -> str:
    """Least privilege for KEDA's SQS scaler: read the attributes of one queue."""
    return json.dumps(iam.document(iam.allow(KEDA_SQS_ACTIONS, queue_arn)))


def trust_policy(principal: str) -> str:
    return iam.trust({"AWS": principal}, ["sts:AssumeRole", "sts:TagSession"])


class QueueDepthAutoscaler(pulumi.ComponentResource):
    """A KEDA ScaledObject on a tier's vLLM Deployment, never on GPU utilisation. Two
    ``aws-sqs-queue`` triggers: the load (messages in flight plus waiting) against what one
    replica is sized for, so the planned load gets the planned replicas and half of it
    about half; and the waiting backlog against A2's N per replica. Optionally vLLM's
    waiting queue through Prometheus, and cron triggers for known peaks. Scale-up waits out
    the sustain window, then doubles (or adds a node's worth) every 15 s; scale-down waits
    for the idle window, then removes a tenth (or a node's worth) a minute. The floor and
    ceiling come from the plan. KEDA reads the queue through a TriggerAuthentication
    (``podIdentity.provider: aws``) with an IAM role that may only read that queue's
    attributes. ``facts.autoscaling`` models what KEDA and the HPA do with it."""

    if TYPE_CHECKING:  # for type checkers only: see components/package.py
        role: aws.iam.Role
        trigger_authentication: k8s.apiextensions.CustomResource
        scaled_object: k8s.apiextensions.CustomResource

    def __init__(
        self,
        name: str,
        args: QueueDepthAutoscalerArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(TYPE, name, None, opts)
        child = child_options(self, opts)
        labels = {**MANAGED_BY, **tier_labels(args.tier, "inference", args.user_facing)}
        principal: Any = args.keda_operator_role_arn or aws.get_caller_identity_output(
            opts=pulumi.InvokeOutputOptions(parent=self)
        ).account_id.apply(lambda account: f"arn:aws:iam::{account}:root")
        self.role = aws.iam.Role(
            names.keda_role(name),
            description=f"KEDA reads the depth of the {args.tier} task queue",
            assume_role_policy=pulumi.Output.from_input(principal).apply(trust_policy),
            path=args.role_path,
            tags=cost_tags(args.tier, args.environment, args.cost_center, "autoscaler"),
            opts=child,
        )
        aws.iam.RolePolicy(
            names.keda_role_policy(name),
            role=self.role.id,
            policy=pulumi.Output.from_input(args.queue_arn).apply(queue_reader_policy),
            opts=child,
        )
        object_name = names.scaling_object(name)  # one per shape: a tier may have several
        self.trigger_authentication = k8s.apiextensions.CustomResource(
            names.trigger_authentication(name),
            api_version="keda.sh/v1alpha1",
            kind="TriggerAuthentication",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=object_name, namespace=args.namespace, labels=labels
            ),
            spec={"podIdentity": {"provider": "aws", "roleArn": self.role.arn}},
            opts=child,
        )
        self.scaled_object = k8s.apiextensions.CustomResource(
            names.scaled_object(name),
            api_version="keda.sh/v1alpha1",
            kind="ScaledObject",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=object_name, namespace=args.namespace, labels=labels
            ),
            spec=scaled_object_spec(args, triggers(args, object_name)),
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.trigger_authentication])
            ),
        )
        self.register_outputs(
            {
                "role": self.role,
                "trigger_authentication": self.trigger_authentication,
                "scaled_object": self.scaled_object,
            }
        )


def triggers(args: QueueDepthAutoscalerArgs, auth_name: str) -> list[dict[str, Any]]:
    """The ScaledObject's triggers: the tier's load (in flight and waiting) against what one
    replica is sized for, the waiting backlog against A2's N (both waking from zero on any
    message when the floor is zero), vLLM's own waiting queue for user-facing tiers when a
    Prometheus is known, and a cron trigger per known peak."""

    def queue(name: str, target: int, in_flight: bool) -> dict[str, Any]:
        metadata: dict[str, Any] = {
            "queueURL": args.queue_url,
            "queueLength": str(target),
            "awsRegion": args.region,
            "scaleOnInFlight": "true" if in_flight else "false",
        }
        if args.min_replicas == 0:
            metadata["activationQueueLength"] = "0"  # wake from zero on any message
        return {
            "type": "aws-sqs-queue",
            "name": name,
            "authenticationRef": {"name": auth_name},
            "metadata": metadata,
        }

    found = [
        # The load: what the replicas hold and what waits, against what one replica is
        # sized for. At the planned load this asks for the planned replicas.
        queue("task-queue", args.in_flight_target, in_flight=True),
        # A2: a backlog of more than N waiting per replica, whatever is in flight.
        queue("backlog", args.queue_depth_per_replica, in_flight=False),
    ]
    if args.user_facing and args.prometheus_address:
        found.append(
            {
                "type": "prometheus",
                "name": "vllm-waiting",
                "metadata": {
                    "serverAddress": args.prometheus_address,
                    "query": pulumi.Output.concat(
                        'sum(vllm:num_requests_waiting{namespace="',
                        args.namespace,
                        '",pod=~"',
                        args.deployment_name,
                        '-.*"})',
                    ),
                    "threshold": str(args.queue_depth_per_replica),
                },
            }
        )
    for index, window in enumerate(args.schedule):
        found.append(
            {
                "type": "cron",
                "name": f"peak-{index}",
                "metadata": {
                    "timezone": window.timezone,
                    "start": window.start,
                    "end": window.end,
                    "desiredReplicas": str(min(window.replicas, args.max_replicas)),
                },
            }
        )
    return found


def scaled_object_spec(
    args: QueueDepthAutoscalerArgs, found: list[dict[str, Any]]
) -> dict[str, Any]:
    """The ScaledObject's spec: the Deployment it scales, floor and ceiling, KEDA's polling
    and cooldown, and the HPA behaviour (how fast up, how slowly down)."""
    return {
        "scaleTargetRef": {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": args.deployment_name,
        },
        "minReplicaCount": args.min_replicas,
        "maxReplicaCount": args.max_replicas,
        "pollingInterval": 15,
        "cooldownPeriod": args.cooldown_seconds,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {
                    # A2: scale up once the backlog has lasted the sustain window, then
                    # double (or add a node's worth) every 15 s: the floor reaches the
                    # planned peak within minutes, not one pod a minute.
                    "scaleUp": {
                        "stabilizationWindowSeconds": args.scale_out_sustain_seconds,
                        "selectPolicy": "Max",
                        "policies": [
                            {"type": "Percent", "value": 100, "periodSeconds": 15},
                            {
                                "type": "Pods",
                                "value": max(4, args.replicas_per_instance),
                                "periodSeconds": 15,
                            },
                        ],
                    },
                    # A3: scale down only after the queue stayed low for the idle window,
                    # then a tenth (or a node's worth) a minute.
                    "scaleDown": {
                        "stabilizationWindowSeconds": args.scale_in_idle_seconds,
                        "selectPolicy": "Max",
                        "policies": [
                            {"type": "Percent", "value": 10, "periodSeconds": 60},
                            {
                                "type": "Pods",
                                "value": args.replicas_per_instance,
                                "periodSeconds": 60,
                            },
                        ],
                    },
                }
            }
        },
        "triggers": found,
    }
