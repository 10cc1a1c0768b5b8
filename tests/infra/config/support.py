"""What the config tests share: the key paths of prod's tiers, and a key path's value set
(or deleted) in a stack's values."""

from __future__ import annotations

from typing import Any

DELETE = object()
TIER = "agentfleet:fleet.tiers.orchestrator"
MID = "agentfleet:fleet.tiers.mid-tier"
LIGHT = "agentfleet:fleet.tiers.lightweight"


def setting(values: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    """Set (or delete, with DELETE) the value at a key path like ``agentfleet:fleet.tiers.x``."""
    first, *rest = path.split(".")
    keys = [first, *rest]
    node: Any = values
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    if value is DELETE:
        del node[keys[-1]]
    else:
        node[keys[-1]] = value
    return values
