"""The stack-file reference page (``docs/reference/stack-file.md``): a section per mapping
of the stack file, a row per key, from the config models' docstrings and field
descriptions. ``python -m tools.stack_reference`` writes it."""

from __future__ import annotations

import inspect

from pydantic import BaseModel

from infra.config import (
    AddonConfig,
    AddonsConfig,
    BurstConfig,
    ClusterConfig,
    FleetConfig,
    LoadBalancerConfig,
    ModelProfileConfig,
    MonitoringConfig,
    NodeGroupConfig,
    QueueConfig,
    ScalingConfig,
    ScheduleWindow,
    TierConfig,
    WorkerConfig,
)
from tools.markdown import REFERENCE, generated_by, model_table

PAGE = REFERENCE / "stack-file.md"

SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
    ("agentfleet:cluster", ClusterConfig),
    ("agentfleet:cluster.systemNodes", NodeGroupConfig),
    ("agentfleet:addons", AddonsConfig),
    ("agentfleet:addons.<addon>", AddonConfig),
    ("agentfleet:fleet", FleetConfig),
    ("agentfleet:fleet.tiers.<name>", TierConfig),
    ("agentfleet:fleet.tiers.<name>.modelProfile", ModelProfileConfig),
    ("agentfleet:fleet.tiers.<name>.burst", BurstConfig),
    ("agentfleet:fleet.tiers.<name>.scaling", ScalingConfig),
    ("agentfleet:fleet.tiers.<name>.scaling.schedule[]", ScheduleWindow),
    ("agentfleet:fleet.tiers.<name>.loadBalancer", LoadBalancerConfig),
    ("agentfleet:fleet.tiers.<name>.queue", QueueConfig),
    ("agentfleet:fleet.monitoring", MonitoringConfig),
    ("agentfleet:fleet.worker", WorkerConfig),
)


def render() -> str:
    parts = [
        "# Stack file reference",
        generated_by("tools.stack_reference", "the stack config models (`infra/config/`)"),
        "Every key agentfleet reads from a stack file, by the mapping it sits in. "
        '"unset" means the planner derives the value as the description says; '
        "[Stack files](../stack-files.md) walks through a whole file.",
    ]
    for path, model in SECTIONS:
        doc = inspect.cleandoc(model.__doc__ or "")
        parts.append(f"## `{path}`\n\n{doc}\n\n{model_table(model)}")
    return "\n\n".join(parts) + "\n"


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
