"""The pack served exactly as the Pulumi CLI serves it (`python -m pulumi.policy
<engine-address> policies`, driven over gRPC): the policy list and enforcement levels, a
configured override, and end to end over the shipped stacks and one realistic broken stack
per mandatory policy."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from policies.metadata import POLICIES as META
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE

from infra.offline.mocks import Registration, run_program
from infra.offline.policy_client import Finding, PolicyConfigError, PolicyPackServer, pack_config
from tests.helpers import STACKS, stack_values
from tests.policies.support import hand_declared, props, stack_resources

# CONTRACT.md's table: the public names and their default enforcement.
CONTRACT = {
    "gpu-tier-matches-latency-class": "advisory",
    "vllm-max-num-seqs-ratio": "mandatory",
    "mcp-servers-off-gpu": "mandatory",
    "task-queue-per-pool": "mandatory",
    "inference-health-probes": "mandatory",
    "lb-health-check-interval": "mandatory",
    "min-two-gpu-instances": "mandatory",
    "scale-on-queue-depth": "mandatory",
    "scale-out-threshold": "mandatory",
    "scale-in-cooldown": "mandatory",
    "user-facing-floor": "mandatory",
    "spot-only-interruptible": "mandatory",
    "ttft-p95-alert": "mandatory",
    "kv-cache-alert": "mandatory",
    "queue-depth-dashboard": "advisory",
    "cost-tags-by-tier": "mandatory",
    "background-tiers-use-spot": "advisory",
    "cost-budget-alerts": "mandatory",
    "sqs-encryption": "mandatory",
    "sqs-dead-letter-queue": "mandatory",
    "pod-security-restricted": "mandatory",
    "no-plaintext-secrets": "mandatory",
    "eks-private-endpoint": "mandatory",
    "eks-secrets-encryption": "mandatory",
    "helm-chart-pinned": "advisory",
}


@pytest.fixture(scope="module")
def pack() -> Iterator[PolicyPackServer]:
    with PolicyPackServer(stack="test") as server:
        yield server


def analyze(
    pack: PolicyPackServer, registrations: list[Registration], overrides: Any = None
) -> list[Finding]:
    _, infos = pack.info()
    pack.configure(pack_config(infos, overrides))
    return pack.analyze(registrations) + pack.analyze_stack(registrations)


def mandatory(findings: list[Finding]) -> set[str]:
    return {f.policy for f in findings if f.enforcement == "mandatory"}


def test_policy_list_and_enforcement(pack: PolicyPackServer) -> None:
    name, infos = pack.info()
    assert name == "agentfleet-production"
    assert {info.name: info.enforcement for info in infos} == CONTRACT
    assert [info.name for info in infos] == list(CONTRACT)
    assert {info.name: info.kind for info in infos} == {m.name: m.kind for m in META.values()}
    schema = {info.name: info.config_schema for info in infos}["lb-health-check-interval"]
    assert schema["maxIntervalSeconds"]["default"] == 15
    assert schema["minIntervalSeconds"]["default"] == 10


@pytest.mark.parametrize("stack", STACKS)
def test_shipped_stacks_have_no_finding(pack: PolicyPackServer, stack: str) -> None:
    assert analyze(pack, stack_resources(stack)) == []


def slow_health_check() -> list[Registration]:
    values = stack_values("prod")
    values["agentfleet:fleet"]["tiers"]["orchestrator"]["loadBalancer"] = {
        "healthCheckIntervalSeconds": 30
    }
    registrations, _ = run_program(values, stack="prod")
    return registrations


def test_config_override_changes_a_threshold(pack: PolicyPackServer) -> None:
    registrations = slow_health_check()
    (finding,) = analyze(pack, registrations)
    assert finding.policy == "lb-health-check-interval"
    assert finding.enforcement == "mandatory"
    assert finding.message.startswith("health check every 30 s; want 10-15 s.")
    assert finding.resource.endswith("::orchestrator-tg")
    relaxed = {"lb-health-check-interval": {"maxIntervalSeconds": 30}}
    assert analyze(pack, registrations, relaxed) == []


def test_config_override_changes_enforcement(pack: PolicyPackServer) -> None:
    (finding,) = analyze(pack, slow_health_check(), {"lb-health-check-interval": "advisory"})
    assert finding.enforcement == "advisory"
    assert analyze(pack, slow_health_check(), {"lb-health-check-interval": "disabled"}) == []
    everything = analyze(pack, slow_health_check(), {"all": "advisory"})
    assert [f.enforcement for f in everything] == ["advisory"]


def test_unknown_values_do_not_break_the_pack(pack: PolicyPackServer) -> None:
    tg = props("orchestrator-tg")
    tg["healthCheck"]["interval"] = UNKNOWN_NUMBER_VALUE
    unknown = hand_declared("aws:lb/targetGroup:TargetGroup", "preview-tg", tg)
    assert analyze(pack, [unknown]) == []


def test_policy_config_errors() -> None:
    infos = [type("Info", (), {"name": "sqs-encryption", "enforcement": "mandatory"})()]
    with pytest.raises(PolicyConfigError, match="no-such-policy: no such policy in the pack"):
        pack_config(infos, {"no-such-policy": "advisory"})
    with pytest.raises(PolicyConfigError, match="unknown enforcement level 'loud'"):
        pack_config(infos, {"sqs-encryption": "loud"})


# --- one realistic broken stack per mandatory policy ------------------------------------

SECURE = {
    "runAsNonRoot": True,
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}
TAGS = {"agentfleet.io/tier": "jobs", "agentfleet.io/environment": "prod"}


def deployment(name: str, labels: dict[str, str], **container: Any) -> Registration:
    return hand_declared(
        "kubernetes:apps/v1:Deployment",
        name,
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name, "namespace": "agentfleet", "labels": labels},
            "spec": {
                "replicas": 2.0,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name, **labels}},
                    "spec": {
                        "containers": [
                            {"name": name, "image": f"ghcr.io/example/{name}:1",
                             "securityContext": SECURE, **container}
                        ]
                    },
                },
            },
        },
    )  # fmt: skip


def config_change(change: Callable[[dict[str, Any]], object]) -> Callable[[], list[Registration]]:
    def build() -> list[Registration]:
        values = stack_values("prod")
        change(values["agentfleet:fleet"])
        registrations, _ = run_program(values, stack="prod")
        return registrations

    return build


def tier(name: str, **settings: Any) -> Callable[[dict[str, Any]], object]:
    return lambda fleet: fleet["tiers"][name].update(settings)


def hand_added(*extra: Callable[[], Registration]) -> Callable[[], list[Registration]]:
    return lambda: stack_resources("prod") + [make() for make in extra]


def copied_tier_without_queue() -> list[Registration]:
    """A tier added by hand: our compliant Deployment and alerts, renamed, and no queue."""
    registrations = stack_resources("prod")
    source = next(r for r in registrations if r.name == "orchestrator-deployment")
    inputs = copy.deepcopy(source.inputs)
    for meta in (inputs["metadata"], inputs["spec"]["template"]["metadata"]):
        meta["labels"]["agentfleet.io/tier"] = "batch"
        meta["labels"]["agentfleet.io/user-facing"] = "false"
    inputs["metadata"]["name"] = "batch-vllm"
    rules = next(r for r in registrations if r.name == "fleet-rules").inputs
    group = copy.deepcopy(rules["spec"]["groups"][0])
    for rule in group["rules"]:
        rule["labels"]["tier"] = "batch"
    rule_inputs = {**copy.deepcopy(rules), "spec": {"groups": [group]}}
    return [
        *registrations,
        hand_declared("kubernetes:apps/v1:Deployment", "batch-vllm", inputs),
        hand_declared("kubernetes:monitoring.coreos.com/v1:PrometheusRule", "batch-rules",
                      rule_inputs),
    ]  # fmt: skip


def sandbox_cluster(change: Callable[[dict[str, Any]], object]) -> Callable[[], list[Registration]]:
    """The sandbox stack (create: true) with its cluster settings changed."""

    def build() -> list[Registration]:
        values = stack_values("sandbox")
        change(values["agentfleet:cluster"])
        registrations, _ = run_program(values, stack="sandbox")
        return registrations

    return build


def cluster_without_secrets_encryption() -> list[Registration]:
    """The sandbox's cluster as a hand-written program might declare it: no KMS for secrets."""
    registrations = stack_resources("sandbox")
    cluster = next(r for r in registrations if r.type == "aws:eks/cluster:Cluster")
    del cluster.inputs["encryptionConfig"]
    return registrations


