"""The vLLM container, which parses every tenant's request, holds none of the pod's AWS
credentials: EKS's pod identity webhook skips it (its rule, as amazon-eks-pod-identity-
webhook's handler applies it, is replayed on the rendered pod), and where the weights are in
S3 its only credentials are the weights role's, lent by the worker on the pod's loopback,
which may read the model's folder and nothing else."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest

from infra.offline.manifests import is_kubernetes_object, manifest
from infra.offline.mocks import Registration, run_program
from tests.helpers import stack_values

SKIP = "eks.amazonaws.com/skip-containers"
POD_IDENTITY_ENV = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")


def webhook_injected(pod: dict[str, Any]) -> dict[str, dict[str, str]]:
    """What the webhook adds to each container of a pod whose service account has a Pod
    Identity association: the credentials' variables, unless the pod's skip-containers
    annotation (one CSV record of exact names; unparsable: none skipped) names it, and
    unless the container sets the variable itself."""
    skipped: set[str] = set()
    value = pod["metadata"].get("annotations", {}).get(SKIP)
    if value is not None:
        try:
            skipped = set(next(csv.reader(io.StringIO(value))))
        except (csv.Error, StopIteration):
            skipped = set()
    injected = {}
    for container in pod["spec"]["containers"]:
        own = {e["name"]: e.get("value") for e in container.get("env", [])}
        if container["name"] in skipped:
            injected[container["name"]] = own
            continue
        given = {
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
            "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/"
            "serviceaccount/eks-pod-identity-token",
        }
        injected[container["name"]] = {**given, **own}
    return injected


@pytest.fixture(scope="module")
def prod() -> list[Registration]:
    registrations, _ = run_program(stack_values("prod"), stack="prod")
    return registrations


def _policy(registrations: list[Registration], name: str) -> dict[str, Any]:
    (found,) = [r for r in registrations if r.type == "aws:iam/rolePolicy:RolePolicy"
                and r.name == name]  # fmt: skip
    policy: dict[str, Any] = json.loads(found.inputs["policy"])
    return policy


def _actions(policy: dict[str, Any]) -> set[str]:
    return {
        action
        for statement in policy["Statement"]
        for action in (
            [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]
        )
    }


def test_the_vllm_container_gets_none_of_the_workers_credentials(
    prod: list[Registration],
) -> None:
    pods = [
        manifest(r)["spec"]["template"]
        for r in prod
        if is_kubernetes_object(r) and r.type == "kubernetes:apps/v1:Deployment"
        and manifest(r)["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/name")
        == "vllm"
    ]  # fmt: skip
    assert pods
    for pod in pods:
        seen = webhook_injected(pod)
        vllm, worker = seen["vllm"], seen["queue-worker"]
        assert (
            worker["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == "http://169.254.170.23/v1/credentials"
        )
        assert "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" not in vllm  # no token: no Pod Identity
        # The weights stream from S3 in prod: vLLM's only credentials are on the loopback.
        assert vllm["AWS_CONTAINER_CREDENTIALS_FULL_URI"] == (
            "http://127.0.0.1:8082/weights-credentials"
        )
        ports = {p["containerPort"] for c in pod["spec"]["containers"] for p in c.get("ports", [])}
        assert 8082 not in ports  # the lender is not on the pod's address


def test_vllms_credentials_read_the_weights_and_nothing_else(prod: list[Registration]) -> None:
    """The weights role may read the model's folder; the SQS rights stay with the worker's
    role, which no longer reads the weights itself."""
    weights = _policy(prod, "orchestrator-weights-policy")
    assert _actions(weights) <= {"s3:GetObject", "s3:ListBucket", "kms:Decrypt"}
    assert "s3:GetObject" in _actions(weights)
    worker = _policy(prod, "orchestrator-worker-policy")
    assert not any(action.startswith("s3:") for action in _actions(worker))
    assert "sts:AssumeRole" in _actions(worker)
    (role,) = [r for r in prod if r.type == "aws:iam/role:Role"
               and r.name == "orchestrator-weights-role"]  # fmt: skip
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    # only the worker's role may take it
    assert trust["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/orchestrator-worker-role"}
    assert trust["Action"] in ("sts:AssumeRole", ["sts:AssumeRole"])
