"""Reference tables for the README, generated from the models' field descriptions.

``python -m infra.docs`` rewrites the generated sections of README.md in place; the tests
fail when the README and the models drift apart.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

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

README = Path(__file__).resolve().parent.parent / "README.md"

CONFIG_SECTIONS: tuple[tuple[str, type[BaseModel]], ...] = (
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


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(arg) for arg in args if arg is not type(None))
    if origin is Literal:
        return " \\| ".join(f"`{arg}`" for arg in args)
    if origin is dict:
        return f"mapping of {type_name(args[0])} to {type_name(args[1])}"
    if origin in (list, tuple):
        return f"list of {type_name(args[0])}"
    if annotation is Any:
        return "string or Output"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    names = {bool: "boolean", int: "integer", float: "number", Decimal: "number", str: "string"}
    return names.get(annotation, str(annotation))


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    if field.default_factory is not None:
        return "see below"
    if field.default is None or field.default is PydanticUndefined:
        return "unset"
    return f"`{field.default}`"


def model_table(model: type[BaseModel]) -> str:
    lines = ["| key | type | default | what and why |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        description = (field.description or "").replace("|", "\\|").replace("<", "&lt;")
        lines.append(
            f"| `{field.alias or name}` | {type_name(field.annotation)} | "
            f"{default_text(field)} | {description} |"
        )
    return "\n".join(lines)


def config_reference() -> str:
    parts = []
    for path, model in CONFIG_SECTIONS:
        doc = inspect.cleandoc(model.__doc__ or "")
        parts.append(f"#### `{path}`\n\n{doc}\n\n{model_table(model)}")
    return "\n\n".join(parts)


def components_reference() -> str:
    """A section per component: what it declares, then its args."""
    import components  # the docs tool documents the components; nothing else in infra does

    parts = []
    for name in components.__all__:
        if name.endswith("Args") or not hasattr(components, f"{name}Args"):
            continue
        component = getattr(components, name)
        args = getattr(components, f"{name}Args")
        doc = " ".join((component.__doc__ or "").split())
        parts.append(f"#### `{name}`\n\n{doc}\n\n`{name}Args`:\n\n{model_table(args)}")
        for field_name, field in args.model_fields.items():
            nested = field.annotation
            if typing.get_origin(nested) in (typing.Union, types.UnionType):  # X | None
                nested = next(arg for arg in typing.get_args(nested) if arg is not type(None))
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                parts.append(f"`{nested.__name__}` (`{field_name}`):\n\n{model_table(nested)}")
    return "\n\n".join(parts)


def worker_settings() -> str:
    """The worker's flags and environment variables."""
    from facts.worker import SETTINGS as WORKER_SETTINGS

    lines = ["| flag | environment variable | what (default) |", "| --- | --- | --- |"]
    lines += [f"| `{s.flag}` | `{s.env}` | {s.help} |" for s in WORKER_SETTINGS]
    return "\n".join(lines)


def gpu_catalog() -> str:
    """The GPU catalog (``facts.catalog``), a row per GPU."""
    from facts.catalog import CATALOG

    lines = [
        "| key | GPU | class | memory | interactions/GPU | on-demand $/h | spot $/h | MIG "
        "| default instance | instance families |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for gpu in CATALOG.values():
        default = gpu.instance_type(gpu.default_instance_type)
        lines.append(
            f"| `{gpu.key}` | {gpu.name} | {gpu.gpu_class} | {gpu.memory_gb} GB | "
            f"{gpu.interactions_per_gpu} | {gpu.on_demand_price} | "
            f"{gpu.spot_price if gpu.spot_price is not None else 'none'} | "
            f"{'yes' if gpu.supports_mig else 'no'} | {default.name} ({default.gpus}) | "
            f"{', '.join(gpu.instance_families)} |"
        )
    return "\n".join(lines)


SECTIONS = {
    "gpu-catalog": gpu_catalog,
    "config-reference": config_reference,
    "components-reference": components_reference,
    "worker-settings": worker_settings,
}


def render(readme: str) -> str:
    """README text with every generated section brought up to date."""
    for name, generate in SECTIONS.items():
        begin, end = f"<!-- BEGIN {name} -->\n", f"<!-- END {name} -->"
        start = readme.find(begin)
        stop = readme.find(end, start)
        if start < 0 or stop < 0:
            raise ValueError(f"README.md has no generated section {name!r}")
        readme = readme[: start + len(begin)] + generate() + "\n" + readme[stop:]
    return readme


def main() -> None:
    text = README.read_text(encoding="utf-8")
    updated = render(text)
    if updated != text:
        README.write_text(updated, encoding="utf-8")
        print("README.md updated", file=sys.stderr)


if __name__ == "__main__":
    main()
