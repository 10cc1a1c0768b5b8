"""Readers of the properties the engine sends a policy: camelCase keys, numbers as floats,
anything may be missing or of the wrong shape, unknown during preview (touching it raises,
and the guard makes the policy not applicable), or a decrypted secret."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from facts.karpenter import CAPACITY_TYPE, INSTANCE_TYPE
from facts.labels import CAPACITY_ROLE, COMPONENT, ROLE, TIER
from facts.resource_types import NODE_GROUP, NODE_POOL

GPU_RESOURCE = re.compile(r"^nvidia\.com/(gpu|mig-.+)$")


def dig(value: Any, *path: str | int) -> Any:
    """The value at ``path`` or None when any step is missing or of the wrong shape."""
    for step in path:
        if isinstance(step, int):
            if not is_list(value) or step >= len(value):
                return None
            value = value[step]
        else:
            if not isinstance(value, Mapping):
                return None
            value = value.get(step)
        if value is None:
            return None
    return value


def plain(value: Any) -> Any:
    """A property as plain dicts and lists (the SDK's proxies are neither), for searching
    or dumping; touching an unknown value raises as usual."""
    if isinstance(value, Mapping):
        return {str(key): plain(value[key]) for key in value}
    if is_list(value):
        return [plain(item) for item in value]
    return value


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def is_list(value: Any) -> bool:
    """A list as the engine sends it (the policy SDK wraps lists in a Sequence proxy)."""
    return isinstance(value, Sequence) and not isinstance(value, str | bytes)


def items(value: Any) -> list[Any]:
    return list(value) if is_list(value) else []


def number(value: Any) -> float | None:
    """A number as the engine sends it (float), or from a numeric string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def show(value: float | None) -> str:
    """A number as a person writes it: 10 rather than 10.0."""
    if value is None:
        return "unset"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def labels(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(dig(props, "metadata", "labels"))


def tags(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(props.get("tags"))


def flag(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return None


def pod_spec(props: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(dig(props, "spec", "template", "spec"))


def pod_meta(props: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """Labels or annotations of a workload: its own, overridden by its pod template's."""
    return {**mapping(dig(props, "metadata", key)),
            **mapping(dig(props, "spec", "template", "metadata", key))}  # fmt: skip


def containers(props: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    spec = pod_spec(props)
    for key in ("initContainers", "containers"):
        for container in items(spec.get(key)):
            if isinstance(container, Mapping):
                yield container


def is_vllm(container: Mapping[str, Any]) -> bool:
    words = [str(container.get("image") or ""), *map(str, items(container.get("command")))]
    return any("vllm" in word.lower() for word in words)


def gpu_requests(container: Mapping[str, Any]) -> list[str]:
    """The GPU resources (nvidia.com/gpu, nvidia.com/mig-*) a container asks for."""
    found = []
    for kind in ("requests", "limits"):
        for resource in mapping(dig(container, "resources", kind)):
            if GPU_RESOURCE.match(str(resource)) and resource not in found:
                found.append(str(resource))
    return found


def is_inference(props: Mapping[str, Any]) -> bool:
    """A workload that serves models: labelled so, or running vLLM."""
    if pod_meta(props, "labels").get(ROLE) == "inference":
        return True
    return any(is_vllm(container) for container in containers(props))


def is_mcp_server(props: Mapping[str, Any]) -> bool:
    """An MCP server: labelled so (by role or component), or named like one."""
    pod_labels = pod_meta(props, "labels")
    if pod_labels.get(ROLE) == "mcp-server":
        return True
    if pod_labels.get(COMPONENT) == "mcp-server":
        return True
    name = str(dig(props, "metadata", "name") or "")
    return bool(re.search(r"(^|[-_.])mcp($|[-_.])", name.lower()))


def tier_of(props: Mapping[str, Any]) -> str | None:
    """The tier a resource belongs to, from its labels, pod labels or tags."""
    for source in (labels(props), pod_meta(props, "labels"), tags(props)):
        tier = source.get(TIER)
        if isinstance(tier, str) and tier:
            return tier
    return None


def argument(argv: list[Any], flag_name: str) -> str | None:
    """The value of ``--flag value`` or ``--flag=value`` in an argv."""
    words = [str(word) for word in argv]
    for index, word in enumerate(words):
        if word == flag_name and index + 1 < len(words):
            return words[index + 1]
        if word.startswith(flag_name + "="):
            return word.split("=", 1)[1]
    return None


def name_of(props: Mapping[str, Any], fallback: str) -> str:
    return str(dig(props, "metadata", "name") or props.get("name") or fallback)


def node_marks(props: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a node group says of itself: its tags, overridden by its node labels."""
    return {**mapping(tags(props)), **mapping(props.get("labels"))}


def is_burst(props: Mapping[str, Any]) -> bool:
    """A node group a tier bursts onto above its floor (the floor is another group's)."""
    return node_marks(props).get(CAPACITY_ROLE) == "burst"


EKS_CAPACITY = {"ON_DEMAND": "on-demand", "SPOT": "spot", "CAPACITY_BLOCK": "reserved"}
"""A managed node group's capacityType as Karpenter's capacity types name it."""


@dataclass(frozen=True)
class Nodes:
    """What an EKS managed node group or a Karpenter NodePool says of the nodes it makes,
    in one shape, so a policy judges both alike."""

    kind: str
    """"node group" or "NodePool", for the findings."""
    marks: Mapping[str, Any]
    """agentfleet's marks: a node group's tags or a NodePool's annotations, overridden by
    the labels of its nodes."""
    capacity_types: frozenset[str]
    """What it may launch: on-demand, spot, reserved."""
    instance_types: tuple[str, ...]
    floor: float | None
    """Instances it keeps whatever the load (a node group's minSize); None: it keeps none
    (a NodePool launches for pods only)."""


def node_pool_capacity_types(props: Mapping[str, Any]) -> frozenset[str]:
    """The capacity types a NodePool may launch, as Karpenter reads its requirements: a
    key no requirement names allows any value, so a NodePool that names no
    karpenter.sh/capacity-type may launch every type (reserved first, then spot)."""
    allowed = frozenset({"on-demand", "spot", "reserved"})
    chosen: frozenset[str] | None = None
    for requirement in map(mapping, _requirements(props)):
        if requirement.get("key") != CAPACITY_TYPE:
            continue
        values = frozenset(str(v) for v in items(requirement.get("values")))
        step = {
            "In": values,
            "NotIn": allowed - values,
            "Exists": allowed,
            "DoesNotExist": frozenset(),
        }.get(str(requirement.get("operator")), allowed)
        chosen = step if chosen is None else chosen & step
    return allowed if chosen is None else chosen


def _requirements(props: Mapping[str, Any]) -> list[Any]:
    return items(dig(props, "spec", "template", "spec", "requirements"))


def nodes_of(resource_type: str, props: Mapping[str, Any]) -> Nodes | None:
    """The nodes a node group or a NodePool makes; None for anything else."""
    if resource_type == NODE_GROUP:
        capacity = EKS_CAPACITY.get(str(props.get("capacityType") or "ON_DEMAND"), "on-demand")
        return Nodes(
            kind="node group",
            marks=node_marks(props),
            capacity_types=frozenset({capacity}),
            instance_types=tuple(str(name) for name in items(props.get("instanceTypes"))),
            floor=number(dig(props, "scalingConfig", "minSize")),
        )
    if resource_type == NODE_POOL:
        types: tuple[str, ...] = ()
        for requirement in map(mapping, _requirements(props)):
            if requirement.get("key") == INSTANCE_TYPE and requirement.get("operator") == "In":
                types = tuple(str(name) for name in items(requirement.get("values")))
        return Nodes(
            kind="NodePool",
            marks={
                **mapping(dig(props, "metadata", "annotations")),
                **mapping(dig(props, "spec", "template", "metadata", "labels")),
            },
            capacity_types=node_pool_capacity_types(props),
            instance_types=types,
            floor=None,
        )
    return None