def readiness_on_models() -> list[Registration]:
    registrations = stack_resources("prod")
    source = next(r for r in registrations if r.name == "orchestrator-deployment")
    container = source.inputs["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["path"] = "/v1/models"
    return registrations


# fmt: off
BROKEN: dict[str, Callable[[], list[Registration]]] = {
    "vllm-max-num-seqs-ratio": config_change(tier("orchestrator", maxNumSeqs=500)),
    "mcp-servers-off-gpu": hand_added(lambda: deployment(
        "tools-mcp", {"agentfleet.io/role": "mcp-server"},
        resources={"limits": {"nvidia.com/gpu": "1"}})),
    "task-queue-per-pool": copied_tier_without_queue,
    "inference-health-probes": readiness_on_models,
    "lb-health-check-interval": config_change(
        tier("orchestrator", loadBalancer={"healthCheckIntervalSeconds": 30})),
    "min-two-gpu-instances": config_change(tier("orchestrator", minInstances=1)),
    "scale-on-queue-depth": hand_added(lambda: hand_declared(
        "kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "orchestrator-gpu-hpa", {
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "orchestrator-vllm"},
                     "minReplicas": 2.0, "maxReplicas": 8.0,
                     "metrics": [{"type": "External", "external": {
                         "metric": {"name": "DCGM_FI_DEV_GPU_UTIL"},
                         "target": {"type": "AverageValue", "averageValue": "80"}}}]}})),
    "scale-out-threshold": config_change(
        tier("orchestrator", scaling={"queueDepthPerInstance": 50})),
    "scale-in-cooldown": config_change(tier("mid-tier", scaling={"scaleInIdleSeconds": 60})),
    "user-facing-floor": hand_added(lambda: hand_declared(
        "kubernetes:keda.sh/v1alpha1:ScaledObject", "chat-scaler", {
            "metadata": {"name": "chat", "labels": {"agentfleet.io/user-facing": "true"}},
            "spec": {"scaleTargetRef": {"name": "chat"},
                     "triggers": [{"type": "aws-sqs-queue", "metadata": {"queueLength": "5"}}]}})),
    "spot-only-interruptible": config_change(
        tier("orchestrator", capacity="spot", spotPricePerGpuHour=1.9)),
    "ttft-p95-alert": config_change(
        lambda fleet: fleet["monitoring"].update(ttftP95AlertSeconds=2)),
    "kv-cache-alert": config_change(
        lambda fleet: fleet["monitoring"].update(kvCacheAlertPercent=95)),
    "cost-tags-by-tier": hand_added(lambda: hand_declared(
        "aws:eks/nodeGroup:NodeGroup", "adhoc-gpus",
        {"instanceTypes": ["g6e.xlarge"], "scalingConfig": {"minSize": 0.0, "maxSize": 2.0},
         "tags": {"owner": "research"}})),
    "cost-budget-alerts": config_change(lambda fleet: fleet.pop("budgetPerHourUsd")),
    "sqs-encryption": hand_added(lambda: hand_declared(
        "aws:sqs/queue:Queue", "jobs", {"name": "jobs", "sqsManagedSseEnabled": False,
         "redrivePolicy": '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:1:jobs-dlq", '
                          '"maxReceiveCount": 5}', "tags": TAGS})),
    "sqs-dead-letter-queue": hand_added(lambda: hand_declared(
        "aws:sqs/queue:Queue", "jobs", {"name": "jobs", "sqsManagedSseEnabled": True,
                                        "tags": TAGS})),
    "pod-security-restricted": hand_added(lambda: deployment(
        "status-page", {"app.kubernetes.io/name": "status"}, securityContext={})),
    "no-plaintext-secrets": hand_added(lambda: deployment(
        "reporter", {"app.kubernetes.io/name": "reporter"},
        env=[{"name": "OPENAI_API_KEY", "value": "sk-live-abcdefghijklmnopqrstuvwx"}])),
    "eks-private-endpoint": sandbox_cluster(
        lambda cluster: cluster.update(publicAccessCidrs=["0.0.0.0/0"])),
    "eks-secrets-encryption": cluster_without_secrets_encryption,
}
# fmt: on


def test_every_mandatory_policy_has_a_broken_stack() -> None:
    assert set(BROKEN) == {name for name, level in CONTRACT.items() if level == "mandatory"}


@pytest.mark.parametrize("policy", list(BROKEN))
def test_broken_stack_gives_exactly_that_finding(pack: PolicyPackServer, policy: str) -> None:
    findings = analyze(pack, BROKEN[policy]())
    assert mandatory(findings) == {policy}
    assert all("sk-live" not in f.message for f in findings)
