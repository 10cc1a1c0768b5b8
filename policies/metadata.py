"""The one table of the pack's policies: name, checklist item, severity, default
enforcement, kind, description, remediation, and config schema with the checklist's values
as defaults. POLICIES.md is generated from it (``python -m policies.docs``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

PACK = "agentfleet-production"
Kind = Literal["resource", "stack"]
Enforcement = Literal["mandatory", "advisory"]
Severity = Literal["low", "medium", "high", "critical"]


@dataclass(frozen=True)
class Setting:
    """One config property of a policy: JSON schema type, default, what it tunes."""

    type: Literal["number", "integer", "string", "array", "boolean"]
    default: Any
    description: str


@dataclass(frozen=True)
class PolicyMeta:
    name: str
    item: str
    severity: Severity
    enforcement: Enforcement
    kind: Kind
    description: str
    remediation: str
    settings: Mapping[str, Setting] = field(default_factory=dict)

    def schema(self) -> dict[str, Any]:
        """The policy's config schema (JSON schema properties)."""
        properties: dict[str, Any] = {}
        for key, setting in self.settings.items():
            prop: dict[str, Any] = {
                "type": setting.type,
                "default": setting.default,
                "description": setting.description,
            }
            if setting.type == "array":
                prop["items"] = {"type": "string" if isinstance(setting.default[0], str)
                                 else "number"}  # fmt: skip
            properties[key] = prop
        return properties


def _table(*rows: PolicyMeta) -> Mapping[str, PolicyMeta]:
    return MappingProxyType({row.name: row for row in rows})


