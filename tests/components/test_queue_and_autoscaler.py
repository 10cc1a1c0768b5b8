"""AgentQueue and QueueDepthAutoscaler under recording mocks: DLQ wiring and SSE, the
ScaledObject's trigger, windows and bounds, and the IAM role's least privilege."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from components import (
    AgentQueue,
    AgentQueueArgs,
    QueueDepthAutoscaler,
    QueueDepthAutoscalerArgs,
    ScheduledReplicas,
)
from components import autoscaler as autoscaler_module
from components import queue as queue_module
from facts.resource_types import IAM_ROLE as ROLE
from facts.resource_types import IAM_ROLE_POLICY as ROLE_POLICY
from facts.resource_types import QUEUE
from facts.resource_types import QUEUE_POLICY as POLICY
from facts.resource_types import SCALED_OBJECT as SCALED
from facts.resource_types import TRIGGER_AUTHENTICATION as AUTH
from infra.offline.manifests import manifest
from infra.offline.mocks import OfflineMocks, Registration
from tests.components.builders import QUEUE_ARN, QUEUE_URL, queue_args
from tests.components.builders import autoscaler_args as scaler_args
from tests.components.support import children, one, run, validate_all


def build_queue(args: AgentQueueArgs) -> list[Registration]:
    return run(lambda: AgentQueue("orchestrator", args).url)


def test_queue_with_dead_letter_queue() -> None:
    registrations = build_queue(queue_args())
    assert sorted((r.type, r.name) for r in children(registrations, queue_module.TYPE)) == [
        (QUEUE, "orchestrator-dlq"),
        (QUEUE, "orchestrator-queue"),
        (POLICY, "orchestrator-dlq-policy"),
        (POLICY, "orchestrator-queue-policy"),
    ]
    queue = one(registrations, QUEUE, "orchestrator-queue").inputs
    dlq = one(registrations, QUEUE, "orchestrator-dlq").inputs
    assert queue["sqsManagedSseEnabled"] is True
    assert dlq["sqsManagedSseEnabled"] is True
    assert queue["receiveWaitTimeSeconds"] == 20.0  # long polling
    assert queue["visibilityTimeoutSeconds"] == 360.0  # the 300 s request, and a margin
    assert json.loads(queue["redrivePolicy"]) == {
        "deadLetterTargetArn": f"arn:aws:sqs:us-east-1:123456789012:{dlq['name']}",
        "maxReceiveCount": 5,
    }
    assert dlq["name"] == f"{queue['name']}-dlq"
    assert dlq["messageRetentionSeconds"] >= queue["messageRetentionSeconds"]
    assert dlq["messageRetentionSeconds"] == 1_209_600.0
    assert queue["tags"]["agentfleet.io/tier"] == "orchestrator"
    assert queue["tags"]["agentfleet.io/environment"] == "prod"


def test_queues_refuse_plain_http() -> None:
    registrations = build_queue(queue_args())
    for name in ("orchestrator-queue-policy", "orchestrator-dlq-policy"):
        policy = json.loads(one(registrations, POLICY, name).inputs["policy"])
        (statement,) = policy["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Action"] == "sqs:*"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_kms_encryption_and_receive_count() -> None:
    args = queue_args(kms_key_id="alias/agents", max_receive_count=3, request_timeout_seconds=900)
    registrations = build_queue(args)
    queue = one(registrations, QUEUE, "orchestrator-queue").inputs
    assert queue["kmsMasterKeyId"] == "alias/agents"
    assert "sqsManagedSseEnabled" not in queue
    assert json.loads(queue["redrivePolicy"])["maxReceiveCount"] == 3
    assert queue["visibilityTimeoutSeconds"] == 960.0


def build_scaler(
    args: QueueDepthAutoscalerArgs, mocks: OfflineMocks | None = None
) -> list[Registration]:
    return run(lambda: QueueDepthAutoscaler("orchestrator", args).scaled_object.id, mocks)


def test_scaled_object_scales_on_queue_depth() -> None:
    registrations = build_scaler(scaler_args())
    assert sorted((r.type, r.name) for r in children(registrations, autoscaler_module.TYPE)) == [
        (ROLE, "orchestrator-keda-role"),
        (ROLE_POLICY, "orchestrator-keda-policy"),
        (SCALED, "orchestrator-scaled-object"),
        (AUTH, "orchestrator-trigger-auth"),
    ]
    scaled = manifest(one(registrations, SCALED, "orchestrator-scaled-object"))
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "orchestrator-vllm",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (2, 5)
    assert spec["cooldownPeriod"] == 300
    assert spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 60,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 15},
                {"type": "Pods", "value": 4, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 300,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Percent", "value": 10, "periodSeconds": 60},
                {"type": "Pods", "value": 1, "periodSeconds": 60},
            ],
        },
    }
    queue = {"queueURL": QUEUE_URL, "awsRegion": "us-east-1"}
    auth = {"name": "orchestrator-queue-depth"}
    assert spec["triggers"] == [
        {
            "type": "aws-sqs-queue",
            "name": "task-queue",
            "authenticationRef": auth,
            "metadata": {**queue, "queueLength": "100", "scaleOnInFlight": "true"},
        },
        {
            "type": "aws-sqs-queue",
            "name": "backlog",
            "authenticationRef": auth,
            "metadata": {**queue, "queueLength": "10", "scaleOnInFlight": "false"},
        },
    ]
    assert scaled["metadata"]["labels"]["agentfleet.io/tier"] == "orchestrator"
    assert scaled["metadata"]["labels"]["agentfleet.io/user-facing"] == "true"
    assert validate_all(registrations) == 2


def test_scale_to_zero_tier_activates_on_any_message() -> None:
    args = scaler_args(user_facing=False, min_replicas=0, scale_out_sustain_seconds=30)
    spec = manifest(one(build_scaler(args), SCALED, "orchestrator-scaled-object"))["spec"]
    assert spec["minReplicaCount"] == 0
    assert [t["metadata"]["activationQueueLength"] for t in spec["triggers"]] == ["0", "0"]
    behavior = spec["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleUp"]["stabilizationWindowSeconds"] == 30


def test_waiting_queue_trigger_and_scheduled_peaks() -> None:
    args = scaler_args(
        prometheus_address="http://prometheus.monitoring:9090",
        schedule=(ScheduledReplicas(start="0 8 * * 1-5", end="0 18 * * 1-5", replicas=9),),
    )
    registrations = build_scaler(args)
    triggers = manifest(one(registrations, SCALED, "orchestrator-scaled-object"))["spec"][
        "triggers"
    ]
    assert [t["type"] for t in triggers] == ["aws-sqs-queue", "aws-sqs-queue", "prometheus", "cron"]
    assert triggers[2]["metadata"] == {
        "serverAddress": "http://prometheus.monitoring:9090",
        "query": "sum(vllm:num_requests_waiting"
        '{namespace="agentfleet",pod=~"orchestrator-vllm-.*"})',
        "threshold": "10",
    }
    # A peak beyond the ceiling is held at the ceiling.
    assert triggers[3]["metadata"] == {
        "timezone": "UTC",
        "start": "0 8 * * 1-5",
        "end": "0 18 * * 1-5",
        "desiredReplicas": "5",
    }
    assert validate_all(registrations) == 2
    assert all("gpu" not in json.dumps(t).lower() for t in triggers)  # never GPU utilisation


def test_keda_role_may_only_read_that_queues_attributes() -> None:
    mocks = OfflineMocks()
    registrations = build_scaler(scaler_args(), mocks)
    policy = json.loads(
        one(registrations, ROLE_POLICY, "orchestrator-keda-policy").inputs["policy"]
    )
    assert policy == {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["sqs:GetQueueAttributes"], "Resource": QUEUE_ARN}
        ],
    }
    trust = json.loads(
        one(registrations, ROLE, "orchestrator-keda-role").inputs["assumeRolePolicy"]
    )
    assert trust["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert mocks.calls == ["aws:index/getCallerIdentity:getCallerIdentity"]
    auth = manifest(one(registrations, AUTH, "orchestrator-trigger-auth"))
    assert auth["spec"] == {
        "podIdentity": {
            "provider": "aws",
            "roleArn": "arn:aws:iam::123456789012:role/orchestrator-keda-role",
        }
    }


def test_only_the_keda_operator_may_assume_the_role_when_named() -> None:
    operator = "arn:aws:iam::123456789012:role/keda-operator"
    registrations = build_scaler(scaler_args(keda_operator_role_arn=operator))
    trust = json.loads(
        one(registrations, ROLE, "orchestrator-keda-role").inputs["assumeRolePolicy"]
    )
    assert trust["Statement"] == [
        {
            "Effect": "Allow",
            "Principal": {"AWS": operator},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    ]


def test_scaler_args_are_validated() -> None:
    with pytest.raises(ValidationError, match=r"min_replicas \(6\) is above max_replicas \(5\)"):
        QueueDepthAutoscalerArgs(**{**scaler_args().model_dump(), "min_replicas": 6})
