"""Who a set of NetworkPolicies lets reach a pod, by Kubernetes' rules: a pod no policy
selects for ingress takes anything; a selected pod takes what some rule of some selecting
policy allows (rules add up). A peer's podSelector alone means pods of the policy's own
namespace; a namespaceSelector alone, every pod of the namespaces it picks; both, the pods
it picks in those namespaces; an ipBlock, addresses in the block but not its exceptions.

Under the VPC CNI, as its network policy agent enforces them, ipBlocks match pods'
addresses too, since every pod has an address of the VPC; so a block of the VPC admits
every pod in it."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Pod:
    namespace: str
    labels: Mapping[str, str]
    ip: str
    namespace_labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def all_namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace, **self.namespace_labels}


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, str]) -> bool:
    """A LabelSelector's match: every matchLabels pair and every matchExpression."""
    selector = selector or {}
    if any(labels.get(key) != value for key, value in (selector.get("matchLabels") or {}).items()):
        return False
    for expression in selector.get("matchExpressions") or ():
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values") or ()
        held = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not held:
            return False
    return True


def _peer(peer: Mapping[str, Any], source: Pod, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(source.ip)
        block = peer["ipBlock"]
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(other) for other in block.get("except") or ()
        )
    if "namespaceSelector" in peer:
        in_namespace = selects(peer["namespaceSelector"], source.all_namespace_labels)
    else:
        in_namespace = source.namespace == policy_namespace
    return in_namespace and selects(peer.get("podSelector"), source.labels)


def _port(ports: Iterable[Mapping[str, Any]] | None, port: int) -> bool:
    ports = list(ports or ())
    return not ports or any(
        p.get("port") in (None, port) and p.get("protocol", "TCP") == "TCP" for p in ports
    )


def admits(policies: Iterable[Mapping[str, Any]], target: Pod, source: Pod, port: int) -> bool:
    """Whether ``source`` may open a TCP connection to ``target``'s ``port``."""
    selecting = [
        policy
        for policy in policies
        if policy["metadata"].get("namespace") == target.namespace
        and "Ingress" in policy["spec"].get("policyTypes", ["Ingress"])
        and selects(policy["spec"].get("podSelector"), target.labels)
    ]
    if not selecting:
        return True
    return any(
        _port(rule.get("ports"), port)
        and (
            not rule.get("from")
            or any(_peer(peer, source, policy["metadata"]["namespace"]) for peer in rule["from"])
        )
        for policy in selecting
        for rule in policy["spec"].get("ingress") or ()
    )