POLICIES: Mapping[str, PolicyMeta] = _table(
    PolicyMeta(
        "gpu-tier-matches-latency-class",
        "C1",
        "medium",
        "advisory",
        "resource",
        "GPU node groups match their tier's latency class: TTFT-first tiers on H100-class "
        "GPUs, throughput-first tiers on A100 or L40S.",
        "Move TTFT-first tiers to H100 (p5) and throughput-first tiers to A100 (p4d/p4de) "
        "or L40S (g6e): set the tier's gpu, or its latencyClass if that is what is wrong.",
    ),
    PolicyMeta(
        "vllm-max-num-seqs-ratio",
        "C2",
        "high",
        "mandatory",
        "resource",
        "vLLM's --max-num-seqs is 1.5-2x the concurrent sessions one replica is expected to hold.",
        "Set the tier's maxNumSeqs (the --max-num-seqs argument) inside the band, and say "
        "how many sessions a replica serves in the annotation "
        "agentfleet.io/sessions-per-replica.",
        {
            "minRatio": Setting("number", 1.5, "Lowest --max-num-seqs / sessions allowed."),
            "maxRatio": Setting("number", 2.0, "Highest --max-num-seqs / sessions allowed."),
        },
    ),
    PolicyMeta(
        "mcp-servers-off-gpu",
        "C3",
        "high",
        "mandatory",
        "resource",
        "MCP servers run as CPU workloads: no GPU request, no GPU node selector, no GPU "
        "toleration.",
        "Remove the GPU request, selector and toleration from the MCP server; it reaches "
        "the GPUs through the tier's inference endpoint (components.McpServer does this).",
    ),
    PolicyMeta(
        "task-queue-per-pool",
        "C4",
        "high",
        "mandatory",
        "stack",
        "A task queue (SQS) sits between the agents and each inference pool.",
        "Give the tier an SQS queue tagged agentfleet.io/tier=<tier> "
        "(components.AgentQueue), and send agent work through it.",
    ),
    PolicyMeta(
        "inference-health-probes",
        "C5",
        "high",
        "mandatory",
        "resource",
        "The inference server's readiness and liveness probes use its health endpoint "
        "(vLLM: /health, HTTP 200).",
        "Give the vLLM container readiness and liveness probes doing an HTTP GET of "
        "/health, and a long startup probe for weight loading.",
        {"healthPath": Setting("string", "/health", "The health endpoint's path.")},
    ),
    PolicyMeta(
        "lb-health-check-interval",
        "C6",
        "high",
        "mandatory",
        "resource",
        "Load balancer health checks run every 10-15 s against the health endpoint.",
        "Set the target group's health check interval inside the band "
        "(loadBalancer.healthCheckIntervalSeconds) and its path to the health endpoint.",
        {
            "minIntervalSeconds": Setting("integer", 10, "Shortest interval allowed."),
            "maxIntervalSeconds": Setting("integer", 15, "Longest interval allowed."),
            "healthPath": Setting("string", "/health", "The health endpoint's path."),
        },
    ),
    PolicyMeta(
        "min-two-gpu-instances",
        "C7",
        "critical",
        "mandatory",
        "stack",
        "At least 2 GPU instances stand behind each load balancer, so one can fail.",
        "Raise the tier's minInstances (node group and autoscaler floor) to at least 2.",
        {"minInstances": Setting("integer", 2, "Fewest GPU instances behind a balancer.")},
    ),
    PolicyMeta(
        "scale-on-queue-depth",
        "A1",
        "high",
        "mandatory",
        "resource",
        "Inference pools scale on queue depth, never on GPU utilisation.",
        "Scale with KEDA's aws-sqs-queue trigger on the tier's queue "
        "(components.QueueDepthAutoscaler); drop GPU-utilisation metrics from autoscalers.",
    ),
    PolicyMeta(
        "scale-out-threshold",
        "A2",
        "medium",
        "mandatory",
        "resource",
        "Scale out when the queue holds more than N requests per instance (N = 10), "
        "sustained for no longer than 60 s.",
        "Set scaling.queueDepthPerInstance (queueLength) to at most the threshold and "
        "scaling.scaleOutSustainSeconds to at most the window.",
        {
            "maxQueueDepthPerInstance": Setting("integer", 10, "Largest backlog per replica."),
            "maxSustainSeconds": Setting("integer", 60, "Longest scale-up stabilisation."),
        },
    ),
    PolicyMeta(
        "scale-in-cooldown",
        "A3",
        "medium",
        "mandatory",
        "resource",
        "Scale in only after the queue has stayed below the threshold for at least 5 "
        "minutes, with a cooldown.",
        "Set scaling.scaleInIdleSeconds to at least 300 (scale-down stabilisation and KEDA "
        "cooldownPeriod).",
        {"minScaleInSeconds": Setting("integer", 300, "Shortest scale-in window allowed.")},
    ),
    PolicyMeta(
        "user-facing-floor",
        "A4",
        "critical",
        "mandatory",
        "resource",
        "User-facing tiers never scale to zero; background and batch tiers may.",
        "Give the user-facing tier a floor (minInstances, KEDA minReplicaCount) of at "
        "least 1; the checklist wants 2.",
    ),
    PolicyMeta(
        "spot-only-interruptible",
        "A5",
        "critical",
        "mandatory",
        "resource",
        "Spot capacity only for interruptible (background or batch) tiers.",
        "Put the user-facing tier on on-demand capacity (capacity: on-demand).",
    ),
    PolicyMeta(
        "ttft-p95-alert",
        "M1",
        "high",
        "mandatory",
        "stack",
        "Each inference tier has a p95 time-to-first-token alert, set below the SLA.",
        "Add a PrometheusRule alert on histogram_quantile(0.95, "
        "vllm:time_to_first_token_seconds_bucket) for the tier "
        "(components.FleetMonitoring), with a threshold below the SLA.",
        {
            "maxThresholdSeconds": Setting(
                "number", 0.5, "Highest threshold allowed: set it below the SLA."
            )
        },
    ),
    PolicyMeta(
        "kv-cache-alert",
        "M2",
        "high",
        "mandatory",
        "stack",
        "Each inference tier alerts when vLLM's KV-cache usage passes 85%.",
        "Add a PrometheusRule alert on vllm:kv_cache_usage_perc > 0.85 for the tier "
        "(vllm:gpu_cache_usage_perc no longer exists).",
        {"maxPercent": Setting("number", 85, "Highest threshold allowed, in percent.")},
    ),
    PolicyMeta(
        "queue-depth-dashboard",
        "M3",
        "low",
        "advisory",
        "stack",
        "A dashboard shows each tier's queue depth beside its GPU instance count.",
        "Add a CloudWatch dashboard widget per tier with the queue's "
        "ApproximateNumberOfMessagesVisible and the node group's GroupInServiceInstances.",
    ),
    PolicyMeta(
        "cost-tags-by-tier",
        "M4",
        "high",
        "mandatory",
        "resource",
        "Every billable resource is tagged with its tier and environment, so cost per "
        "hour is tracked per tier.",
        "Tag the resource with agentfleet.io/tier and agentfleet.io/environment (the "
        "components do).",
        {
            "requiredTags": Setting(
                "array",
                ["agentfleet.io/tier", "agentfleet.io/environment"],
                "Tags every billable resource carries.",
            )
        },
    ),
    PolicyMeta(
        "background-tiers-use-spot",
        "K1, K2",
        "low",
        "advisory",
        "resource",
        "On-demand capacity for orchestrator and user-facing tiers; spot for background "
        "and batch tiers where the GPU's spot price is below its on-demand price.",
        "Set capacity: spot on the background tier (its interrupted work returns to the queue).",
    ),
    PolicyMeta(
        "cost-budget-alerts",
        "K3",
        "high",
        "mandatory",
        "stack",
        "The fleet has a cost budget with alerts.",
        "Set agentfleet:fleet.budgetPerHourUsd (an AWS Budget with alerts at 80% and 100%).",
        {"thresholds": Setting("array", [80, 100], "Percentages of the budget that must notify.")},
    ),
    PolicyMeta(
        "sqs-encryption",
        "security",
        "high",
        "mandatory",
        "resource",
        "SQS queues are encrypted at rest (SSE-SQS or KMS).",
        "Set sqsManagedSseEnabled: true or a kmsMasterKeyId on the queue.",
    ),
    PolicyMeta(
        "sqs-dead-letter-queue",
        "security",
        "high",
        "mandatory",
        "resource",
        "Task queues send repeatedly failing requests to a dead-letter queue.",
        "Give the queue a redrivePolicy with a deadLetterTargetArn and a maxReceiveCount "
        "(components.AgentQueue does); tag a dead-letter queue agentfleet.io/queue="
        "dead-letter.",
    ),
    PolicyMeta(
        "pod-security-restricted",
        "security",
        "high",
        "mandatory",
        "resource",
        "Workloads meet Pod Security 'restricted' with a read-only root filesystem.",
        "Run as non-root, forbid privilege escalation, drop ALL capabilities, use the "
        "RuntimeDefault seccomp profile, mount the root filesystem read-only (writable "
        "emptyDirs where needed), and no host namespaces or hostPath volumes.",
        {
            "requireReadOnlyRoot": Setting(
                "boolean", True, "Also require readOnlyRootFilesystem: true."
            )
        },
    ),
    PolicyMeta(
        "no-plaintext-secrets",
        "security",
        "critical",
        "mandatory",
        "resource",
        "No secret (token, password, key) is written as a plain value in a workload's "
        "environment or a ConfigMap.",
        "Move the value into a Kubernetes Secret fed by a Pulumi secret and reference it "
        "with valueFrom.secretKeyRef.",
    ),
    PolicyMeta(
        "eks-private-endpoint",
        "security",
        "high",
        "mandatory",
        "resource",
        "An EKS cluster's API endpoint is private, or public only to given CIDRs, and "
        "private access is on.",
        "Set vpcConfig.endpointPrivateAccess: true and either endpointPublicAccess: false or "
        "publicAccessCidrs limited to your networks (agentfleet:cluster.publicAccessCidrs).",
    ),
    PolicyMeta(
        "eks-secrets-encryption",
        "security",
        "high",
        "mandatory",
        "resource",
        "An EKS cluster envelope-encrypts Kubernetes secrets with a KMS key.",
        "Set encryptionConfig: provider.keyArn of a KMS key and resources: [secrets] "
        "(components.FleetCluster does).",
    ),
    PolicyMeta(
        "helm-chart-pinned",
        "security",
        "medium",
        "advisory",
        "resource",
        "A Helm release installs one exact chart version, so every run installs the same.",
        "Set the release's version to an exact chart version (agentfleet:addons.<addon>."
        "version), not a range or nothing.",
    ),
)
