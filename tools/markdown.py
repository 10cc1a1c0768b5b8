"""Markdown the reference pages share: a table of a pydantic model's fields, and where
the pages live."""

from __future__ import annotations

import types
import typing
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "docs" / "reference"


def generated_by(module: str, source: str) -> str:
    """The line under a generated page's title: where it comes from and how to redo it."""
    return (
        f"Generated from {source} by `python -m {module}` (or `python -m tools.docs`, every "
        "page); a test fails when the page and the code drift apart. Edit the code, not "
        "this page."
    )


def cell(text: str) -> str:
    """Text that stays in its table cell."""
    return text.replace("|", "\\|").replace("<", "&lt;")


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
    """A row per field: its key as users write it, type, default and description."""
    lines = ["| key | type | default | what and why |", "| --- | --- | --- | --- |"]
    for name, field in model.model_fields.items():
        lines.append(
            f"| `{field.alias or name}` | {type_name(field.annotation)} | "
            f"{default_text(field)} | {cell(field.description or '')} |"
        )
    return "\n".join(lines)
