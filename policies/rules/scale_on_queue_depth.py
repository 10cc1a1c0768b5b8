"""A1: inference pools scale on queue depth, never on GPU utilisation."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import HPA_TYPES, SCALED_OBJECT
from policies.building import PolicyMeta, Report, policy
from policies.properties import items, mapping, plain

GPU_UTILISATION = re.compile(r"DCGM_FI_DEV_GPU_UTIL|gpu_util|GPUUtilization|nvidia_gpu_duty",
                             re.IGNORECASE)  # fmt: skip
QUEUE_TRIGGERS = {"aws-sqs-queue", "rabbitmq", "kafka", "redis", "azure-servicebus"}
QUEUE_METRICS = re.compile(r"vllm:num_requests_waiting|queue", re.IGNORECASE)


META = PolicyMeta(
    name="scale-on-queue-depth",
    item="A1",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.scaling",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Inference pools scale on queue depth, never on GPU utilisation.",
    remediation="Scale with KEDA's aws-sqs-queue trigger on the tier's queue "
    "(components.QueueDepthAutoscaler); drop GPU-utilisation metrics from autoscalers.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    props = args.props
    if args.resource_type == SCALED_OBJECT:
        triggers = [mapping(t) for t in items(mapping(props.get("spec")).get("triggers"))]
        for trigger in triggers:
            text = json.dumps(plain(trigger.get("metadata")))
            if GPU_UTILISATION.search(text) or trigger.get("type") == "cpu":
                report(
                    f"trigger {trigger.get('name') or trigger.get('type')} scales on "
                    f"{'CPU' if trigger.get('type') == 'cpu' else 'GPU utilisation'}; want "
                    "queue depth. Remove it and scale on the tier's queue (aws-sqs-queue)."
                )
        if not any(
            t.get("type") in QUEUE_TRIGGERS
            or QUEUE_METRICS.search(json.dumps(plain(t.get("metadata"))))
            for t in triggers
        ):
            kinds = ", ".join(str(t.get("type")) for t in triggers) or "none"
            report(
                f"no trigger watches a queue (triggers: {kinds}); want one. Add an "
                "aws-sqs-queue trigger on the tier's task queue."
            )
    elif args.resource_type in HPA_TYPES:
        spec = mapping(props.get("spec"))
        text = json.dumps(plain(spec.get("metrics")))
        if GPU_UTILISATION.search(text):
            report(
                f"HorizontalPodAutoscaler on {mapping(spec.get('scaleTargetRef')).get('name')} "
                "scales on GPU utilisation; want queue depth. Replace it with a KEDA "
                "ScaledObject on the tier's queue (components.QueueDepthAutoscaler)."
            )
    else:
        args.not_applicable("not an autoscaler")


POLICY = policy(META, check)
