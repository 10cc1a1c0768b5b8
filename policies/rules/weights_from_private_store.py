"""Security and availability: a production tier's pods stream their weights from the
fleet's own S3 store, not from the Hugging Face Hub at every start.

Every new pod of a Hub tier downloads its model through the NAT gateways: a morning scale-out
of a hundred pods meets the Hub's per-address rate limits (429, and vLLM exits), a private or
fine-tuned model cannot be served, and the GPU nodes need the internet."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts import weights as model_weights
from facts.labels import ENVIRONMENT, TIER
from policies.building import PolicyMeta, Report, Setting, policy
from policies.pools import pools
from policies.properties import containers, is_vllm, items, tags
from policies.serving import model_argument

META = PolicyMeta(
    name="weights-from-private-store",
    item="security",
    severity="medium",
    enforcement="advisory",
    kind="stack",
    keys=(
        "agentfleet:fleet.modelStore",
        "agentfleet:fleet.tiers.<tier>.weights",
        "agentfleet:fleet.tiers.<tier>.model",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="A production tier's vLLM pods stream their weights from S3 (the fleet's "
    "model store, or an S3 folder), not from the Hugging Face Hub at start-up.",
    remediation="Give the fleet a modelStore (agentfleet:fleet.modelStore.bucket; its mirror "
    "Job copies each Hub model in once), or set the tier's model to an s3:// folder; "
    "weights: hub opts a tier out.",
    settings={
        "environments": Setting(
            "array",
            ["prod"],
            "The environments (the agentfleet.io/environment tag of the tier's resources) "
            "whose tiers must not pull from the Hub.",
        )
    },
)


def _environments(resources: list[Any]) -> dict[str, str]:
    """Each tier's environment, from the tags of its AWS resources."""
    found: dict[str, str] = {}
    for resource in resources:
        tagged = tags(resource.props)
        tier, environment = tagged.get(TIER), tagged.get(ENVIRONMENT)
        if isinstance(tier, str) and isinstance(environment, str):
            found.setdefault(tier, environment)
    return found


def check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    watched = set(items(config["environments"]))
    environments = _environments(args.resources)
    tiers = {t: pool for t, pool in pools(args.resources).items() if environments.get(t) in watched}
    if not tiers:
        args.not_applicable(f"no inference tier in {', '.join(sorted(watched)) or 'none'}")
    for tier, pool in sorted(tiers.items()):
        for deployment in pool.deployments:
            for container in containers(deployment.props):
                if not is_vllm(container):
                    continue
                argv = [str(w) for w in [*items(container.get("command")),
                                         *items(container.get("args"))]]  # fmt: skip
                model = model_argument(argv)
                if model is not None and model_weights.is_hub_id(model):
                    report(
                        f"tier {tier} ({environments[tier]}) pulls {model} from the Hugging "
                        "Face Hub at every pod start: the Hub's rate limits meet a scale-out, "
                        "and the GPU nodes need the internet. Stream it from S3: "
                        "fleet.modelStore, or an s3:// model.",
                        deployment.urn,
                    )


POLICY = policy(META, check)
