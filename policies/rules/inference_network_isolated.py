"""Security: every inference pod is selected by a NetworkPolicy, so that not every pod in
the cluster can call vLLM (checkov CKV2_K8S_6 asks the same of every pod)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.resource_types import NETWORK_POLICY
from policies.building import PolicyMeta, Report, policy
from policies.pools import by_type, pools
from policies.properties import dig, items, mapping, name_of

META = PolicyMeta(
    name="inference-network-isolated",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.tiers.<tier>",
        "agentfleet:fleet",
    ),
    description="Every inference pod is selected by a NetworkPolicy that governs its "
    "ingress: what no policy allows cannot reach vLLM.",
    remediation="Declare a NetworkPolicy in the pods' namespace whose podSelector matches "
    "their labels and whose policyTypes include Ingress (components.VllmService does), "
    "on a cluster whose CNI enforces it (the VPC CNI with enableNetworkPolicy).",
)


def check(args: StackValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    found = pools(args.resources)
    if not found:
        args.not_applicable("the stack has no inference pool")
    governing: dict[str, list[Mapping[str, Any]]] = {}
    for network_policy in by_type(args.resources, NETWORK_POLICY):
        spec = mapping(network_policy.props.get("spec"))
        types = [str(t) for t in items(spec.get("policyTypes"))]
        if types and "Ingress" not in types:
            continue  # an egress-only policy leaves ingress open
        governing.setdefault(_namespace(network_policy.props), []).append(
            mapping(spec.get("podSelector"))
        )
    for pool in found.values():
        for deployment in pool.deployments:
            namespace = _namespace(deployment.props)
            pod_labels = mapping(dig(deployment.props, "spec", "template", "metadata", "labels"))
            if any(selects(s, pod_labels) for s in governing.get(namespace, [])):
                continue
            report(
                f"{name_of(deployment.props, deployment.name)} (tier {pool.tier}, namespace "
                f"{namespace}): no NetworkPolicy selects its pods, so any pod in the cluster "
                "can call vLLM; want one that matches their labels with policyTypes "
                "Ingress. Declare it (components.VllmService does).",
                deployment.urn,
            )


def _namespace(props: Mapping[str, Any]) -> str:
    return str(dig(props, "metadata", "namespace") or "default")


def selects(selector: Mapping[str, Any], labels: Mapping[str, Any]) -> bool:
    """Whether a label selector picks a pod with these labels (an empty one picks all)."""
    wanted = mapping(selector.get("matchLabels"))
    if any(labels.get(key) != value for key, value in wanted.items()):
        return False
    for requirement in items(selector.get("matchExpressions")):
        term = mapping(requirement)
        key, operator = str(term.get("key")), str(term.get("operator"))
        values = [str(v) for v in items(term.get("values"))]
        present = key in labels
        if operator == "In" and not (present and str(labels[key]) in values):
            return False
        if operator == "NotIn" and present and str(labels[key]) in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


POLICY = policy(META, check)
