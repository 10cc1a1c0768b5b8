"""The components reference page (``docs/reference/components.md``): a section per
component, what it declares, then its args, from the components' docstrings and their
args models' field descriptions. ``python -m tools.components_reference`` writes it."""

from __future__ import annotations

import types
import typing

from pydantic import BaseModel

import components
from tools.markdown import REFERENCE, generated_by, model_table

PAGE = REFERENCE / "components.md"


def nested_models(args: type[BaseModel]) -> list[tuple[str, type[BaseModel]]]:
    """The args' fields that are models of their own (``X`` or ``X | None``)."""
    found = []
    for field_name, field in args.model_fields.items():
        nested = field.annotation
        if typing.get_origin(nested) in (typing.Union, types.UnionType):
            nested = next(arg for arg in typing.get_args(nested) if arg is not type(None))
        if isinstance(nested, type) and issubclass(nested, BaseModel):
            found.append((field_name, nested))
    return found


def render() -> str:
    parts = [
        "# Components reference",
        generated_by("tools.components_reference", "the components and their args models"),
        "Each component of `components` with the args model it takes (Python field names; "
        "other Pulumi languages take them in camelCase). [Components](../components.md) "
        "says how to use them.",
    ]
    for name in components.__all__:
        if name.endswith("Args") or not hasattr(components, f"{name}Args"):
            continue
        component = getattr(components, name)
        args = getattr(components, f"{name}Args")
        doc = " ".join((component.__doc__ or "").split())
        parts.append(f"## `{name}`\n\n{doc}\n\n`{name}Args`:\n\n{model_table(args)}")
        for field_name, nested in nested_models(args):
            parts.append(f"`{nested.__name__}` (`{field_name}`):\n\n{model_table(nested)}")
    return "\n\n".join(parts) + "\n"


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
