"""Configuration errors: what cannot be built, each problem named by its key path
(``agentfleet:fleet.tiers.orchestrator.mig``) and its reason."""

from __future__ import annotations

import json
from collections.abc import Sequence

from pydantic import BaseModel, ValidationError

from infra.config.fields import KeyedError


class ConfigError(Exception):
    """Configuration that cannot be built. ``problems`` holds (key path, reason) pairs."""

    def __init__(self, problems: Sequence[tuple[str, str]]) -> None:
        # One line per problem, whatever a value holds.
        self.problems = tuple((_flat(path), _flat(reason)) for path, reason in problems)
        super().__init__("\n".join(f"{path}: {reason}" for path, reason in self.problems))


def _flat(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


def problems(error: ValidationError, root: type[BaseModel]) -> list[tuple[str, str]]:
    """Each error of a validation of ``root`` as (key path, reason): the path in the stack's
    own keys, the reason in words."""
    problems = []
    for detail in error.errors(include_url=False):
        loc = list(detail["loc"])
        kind = detail["type"]
        cause = (detail.get("ctx") or {}).get("error")
        if isinstance(cause, KeyedError):
            loc.append(cause.key)
            reason = str(cause)
        elif kind == "missing":
            reason = "required key is missing"
        elif kind == "extra_forbidden":
            allowed = _allowed_keys(root, loc[:-1])
            reason = "unknown key" + (f"; allowed here: {', '.join(allowed)}" if allowed else "")
        elif loc and loc[-1] == "[key]":
            loc.pop()
            reason = (
                "tier names are lowercase letters, digits and '-', starting with a letter "
                "(at most 40 characters: they name Services, DNS-1035)"
            )
        elif isinstance(cause, Exception):
            reason = str(cause)
        else:
            reason = f"{detail['msg'][0].lower()}{detail['msg'][1:]} (got {_show(detail['input'])})"
        problems.append((_path(loc), reason))
    return problems


def _path(loc: Sequence[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def _show(value: object) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _allowed_keys(root: type[BaseModel], loc: Sequence[int | str]) -> list[str]:
    """The keys a mapping at ``loc`` accepts, found by walking the models along it."""
    model: type[BaseModel] | None = root
    expect_key = False
    for part in loc:
        if model is None:
            return []
        if expect_key:  # inside dict[str, Model]: the part is a key, the model stays
            expect_key = False
            continue
        field = next((f for name, f in model.model_fields.items() if part in (name, f.alias)), None)
        if field is None:
            return []
        annotation = field.annotation
        origin = getattr(annotation, "__origin__", None)
        if origin is dict:
            model = annotation.__args__[1]  # type: ignore[union-attr]
            expect_key = True
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            model = annotation
        else:
            return []
    if model is None:
        return []
    return [field.alias or name for name, field in model.model_fields.items()]
