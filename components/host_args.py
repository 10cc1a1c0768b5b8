"""What Pulumi's component provider host hands a component of ``components.package``
(Python names, nested objects as dicts, every number a float), turned into the component's
own args model, validated as any caller's args are."""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import pulumi
from pydantic import BaseModel


def as_args(model: type[BaseModel], given: Mapping[str, Any]) -> BaseModel:
    """The component's own args from the host's mapped inputs (Python names, nested
    dicts, numbers as floats): each value converted to its field's type, then validated
    by the model as any caller's would be."""
    values = {
        key: _converted(field.annotation, given[key])
        for key, field in model.model_fields.items()
        if given.get(key) is not None
    }
    return model.model_validate(values)


def _converted(annotation: Any, value: Any) -> Any:
    annotation = bare(annotation)
    origin = typing.get_origin(annotation)
    if isinstance(value, pulumi.Output) or value is None:
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _converted(options[0], value) if len(options) == 1 else value
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return as_args(annotation, value)
    if origin in (tuple, list) and isinstance(value, (list, tuple)):
        item = typing.get_args(annotation)[0]
        converted = [_converted(item, v) for v in value]
        return tuple(converted) if origin is tuple else converted
    if origin in (dict, Mapping) and isinstance(value, Mapping):
        item = typing.get_args(annotation)[1]
        return {k: _converted(item, v) for k, v in value.items()}
    if annotation is Decimal and isinstance(value, (int, float)):
        return Decimal(str(value))
    if annotation is int and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def bare(annotation: Any) -> Any:
    """Without ``Annotated`` constraints."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation
