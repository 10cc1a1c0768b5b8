"""Will it fit cannot be answered for a model nobody described: say so, advisory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import MODEL_PROFILE
from policies.building import PolicyMeta, Report, policy
from policies.serving import served_by

META = PolicyMeta(
    name="model-shape-known",
    item="fit",
    severity="medium",
    enforcement="advisory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.modelProfile",
        "agentfleet:fleet.tiers.<tier>.model",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="agentfleet knows the shape of the model each vLLM Deployment serves (the "
    "shipped model table, or the pod's model-profile annotation), so model-fits-gpu can "
    "check it.",
    remediation=f"Give the tier a modelProfile (the {MODEL_PROFILE} annotation), serve a "
    "model of the shipped table, or point model at a local directory with its config.json.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    for server in served_by(args):
        if server.unknown is not None:
            report(
                f"container {server.container}: cannot check fit: {server.unknown}. vLLM "
                "finds out at start-up."
            )


POLICY = policy(META, check)
