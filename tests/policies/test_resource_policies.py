"""Each resource policy: the compliant resource our components emit passes, one mutation
per way to fail gives the exact message, and what it does not cover is not applicable."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import pytest
from pulumi_policy.proxy import UNKNOWN_NUMBER_VALUE

from components import McpServer, McpServerArgs
from facts.catalog import CATALOG
from infra.offline.mocks import record
from policies import background_tiers_use_spot as k2
from policies.pack import all_policies
from tests.policies.support import as_engine_sends, check_resource, props

POLICIES = {policy.name: policy for policy in all_policies()}
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
SCALED = "kubernetes:keda.sh/v1alpha1:ScaledObject"
HPA = "kubernetes:autoscaling/v2:HorizontalPodAutoscaler"
TG = "aws:lb/targetGroup:TargetGroup"
QUEUE = "aws:sqs/queue:Queue"
EKS = "aws:eks/cluster:Cluster"
HELM = "kubernetes:helm.sh/v3:Release"


@functools.cache
def _mcp() -> dict[str, Any]:
    registrations = record(
        lambda: McpServer(
            "tools",
            McpServerArgs(name="tools-mcp", namespace="agentfleet", tier="mid-tier",
                          image="ghcr.io/example/tools-mcp:1.0", inference_url="http://x"),
        ).endpoint
    )  # fmt: skip
    (deployment,) = [r for r in registrations if r.type == DEPLOYMENT]
    return deployment.inputs


def mcp() -> dict[str, Any]:
    return as_engine_sends(_mcp())  # type: ignore[no-any-return]


def container(p: dict[str, Any]) -> dict[str, Any]:
    return p["spec"]["template"]["spec"]["containers"][0]  # type: ignore[no-any-return]


def set_arg(p: dict[str, Any], flag: str, value: str | None) -> None:
    args = container(p)["args"]
    index = args.index(flag)
    if value is None:
        del args[index : index + 2]
    else:
        args[index + 1] = value


def sqs_trigger(p: dict[str, Any]) -> dict[str, Any]:
    return p["spec"]["triggers"][0]["metadata"]  # type: ignore[no-any-return]


def behavior(p: dict[str, Any]) -> dict[str, Any]:
    return p["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]  # type: ignore[no-any-return]


def hpa(metric: str, scale_down: float | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "chat-vllm"},
        "minReplicas": 2.0,
        "maxReplicas": 8.0,
        "metrics": [{"type": "External", "external": {
            "metric": {"name": metric}, "target": {"type": "AverageValue", "averageValue": "80"}}}],
    }  # fmt: skip
    if scale_down is not None:
        spec["behavior"] = {"scaleDown": {"stabilizationWindowSeconds": scale_down}}
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "chat"}, "spec": spec}  # fmt: skip


Case = tuple[str, str, Callable[[], dict[str, Any]], Callable[[dict[str, Any]], object], Any]


def same(_: dict[str, Any]) -> None:
    return None


def orchestrator() -> dict[str, Any]:
    return props("orchestrator-deployment")


def sandbox_cluster() -> dict[str, Any]:
    return props("cluster-cluster", "sandbox")


def keda_release() -> dict[str, Any]:
    return props("addons-keda")


PUBLIC_TO_ALL = (
    "the API endpoint is public to the whole internet; want it private, or public only to "
    "given CIDRs. Set vpcConfig.endpointPublicAccess: false, or publicAccessCidrs to your "
    "networks (agentfleet:cluster.publicAccessCidrs)."
)


# (policy, resource type, fixture, mutation, expected: messages, or None = not applicable)
# fmt: off
CASES: dict[str, Case] = {
    "c1-h100-ok": ("gpu-tier-matches-latency-class", NODE_GROUP,
                   lambda: props("orchestrator-nodes"), same, []),
    "c1-l40s-ok": ("gpu-tier-matches-latency-class", NODE_GROUP,
                   lambda: props("lightweight-nodes"), same, []),
    "c1-ttft-on-l40s": ("gpu-tier-matches-latency-class", NODE_GROUP,
        lambda: props("orchestrator-nodes"), lambda p: p.update(instanceTypes=["g6e.2xlarge"]),
        ["ttft-first tier on g6e.2xlarge (L40S); want H100 or H200. Use a p5 instance, or "
         "correct the tier's latencyClass."]),
    "c1-throughput-on-h100": ("gpu-tier-matches-latency-class", NODE_GROUP,
        lambda: props("lightweight-nodes"), lambda p: p.update(instanceTypes=["p5.48xlarge"]),
        ["throughput-first tier on p5.48xlarge (H100); want A100 or L40S. Use a p4de or g6e "
         "instance, or correct the tier's latencyClass."]),
    "c1-no-latency-class": ("gpu-tier-matches-latency-class", NODE_GROUP,
        lambda: {"instanceTypes": ["g6e.xlarge"], "tags": {}, "labels": {}}, same, None),

    "c2-ok": ("vllm-max-num-seqs-ratio", DEPLOYMENT, orchestrator, same, []),
    "c2-too-many": ("vllm-max-num-seqs-ratio", DEPLOYMENT, orchestrator,
        lambda p: set_arg(p, "--max-num-seqs", "500"),
        ["--max-num-seqs 500 is 5.00x the 100 sessions per replica; want 1.5-2x (150-200). "
         "Set maxNumSeqs inside that band."]),
    "c2-too-few": ("vllm-max-num-seqs-ratio", DEPLOYMENT, orchestrator,
        lambda p: set_arg(p, "--max-num-seqs", "120"),
        ["--max-num-seqs 120 is 1.20x the 100 sessions per replica; want 1.5-2x (150-200). "
         "Set maxNumSeqs inside that band."]),
    "c2-unset": ("vllm-max-num-seqs-ratio", DEPLOYMENT, orchestrator,
        lambda p: set_arg(p, "--max-num-seqs", None),
        ["container vllm does not set --max-num-seqs (vLLM's default ignores the tier's load); "
         "want 1.5-2x the sessions per replica. Set maxNumSeqs."]),
    "c2-no-sessions": ("vllm-max-num-seqs-ratio", DEPLOYMENT, orchestrator,
        lambda p: [p["metadata"]["annotations"].clear(),
                   p["spec"]["template"]["metadata"]["annotations"].clear()],
        ["--max-num-seqs 175 cannot be checked: the Deployment does not say how many sessions "
         "a replica serves. Add the annotation agentfleet.io/sessions-per-replica."]),
    "c2-equals-form": ("vllm-max-num-seqs-ratio", DEPLOYMENT, orchestrator,
        lambda p: container(p).update(args=["m", "--max-num-seqs=300"]),
        ["--max-num-seqs 300 is 3.00x the 100 sessions per replica; want 1.5-2x (150-200). "
         "Set maxNumSeqs inside that band."]),
    "c2-not-vllm": ("vllm-max-num-seqs-ratio", DEPLOYMENT, mcp, same, None),

    "c3-ok": ("mcp-servers-off-gpu", DEPLOYMENT, mcp, same, []),
    "c3-gpu-everything": ("mcp-servers-off-gpu", DEPLOYMENT, mcp, lambda p: [
        container(p)["resources"]["limits"].update({"nvidia.com/gpu": "1"}),
        p["spec"]["template"]["spec"].update(
            nodeSelector={"agentfleet.io/node-class": "gpu"},
            tolerations=[{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}])],
        ["container mcp-server requests nvidia.com/gpu; want no GPU resource. Remove it: the "
         "MCP server reaches GPUs through the tier's endpoint.",
         "nodeSelector agentfleet.io/node-class=gpu puts it on GPU nodes; want CPU nodes. "
         "Remove the selector or select a CPU node group.",
         "toleration of nvidia.com/gpu lets it onto GPU nodes; want none. Remove the toleration."]),
    "c3-not-mcp": ("mcp-servers-off-gpu", DEPLOYMENT, orchestrator, same, None),

    "c5-ok": ("inference-health-probes", DEPLOYMENT, orchestrator, same, []),
    "c5-no-readiness": ("inference-health-probes", DEPLOYMENT, orchestrator,
        lambda p: container(p).pop("readinessProbe"),
        ["container vllm has no readinessProbe; want an HTTP GET of /health. Add one "
         "(components.VllmService does)."]),
    "c5-wrong-path": ("inference-health-probes", DEPLOYMENT, orchestrator,
        lambda p: container(p)["livenessProbe"]["httpGet"].update(path="/v1/models"),
        ["container vllm livenessProbe checks /v1/models; want /health, the endpoint that "
         "answers 200 only when the engine is up."]),
    "c5-tcp-probe": ("inference-health-probes", DEPLOYMENT, orchestrator,
        lambda p: container(p).update(readinessProbe={"tcpSocket": {"port": 8000.0}}),
        ["container vllm has a non-HTTP readinessProbe; want an HTTP GET of /health. Add one "
         "(components.VllmService does)."]),

    "c6-ok": ("lb-health-check-interval", TG, lambda: props("orchestrator-tg"), same, []),
    "c6-slow": ("lb-health-check-interval", TG, lambda: props("orchestrator-tg"),
        lambda p: p["healthCheck"].update(interval=30.0),
        ["health check every 30 s; want 10-15 s. Set loadBalancer.healthCheckIntervalSeconds "
         "(the target group's healthCheck.interval)."]),
    "c6-aws-default": ("lb-health-check-interval", TG,
        lambda: {"port": 8000.0, "protocol": "HTTP", "healthCheck": {"path": "/health"}}, same,
        ["health check every 30 s; want 10-15 s. Set loadBalancer.healthCheckIntervalSeconds "
         "(the target group's healthCheck.interval)."]),
    "c6-wrong-path": ("lb-health-check-interval", TG, lambda: props("orchestrator-tg"),
        lambda p: p["healthCheck"].pop("path"),
        ["health check path is unset (/); want /health. Point healthCheck.path at the inference "
         "server's health endpoint."]),
    "c6-not-inference": ("lb-health-check-interval", TG,
        lambda: {"port": 80.0, "healthCheck": {"interval": 30.0}}, same, None),

    "a1-ok": ("scale-on-queue-depth", SCALED, lambda: props("orchestrator-scaled-object"), same,
              []),
    "a1-gpu-trigger": ("scale-on-queue-depth", SCALED, lambda: props("orchestrator-scaled-object"),
        lambda p: p["spec"]["triggers"].append({"type": "prometheus", "name": "gpu", "metadata": {
            "query": "avg(DCGM_FI_DEV_GPU_UTIL)", "threshold": "80"}}),
        ["trigger gpu scales on GPU utilisation; want queue depth. Remove it and scale on the "
         "tier's queue (aws-sqs-queue)."]),
    "a1-cpu-only": ("scale-on-queue-depth", SCALED, lambda: props("orchestrator-scaled-object"),
        lambda p: p["spec"].update(triggers=[{"type": "cpu", "metadata": {"value": "70"}}]),
        ["trigger cpu scales on CPU; want queue depth. Remove it and scale on the tier's queue "
         "(aws-sqs-queue).",
         "no trigger watches a queue (triggers: cpu); want one. Add an aws-sqs-queue trigger on "
         "the tier's task queue."]),
    "a1-hpa-gpu": ("scale-on-queue-depth", HPA, lambda: hpa("DCGM_FI_DEV_GPU_UTIL"), same,
        ["HorizontalPodAutoscaler on chat-vllm scales on GPU utilisation; want queue depth. "
         "Replace it with a KEDA ScaledObject on the tier's queue "
         "(components.QueueDepthAutoscaler)."]),
    "a1-not-a-scaler": ("scale-on-queue-depth", QUEUE, lambda: props("orchestrator-queue"),
                        same, None),

    "a2-ok": ("scale-out-threshold", SCALED, lambda: props("orchestrator-scaled-object"), same,
              []),
    "a2-deep": ("scale-out-threshold", SCALED, lambda: props("orchestrator-scaled-object"),
        lambda p: sqs_trigger(p).update(queueLength="50"),
        ["scales out at 50 queued requests per replica; want at most 10. Set "
         "scaling.queueDepthPerInstance (queueLength)."]),
    "a2-slow": ("scale-out-threshold", SCALED, lambda: props("orchestrator-scaled-object"),
        lambda p: behavior(p)["scaleUp"].update(stabilizationWindowSeconds=120.0),
        ["scale-up waits for a backlog lasting 120 s; want at most 60 s. Set "
         "scaling.scaleOutSustainSeconds."]),

    "a3-ok": ("scale-in-cooldown", SCALED, lambda: props("orchestrator-scaled-object"), same, []),
    "a3-quick-scale-in": ("scale-in-cooldown", SCALED, lambda: props("orchestrator-scaled-object"),
        lambda p: behavior(p)["scaleDown"].update(stabilizationWindowSeconds=60.0),
        ["scales in after 60 s below the threshold; want at least 300 s. Set "
         "scaling.scaleInIdleSeconds (scale-down stabilisation)."]),
    "a3-short-cooldown": ("scale-in-cooldown", SCALED, lambda: props("mid-tier-scaled-object"),
        lambda p: p["spec"].update(cooldownPeriod=60.0),
        ["cooldownPeriod before scaling to zero is 60 s; want at least 300 s. Set "
         "scaling.scaleInIdleSeconds (KEDA cooldownPeriod)."]),
    "a3-hpa": ("scale-in-cooldown", HPA, lambda: hpa("queue_depth", scale_down=30.0), same,
        ["scales in after 30 s below the threshold; want at least 300 s. Set "
         "scaling.scaleInIdleSeconds (scale-down stabilisation)."]),

    "a4-ok": ("user-facing-floor", SCALED, lambda: props("orchestrator-scaled-object"), same, []),
    "a4-to-zero": ("user-facing-floor", SCALED, lambda: props("orchestrator-scaled-object"),
        lambda p: p["spec"].pop("minReplicaCount"),
        ["minReplicaCount is 0: the user-facing tier can scale to zero; want at least 1 (the "
         "checklist wants 2). Set minInstances."]),
    "a4-nodes-to-zero": ("user-facing-floor", NODE_GROUP, lambda: props("orchestrator-nodes"),
        lambda p: p["scalingConfig"].update(minSize=0.0),
        ["node group minSize is 0: the user-facing tier can scale to zero; want at least 1 (the "
         "checklist wants 2). Set minInstances."]),
    "a4-background": ("user-facing-floor", SCALED, lambda: props("mid-tier-scaled-object"),
                      lambda p: p["spec"].update(minReplicaCount=0.0), None),

    "a5-ok": ("spot-only-interruptible", NODE_GROUP, lambda: props("orchestrator-nodes"), same,
              []),
    "a5-spot": ("spot-only-interruptible", NODE_GROUP, lambda: props("orchestrator-nodes"),
        lambda p: p.update(capacityType="SPOT"),
        ["user-facing tier on SPOT capacity, which AWS may reclaim with two minutes' notice; "
         "want ON_DEMAND. Set capacity: on-demand."]),
    "a5-background-spot": ("spot-only-interruptible", NODE_GROUP,
        lambda: props("mid-tier-nodes"), lambda p: p.update(capacityType="SPOT"), []),

    "m4-ok": ("cost-tags-by-tier", NODE_GROUP, lambda: props("orchestrator-nodes"), same, []),
    "m4-no-tier": ("cost-tags-by-tier", NODE_GROUP, lambda: props("orchestrator-nodes"),
        lambda p: p["tags"].pop("agentfleet.io/tier"),
        ["missing the tag agentfleet.io/tier; want agentfleet.io/tier, agentfleet.io/environment "
         "so its cost counts against its tier. Add them to the resource's tags."]),
    "m4-untagged-queue": ("cost-tags-by-tier", QUEUE, lambda: {"name": "jobs"}, same,
        ["missing the tags agentfleet.io/tier, agentfleet.io/environment; want "
         "agentfleet.io/tier, agentfleet.io/environment so its cost counts against its tier. "
         "Add them to the resource's tags."]),
    "m4-not-billable": ("cost-tags-by-tier", "aws:iam/role:Role", lambda: {}, same, None),

    "k1-ok": ("background-tiers-use-spot", NODE_GROUP, lambda: props("mid-tier-nodes"), same,
              []),
    "k1-user-facing-spot": ("background-tiers-use-spot", NODE_GROUP,
        lambda: props("orchestrator-nodes"), lambda p: p.update(capacityType="SPOT"),
        ["user-facing tier on SPOT; want ON_DEMAND (K1). Set capacity: on-demand."]),

    "sse-ok": ("sqs-encryption", QUEUE, lambda: props("orchestrator-queue"), same, []),
    "sse-off": ("sqs-encryption", QUEUE, lambda: props("orchestrator-queue"),
        lambda p: p.update(sqsManagedSseEnabled=False),
        ["server-side encryption is turned off (sqsManagedSseEnabled: false); want SSE. Set "
         "sqsManagedSseEnabled: true or a kmsMasterKeyId."]),
    "sse-unset": ("sqs-encryption", QUEUE, lambda: {"name": "jobs"}, same,
        ["no server-side encryption is set; want SSE-SQS or KMS. Set sqsManagedSseEnabled: true "
         "or a kmsMasterKeyId."]),
    "sse-kms": ("sqs-encryption", QUEUE, lambda: {"kmsMasterKeyId": "alias/jobs"}, same, []),

    "dlq-ok": ("sqs-dead-letter-queue", QUEUE, lambda: props("orchestrator-queue"), same, []),
    "dlq-missing": ("sqs-dead-letter-queue", QUEUE, lambda: props("orchestrator-queue"),
        lambda p: p.pop("redrivePolicy"),
        ["no redrivePolicy: a request that always fails is retried forever; want a dead-letter "
         "queue. Add a redrivePolicy with deadLetterTargetArn and maxReceiveCount."]),
    "dlq-incomplete": ("sqs-dead-letter-queue", QUEUE, lambda: props("orchestrator-queue"),
        lambda p: p.update(redrivePolicy='{"deadLetterTargetArn": "arn:aws:sqs:x"}'),
        ["redrivePolicy lacks deadLetterTargetArn or maxReceiveCount; want both. Set them."]),
    "dlq-is-one": ("sqs-dead-letter-queue", QUEUE, lambda: props("orchestrator-dlq"), same, None),
    "dlq-by-name": ("sqs-dead-letter-queue", QUEUE, lambda: {"name": "jobs-dlq"}, same, None),

    "pss-ok": ("pod-security-restricted", DEPLOYMENT, orchestrator, same, []),
    "pss-mcp-ok": ("pod-security-restricted", DEPLOYMENT, mcp, same, []),
    "pss-nothing": ("pod-security-restricted", DEPLOYMENT, orchestrator, lambda p: [
        container(p).pop("securityContext"), p["spec"]["template"]["spec"].pop("securityContext")],
        ["container vllm may run as root; want runAsNonRoot: true. Set it.",
         "container vllm allows privilege escalation; want allowPrivilegeEscalation: false. "
         "Set it.",
         "container vllm keeps Linux capabilities; want capabilities.drop: [ALL].",
         "container vllm has seccomp profile unset; want RuntimeDefault. Set "
         "seccompProfile.type.",
         "container vllm can write its root filesystem; want readOnlyRootFilesystem: true, with "
         "emptyDirs where it must write."]),
    "pss-host": ("pod-security-restricted", DEPLOYMENT, orchestrator,
        lambda p: p["spec"]["template"]["spec"].update(
            hostNetwork=True, volumes=[{"name": "models", "hostPath": {"path": "/models"}}]),
        ["hostNetwork is true; want false. Remove it.",
         "volume models is a hostPath; want none. Use an emptyDir."]),
    "pss-not-a-workload": ("pod-security-restricted", QUEUE, lambda: {}, same, None),

    "secret-ok": ("no-plaintext-secrets", DEPLOYMENT, orchestrator, same, []),
    "secret-in-env": ("no-plaintext-secrets", DEPLOYMENT, orchestrator,
        lambda p: container(p)["env"].append({"name": "HF_TOKEN",
                                               "value": "hf_abcdefghijklmnopqrstuvwxyz"}),
        ["container vllm sets HF_TOKEN to a plain value; want a reference to a Secret. Use "
         "valueFrom.secretKeyRef."]),
    "secret-by-shape": ("no-plaintext-secrets", DEPLOYMENT, orchestrator,
        lambda p: container(p)["env"].append({"name": "UPSTREAM",
                                               "value": "sk-abcdefghijklmnopqrstuvwxyz012"}),
        ["container vllm sets UPSTREAM to a plain value; want a reference to a Secret. Use "
         "valueFrom.secretKeyRef."]),
    "secret-in-config-map": ("no-plaintext-secrets", "kubernetes:core/v1:ConfigMap",
        lambda: {"data": {"settings": "token: hf_abcdefghijklmnopqrstuvwxyz"}}, same,
        ["ConfigMap key settings holds what looks like a credential; want it in a Secret. "
         "Move it."]),

    "eks-private-ok": ("eks-private-endpoint", EKS, sandbox_cluster, same, []),
    "eks-private-only": ("eks-private-endpoint", EKS, sandbox_cluster,
        lambda p: p["vpcConfig"].update(endpointPublicAccess=False, publicAccessCidrs=None), []),
    "eks-public-to-all": ("eks-private-endpoint", EKS, sandbox_cluster,
        lambda p: p["vpcConfig"].update(publicAccessCidrs=["10.1.0.0/16", "0.0.0.0/0"]),
        [PUBLIC_TO_ALL]),
    "eks-public-by-default": ("eks-private-endpoint", EKS, sandbox_cluster,
        lambda p: [p["vpcConfig"].pop("endpointPublicAccess"),
                   p["vpcConfig"].pop("publicAccessCidrs")], [PUBLIC_TO_ALL]),
    "eks-no-private-access": ("eks-private-endpoint", EKS, sandbox_cluster,
        lambda p: p["vpcConfig"].update(endpointPrivateAccess=False),
        ["the API endpoint has no private access (endpointPrivateAccess is not true); nodes "
         "and controllers would reach the API over the internet. Set "
         "vpcConfig.endpointPrivateAccess: true."]),

    "eks-secrets-ok": ("eks-secrets-encryption", EKS, sandbox_cluster, same, []),
    "eks-secrets-none": ("eks-secrets-encryption", EKS, sandbox_cluster,
        lambda p: p.pop("encryptionConfig"),
        ["Kubernetes secrets are not envelope-encrypted (no encryptionConfig); want a KMS "
         "key for secrets. Set encryptionConfig with provider.keyArn and resources: "
         "[secrets]."]),
    "eks-secrets-other-resources": ("eks-secrets-encryption", EKS, sandbox_cluster,
        lambda p: p["encryptionConfig"].update(resources=["configmaps"]),
        ['encryptionConfig does not cover secrets; add "secrets" to its resources.']),
    "eks-secrets-no-key": ("eks-secrets-encryption", EKS, sandbox_cluster,
        lambda p: p["encryptionConfig"]["provider"].pop("keyArn"),
        ["encryptionConfig names no KMS key; set provider.keyArn."]),

    "helm-pinned-ok": ("helm-chart-pinned", HELM, keda_release, same, []),
    "helm-pinned-v-prefix-ok": ("helm-chart-pinned", HELM, keda_release,
        lambda p: p.update(version="v25.10.1"), []),
    "helm-no-version": ("helm-chart-pinned", HELM, keda_release, lambda p: p.pop("version"),
        ["chart keda has no version: every run may install a newer one. Pin an exact chart "
         "version."]),
    "helm-range": ("helm-chart-pinned", HELM, keda_release, lambda p: p.update(version="^2.18"),
        ["chart keda version '^2.18' is not one exact version (a range or a tag moves). Pin "
         "an exact chart version such as 1.2.3."]),
    "helm-latest": ("helm-chart-pinned", HELM, keda_release, lambda p: p.update(version="latest"),
        ["chart keda version 'latest' is not one exact version (a range or a tag moves). Pin "
         "an exact chart version such as 1.2.3."]),
}
# fmt: on


@pytest.mark.parametrize("case", list(CASES))
def test_policy(case: str) -> None:
    name, type_, fixture, mutate, expected = CASES[case]
    properties = fixture()
    mutate(properties)
    assert check_resource(POLICIES[name], type_, properties) == expected


def test_messages_never_echo_a_secret() -> None:
    properties = orchestrator()
    container(properties)["env"].append({"name": "DB_PASSWORD", "value": "correct-horse-9"})
    messages = check_resource(POLICIES["no-plaintext-secrets"], DEPLOYMENT, properties)
    assert messages
    assert "correct-horse-9" not in " ".join(messages)


@pytest.mark.parametrize(
    ("name", "config", "properties", "expected"),
    [
        ("lb-health-check-interval", {"maxIntervalSeconds": 30},
         {"port": 8000.0, "healthCheck": {"interval": 30.0, "path": "/health"}}, []),
        ("lb-health-check-interval", {"healthPath": "/ready"},
         {"port": 8000.0, "healthCheck": {"interval": 10.0, "path": "/health"}},
         ["health check path is /health; want /ready. Point healthCheck.path at the inference "
          "server's health endpoint."]),
        ("scale-out-threshold", {"maxQueueDepthPerInstance": 50},
         {"spec": {"triggers": [{"type": "aws-sqs-queue", "metadata": {"queueLength": "50"}}]}},
         []),
        ("cost-tags-by-tier", {"requiredTags": ["team"]}, {"tags": {"owner": "x"}},
         ["missing the tag team; want team so its cost counts against its tier. Add them to "
          "the resource's tags."]),
    ],
)  # fmt: skip
def test_thresholds_come_from_config(
    name: str, config: dict[str, Any], properties: dict[str, Any], expected: list[str]
) -> None:
    type_ = {"lb-health-check-interval": TG, "scale-out-threshold": SCALED}.get(name, QUEUE)
    assert check_resource(POLICIES[name], type_, properties, config) == expected


def test_c2_band_comes_from_config() -> None:
    properties = orchestrator()
    set_arg(properties, "--max-num-seqs", "250")
    assert check_resource(POLICIES["vllm-max-num-seqs-ratio"], DEPLOYMENT, properties) != []
    relaxed = check_resource(
        POLICIES["vllm-max-num-seqs-ratio"], DEPLOYMENT, properties, {"maxRatio": 3}
    )
    assert relaxed == []


def test_unknown_value_during_preview_is_not_applicable() -> None:
    properties = props("orchestrator-tg")
    properties["healthCheck"]["interval"] = UNKNOWN_NUMBER_VALUE
    assert check_resource(POLICIES["lb-health-check-interval"], TG, properties) is None


def test_k2_advises_spot_where_it_is_cheaper(monkeypatch: pytest.MonkeyPatch) -> None:
    cheap = CATALOG["a100-80gb"].__class__(
        **{**CATALOG["a100-80gb"].__dict__, "spot_price": CATALOG["a100-80gb"].on_demand_price / 2}
    )
    monkeypatch.setattr(k2, "CATALOG", MappingProxyType({**CATALOG, "a100-80gb": cheap}))
    found = check_resource(
        POLICIES["background-tiers-use-spot"], NODE_GROUP, props("mid-tier-nodes")
    )
    assert found == [
        "background tier on ON_DEMAND a100-80gb at $1.04/GPU-hour while spot lists $0.52; "
        "want SPOT (K2). Set capacity: spot; interrupted work returns to the queue."
    ]


RESOURCE_POLICIES = [name for name, policy in POLICIES.items()
                     if policy.__class__.__name__ == "ResourceValidationPolicy"]  # fmt: skip
# The resource each policy is about, as our components emit it.
SUBJECTS = {
    "gpu-tier-matches-latency-class": (NODE_GROUP, "orchestrator-nodes"),
    "vllm-max-num-seqs-ratio": (DEPLOYMENT, "orchestrator-deployment"),
    "mcp-servers-off-gpu": (DEPLOYMENT, "orchestrator-deployment"),
    "inference-health-probes": (DEPLOYMENT, "orchestrator-deployment"),
    "lb-health-check-interval": (TG, "orchestrator-tg"),
    "scale-on-queue-depth": (SCALED, "orchestrator-scaled-object"),
    "scale-out-threshold": (SCALED, "orchestrator-scaled-object"),
    "scale-in-cooldown": (SCALED, "orchestrator-scaled-object"),
    "user-facing-floor": (SCALED, "orchestrator-scaled-object"),
    "spot-only-interruptible": (NODE_GROUP, "orchestrator-nodes"),
    "cost-tags-by-tier": (NODE_GROUP, "orchestrator-nodes"),
    "background-tiers-use-spot": (NODE_GROUP, "orchestrator-nodes"),
    "sqs-encryption": (QUEUE, "orchestrator-queue"),
    "sqs-dead-letter-queue": (QUEUE, "orchestrator-queue"),
    "pod-security-restricted": (DEPLOYMENT, "orchestrator-deployment"),
    "no-plaintext-secrets": (DEPLOYMENT, "orchestrator-deployment"),
    "eks-private-endpoint": (EKS, "cluster-cluster", "sandbox"),
    "eks-secrets-encryption": (EKS, "cluster-cluster", "sandbox"),
    "helm-chart-pinned": (HELM, "addons-keda"),
}


def test_every_resource_policy_has_a_subject() -> None:
    assert set(SUBJECTS) == set(RESOURCE_POLICIES)


@pytest.mark.parametrize("name", RESOURCE_POLICIES)
def test_resource_of_another_kind_is_not_applicable(name: str) -> None:
    assert check_resource(POLICIES[name], "aws:iam/role:Role", {"name": "r"}) is None


@pytest.mark.parametrize("name", RESOURCE_POLICIES)
def test_unknown_values_make_it_not_applicable(name: str) -> None:
    """During preview every property may be unknown: never a crash, never a finding."""
    type_, resource, *stack = SUBJECTS[name]
    unknown = dict.fromkeys(props(resource, *stack), UNKNOWN_NUMBER_VALUE)
    assert check_resource(POLICIES[name], type_, unknown) is None
