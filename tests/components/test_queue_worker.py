"""QueueWorker and the worker sidecar under recording mocks: the Pod Identity role's trust
and least privilege, the ServiceAccount, and the sidecar as the vLLM pod runs it."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from bridge.worker import Worker
from components import FleetTier, QueueWorker, QueueWorkerArgs
from components import queue_worker as worker_module
from facts import worker as facts_worker
from facts.resource_types import POD_MONITOR
from infra.offline.manifests import manifest
from infra.offline.mocks import Registration
from tests.components.builders import QUEUE_ARN, REPLIES, tier_args, tier_plan, worker_args
from tests.components.support import children, one, run, validate_all
from tests.helpers import REPO, prod_with_mixed_mig, stack_values

KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"


def build(args: QueueWorkerArgs) -> list[Registration]:
    return run(lambda: QueueWorker("orchestrator", args).role.arn)


def test_queue_worker_children() -> None:
    registrations = build(worker_args())
    assert sorted((r.type, r.name) for r in children(registrations, worker_module.TYPE)) == [
        ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "orchestrator-pod-identity"),
        ("aws:iam/role:Role", "orchestrator-worker-role"),
        ("aws:iam/rolePolicy:RolePolicy", "orchestrator-worker-policy"),
        ("kubernetes:core/v1:ServiceAccount", "orchestrator-service-account"),
    ]
    account = manifest(
        one(registrations, "kubernetes:core/v1:ServiceAccount", "orchestrator-service-account")
    )
    assert account["metadata"]["name"] == "orchestrator-queue-worker"
    assert account["metadata"]["namespace"] == "agentfleet"
    assert account["metadata"]["labels"]["agentfleet.io/role"] == "queue-worker"
    assert account["automountServiceAccountToken"] is False
    association = one(registrations, "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                      "orchestrator-pod-identity").inputs  # fmt: skip
    role = one(registrations, "aws:iam/role:Role", "orchestrator-worker-role")
    assert association["clusterName"] == "agents-prod"
    assert association["namespace"] == "agentfleet"
    assert association["serviceAccount"] == "orchestrator-queue-worker"
    assert association["roleArn"] == "arn:aws:iam::123456789012:role/orchestrator-worker-role"
    assert association["tags"]["agentfleet.io/tier"] == "orchestrator"
    assert role.inputs["tags"]["agentfleet.io/role"] == "queue-worker"
    validate_all(registrations)


def test_the_role_trusts_eks_pod_identity_only() -> None:
    role = one(build(worker_args()), "aws:iam/role:Role", "orchestrator-worker-role").inputs
    assert json.loads(role["assumeRolePolicy"]) == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                # the pods of this service account, and no other association's
                "Condition": {
                    "StringEquals": {
                        "aws:RequestTag/eks-cluster-name": "agents-prod",
                        "aws:RequestTag/kubernetes-namespace": "agentfleet",
                        "aws:RequestTag/kubernetes-service-account": "orchestrator-queue-worker",
                    }
                },
            }
        ],
    }


def statements(registrations: list[Registration]) -> list[dict[str, Any]]:
    policy = one(registrations, "aws:iam/rolePolicy:RolePolicy", "orchestrator-worker-policy")
    return list(json.loads(policy.inputs["policy"])["Statement"])


def test_the_policy_allows_only_take_hide_delete_on_its_queue_and_send_on_reply_queues() -> None:
    assert statements(build(worker_args())) == [
        {
            "Sid": "TakeRequests",
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"],
            "Resource": QUEUE_ARN,
        },
        {
            "Sid": "SendReplies",
            "Effect": "Allow",
            "Action": ["sqs:SendMessage"],
            "Resource": list(REPLIES),
        },
    ]


def test_without_reply_queues_the_worker_may_not_send_anywhere() -> None:
    (only,) = statements(build(worker_args(reply_queue_arns=())))
    assert only["Sid"] == "TakeRequests"
    assert "sqs:SendMessage" not in only["Action"]


def test_a_kms_queue_adds_decrypt_on_that_key_only() -> None:
    found = statements(build(worker_args(kms_key_arn=KEY_ARN)))
    assert found[-1] == {
        "Sid": "ReadEncrypted",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": KEY_ARN,
    }
    for statement in found:  # nothing wildcarded beyond the queue names the stack gave
        assert all("*" not in action for action in statement["Action"])
        assert statement["Resource"] != "*"


def tier_registrations(
    values: dict[str, Any], tier: str, *, worker: bool = True
) -> list[Registration]:
    args = tier_args(values, tier, worker=worker)
    return run(lambda: FleetTier(tier, args).endpoint)


def pod(registrations: list[Registration], name: str) -> dict[str, Any]:
    deployment = manifest(one(registrations, "kubernetes:apps/v1:Deployment", f"{name}-deployment"))
    return dict(deployment["spec"]["template"]["spec"])


def test_every_vllm_replica_gets_the_worker_sidecar() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["queue"] = {"replyQueueArns": list(REPLIES)}
    values["agentfleet:fleet"]["worker"] = {
        "image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/agentfleet-worker:0.1.0"
    }
    registrations = tier_registrations(values, "orchestrator")
    plan = tier_plan("prod", "orchestrator")
    spec = pod(registrations, "orchestrator")
    vllm, worker = spec["containers"]
    assert (vllm["name"], worker["name"]) == ("vllm", "queue-worker")
    assert worker["image"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com/agentfleet-worker:0.1.0"
    assert worker["command"] == ["agentfleet-worker"]  # the image's console script
    assert "args" not in worker
    queue = one(registrations, "aws:sqs/queue:Queue", "orchestrator-queue").inputs
    env = {item["name"]: item.get("value", item.get("valueFrom")) for item in worker["env"]}
    assert env == {
        "AGENTFLEET_QUEUE_URL": f"https://sqs.us-east-1.amazonaws.com/123456789012/{queue['name']}",
        "AGENTFLEET_VLLM_URL": "http://127.0.0.1:8000",
        "AGENTFLEET_MAX_IN_FLIGHT": str(plan.replica_groups[0].max_num_seqs),
        "AGENTFLEET_VISIBILITY_TIMEOUT": str(int(queue["visibilityTimeoutSeconds"])),
        "AGENTFLEET_REQUEST_TIMEOUT": str(plan.config.request_timeout_seconds),
        "AGENTFLEET_DRAIN_SECONDS": str(plan.config.request_timeout_seconds),
        "AGENTFLEET_WORKER_PORT": "8081",
        "AWS_REGION": "us-east-1",
        "AGENTFLEET_REPLY_QUEUES": ",".join(REPLIES),
        # prod streams its weights from S3: the worker lends vLLM the weights role
        "AGENTFLEET_WEIGHTS_ROLE_ARN": "arn:aws:iam::123456789012:role/orchestrator-weights-role",
        "VLLM_API_KEY": {"secretKeyRef": {"name": "orchestrator-vllm-api-key", "key": "api-key"}},
    }
    assert (
        worker["resources"]["requests"]
        == worker["resources"]["limits"]
        == {"cpu": "500m", "memory": "512Mi"}
    )
    assert worker["readinessProbe"]["httpGet"] == {"path": "/livez", "port": 8081}
    assert worker["livenessProbe"]["httpGet"] == {"path": "/livez", "port": 8081}
    assert worker["securityContext"]["readOnlyRootFilesystem"] is True
    assert worker["securityContext"]["runAsNonRoot"] is True
    assert spec["serviceAccountName"] == "orchestrator-queue-worker"
    # No Kubernetes API token: Pod Identity's webhook projects a token of its own.
    assert spec["automountServiceAccountToken"] is False
    assert worker["imagePullPolicy"] == "Always"  # a tag: the node checks what it names
    assert worker["securityContext"]["runAsUser"] >= 10000
    # Prometheus scrapes both containers' /metrics, each on its own named port.
    monitor = manifest(one(registrations, POD_MONITOR, "orchestrator-pod-monitor"))["spec"]
    ports = {p["name"]: c["name"] for c in spec["containers"] for p in c["ports"]}
    assert {ports[e["port"]] for e in monitor["podMetricsEndpoints"]} == {"vllm", "queue-worker"}
    assert {e["path"] for e in monitor["podMetricsEndpoints"]} == {"/metrics"}
    validate_all(registrations)


def test_vllm_waits_for_the_worker_to_drain_before_it_stops() -> None:
    registrations = tier_registrations(stack_values("prod"), "orchestrator")
    spec = pod(registrations, "orchestrator")
    command = spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"]
    assert command[:2] == ["python3", "-c"]
    script = command[2]
    compile(script, "pre-stop", "exec")  # valid Python for the vLLM image's interpreter
    assert "time.sleep(15)" in script
    assert "('127.0.0.1',8081)" in script
    # The grace period covers the pause, a whole drain of the longest request, and a margin.
    assert spec["terminationGracePeriodSeconds"] == 15 + 300 + 15


def pause_of(command: list[str]) -> int:
    """The seconds a rendered pre-stop pauses before it waits for anything else."""
    if command[0] == "sleep":
        return int(command[1])
    return int(re.search(r"time\.sleep\((\d+)\)", command[2]).group(1))  # type: ignore[union-attr]


@pytest.mark.parametrize("worker", [True, False])
def test_a_terminating_replica_finishes_every_request_it_took(worker: bool) -> None:
    """Kubernetes runs a container's pre-stop, then sends it SIGTERM, and kills it when the
    grace period (counted from the start) ends. vLLM aborts whatever still runs at SIGTERM
    unless --shutdown-timeout lets it finish (its default, 0, aborts: vllm-project/vllm
    #36666). The last request the load balancer hands the pod comes as the pre-stop pause
    ends and runs up to the tier's request timeout. vLLM gets SIGTERM when its pre-stop
    returns: at the pause's end at the earliest (no worker, or a worker with nothing to
    finish), at the worker's whole drain at the latest. From either, the last request must
    end inside the shutdown timeout and before the kill."""
    values = stack_values("prod")
    timeout = int(values["agentfleet:fleet"]["tiers"]["orchestrator"].get(
        "requestTimeoutSeconds", 300))  # fmt: skip
    spec = pod(tier_registrations(values, "orchestrator", worker=worker), "orchestrator")
    vllm = spec["containers"][0]
    argv = vllm["args"]
    shutdown = (
        int(argv[argv.index("--shutdown-timeout") + 1]) if "--shutdown-timeout" in argv else 0
    )
    pause = pause_of(vllm["lifecycle"]["preStop"]["exec"]["command"])
    last_request_ends = pause + timeout
    earliest, latest = pause, max(pause, timeout) if worker else pause
    for sigterm in (earliest, latest):
        assert sigterm + shutdown >= last_request_ends, f"aborted at {sigterm + shutdown} s"
    assert spec["terminationGracePeriodSeconds"] >= last_request_ends + 15  # vLLM lets go


def test_a_queue_fault_leaves_the_pod_ready_for_the_load_balancer() -> None:
    """A pod is Ready when all its containers are; a container is ready when its readiness
    probe passes, or, without one, once it runs. With vLLM healthy and the worker unable to
    reach SQS (its /readyz answers 503 then, as the worker's own code says), the pod must
    stay Ready: the load balancer keeps a replica that serves."""
    worker = Worker.__new__(Worker)  # the worker's readiness rule, nothing started
    worker.vllm_healthy, worker.queue_reachable, worker.stopping = True, False, asyncio.Event()
    # vLLM healthy; the worker's loop runs (/livez answers) but its queue is out (/readyz)
    answers = {("/health", 8000): True, ("/livez", 8081): True, ("/readyz", 8081): worker.ready}
    spec = pod(tier_registrations(stack_values("prod"), "orchestrator"), "orchestrator")

    def ready(container: dict[str, Any]) -> bool:
        probe = container.get("readinessProbe")
        if probe is None:
            return True
        return answers[(probe["httpGet"]["path"], probe["httpGet"]["port"])]

    assert worker.ready is False
    assert [c["name"] for c in spec["containers"]] == ["vllm", "queue-worker"]
    assert all(ready(container) for container in spec["containers"])


def test_the_worker_can_be_turned_off() -> None:
    registrations = tier_registrations(stack_values("prod"), "orchestrator", worker=False)
    spec = pod(registrations, "orchestrator")
    assert [c["name"] for c in spec["containers"]] == ["vllm"]
    assert spec["automountServiceAccountToken"] is False
    assert "serviceAccountName" not in spec
    assert spec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "15"]
    assert not [r for r in registrations if r.type == worker_module.TYPE]


def test_each_mig_shape_caps_its_worker_at_its_own_max_num_seqs() -> None:
    values = prod_with_mixed_mig()
    plan = tier_plan(values, "orchestrator")
    registrations = tier_registrations(values, "orchestrator")
    caps = {}
    for group in plan.replica_groups:
        shape = f"orchestrator-{group.profile.replace('.', '-')}"  # type: ignore[union-attr]
        env = {e["name"]: e.get("value") for e in pod(registrations, shape)["containers"][1]["env"]}
        caps[group.profile] = env["AGENTFLEET_MAX_IN_FLIGHT"]
        assert caps[group.profile] == str(group.max_num_seqs)
    assert len(set(caps.values())) == 2  # the two slice sizes take different loads
    assert len([r for r in registrations if r.type == worker_module.TYPE]) == 1  # one identity


def test_a_kms_queue_resolves_its_key_for_the_worker() -> None:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["queue"] = {"kmsKeyId": "alias/agents"}
    found = statements(tier_registrations(values, "orchestrator"))
    (queue_key,) = [s for s in found if s.get("Sid") == "ReadEncrypted"]
    assert queue_key["Action"] == ["kms:Decrypt"]
    assert queue_key["Resource"].startswith("arn:aws:kms:us-east-1:123456789012:key/")


def test_vllm_pods_start_after_their_pod_identity_exists() -> None:
    registrations = tier_registrations(stack_values("prod"), "orchestrator")
    deployment = one(registrations, "kubernetes:apps/v1:Deployment", "orchestrator-deployment")
    association = one(registrations, "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                      "orchestrator-pod-identity")  # fmt: skip
    account = one(registrations, "kubernetes:core/v1:ServiceAccount",
                  "orchestrator-service-account")  # fmt: skip
    assert association.urn in deployment.dependencies
    assert account.urn in deployment.dependencies


def test_each_agent_gets_its_own_reply_queues_from_the_stack() -> None:
    """queue.replyQueuesBySender reaches the worker as its sender map, and the workers'
    role may send to those queues too."""
    alice = "arn:aws:sqs:us-east-1:123456789012:agents-prod-replies-alice"
    values = stack_values("prod")
    queue = values["agentfleet:fleet"]["tiers"]["orchestrator"]["queue"]
    queue["replyQueuesBySender"] = {"AROAALICEALICEALICE1": [alice]}
    registrations = tier_registrations(values, "orchestrator")
    env = {
        e["name"]: e.get("value")
        for e in pod(registrations, "orchestrator")["containers"][1]["env"]
    }
    assert json.loads(env["AGENTFLEET_REPLY_QUEUES_BY_SENDER"]) == {"AROAALICEALICEALICE1": [alice]}
    policy = json.loads(
        next(r for r in registrations if r.type == "aws:iam/rolePolicy:RolePolicy"
             and r.name == "orchestrator-worker-policy").inputs["policy"]
    )  # fmt: skip
    (send,) = [s for s in policy["Statement"] if s["Sid"] == "SendReplies"]
    assert alice in send["Resource"]


def test_the_workers_memory_holds_every_request_it_may_take_at_its_largest() -> None:
    """A worker of N in flight, each holding the largest answer it reads (decoded, its
    reply serialised), must not be OOM-killed: the kill reruns all N and, repeated, sends
    other tenants' messages to the dead-letter queue. lightweight takes 300 at once."""
    values = stack_values("prod")
    registrations = tier_registrations(values, "lightweight")
    worker = pod(registrations, "lightweight")["containers"][1]
    plan = tier_plan(values, "lightweight")
    limit = int(worker["resources"]["limits"]["memory"].removesuffix("Mi"))
    in_flight = plan.replica_groups[0].max_num_seqs
    assert in_flight == 300
    assert limit >= facts_worker.IDLE_RSS_MIB + in_flight * facts_worker.REQUEST_MIB
    assert worker["resources"]["requests"]["memory"] == worker["resources"]["limits"]["memory"]


def test_a_request_in_flight_holds_what_the_constant_says() -> None:
    """REQUEST_MIB against the process's resident memory now (benchmarks/worker_memory.py,
    50 of the largest answers held at once): within the margin the limit adds."""
    script = REPO / "benchmarks" / "worker_memory.py"
    out = subprocess.run(
        [sys.executable, str(script), "--in-flight", "50"],
        capture_output=True, text=True, check=True, timeout=300,
    ).stdout  # fmt: skip
    per = float(re.search(r"([\d.]+) MiB a request", out)[1])  # type: ignore[index]
    assert per <= facts_worker.REQUEST_MIB * facts_worker.MEMORY_MARGIN, out
