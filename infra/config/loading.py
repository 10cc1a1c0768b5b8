"""Loading a stack's configuration: from a stack file on disk (``load_stack_file``) or from
the running Pulumi program (``load_pulumi_config``); both go through ``parse_stack_config``,
so the two give the same result. And finding a stack's file by its name."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from infra.config.errors import ConfigError, problems
from infra.config.fields import HF_TOKEN_KEY, NAMESPACE, REGION_KEY
from infra.config.fleet import StackConfig
from infra.config.stackfile import StackFileError, read_document


def parse_stack_config(values: Mapping[str, Any]) -> StackConfig:
    """Validate a stack's configuration given as full Pulumi keys -> values.

    Keys of other namespaces (``aws:profile``, ...) are ignored; an unknown
    ``agentfleet:`` key is an error.
    """
    ours = {
        key: value
        for key, value in values.items()
        if key == REGION_KEY or key.startswith(f"{NAMESPACE}:")
    }
    try:
        return StackConfig.model_validate(ours)
    except ValidationError as error:
        raise ConfigError(problems(error, StackConfig)) from None


def load_stack_file(path: Path) -> StackConfig:
    """Load and validate a Pulumi stack file (``Pulumi.<stack>.yaml``)."""
    return parse_stack_config(read_stack_file(path))


def read_stack_file(path: Path) -> dict[str, Any]:
    """The ``config:`` mapping of a stack file, read as the Pulumi CLI reads it
    (``infra.config.stackfile``); what it cannot hold is refused with where and why."""
    try:
        document = read_document(path).values
    except StackFileError as error:
        raise ConfigError([(_where(path, error.where), error.reason)]) from None
    if document is None:
        document = {}
    if not isinstance(document, dict):
        raise ConfigError([(str(path), "a stack file is a mapping with a 'config' key")])
    config = document.get("config", {})
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError([(f"{path}: config", "must be a mapping of config keys")])
    return config


def _where(path: Path, where: str) -> str:
    """A stack-file problem's place as the config errors name theirs: the key path within
    ``config:``, else the file (and line)."""
    if where.startswith("config."):
        return where.removeprefix("config.")
    if where == "file":
        return str(path)
    if where.startswith("line "):
        return f"{path} ({where})"
    return f"{path}: {where}"


def load_pulumi_config() -> StackConfig:
    """Load and validate the configuration of the running Pulumi program."""
    import pulumi
    from pulumi.runtime import config as runtime_config

    present = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    values: dict[str, Any] = {}
    namespaces = {NAMESPACE: pulumi.Config(NAMESPACE), "aws": pulumi.Config("aws")}
    for key in present:
        namespace, _, name = key.partition(":")
        if namespace not in namespaces:
            continue
        config = namespaces[namespace]
        if key == REGION_KEY:
            values[key] = config.get(name)
            continue
        if key == HF_TOKEN_KEY:
            # Validation needs to know it is there, never what it is.
            values[key] = {"secure": "[secret]"} if config.get(name) else None
            continue
        try:
            values[key] = config.get_object(name)
        except (pulumi.ConfigTypeError, ValueError):
            values[key] = config.get(name)  # not JSON: the model reports the type
    return parse_stack_config(values)


STACK_NAME = r"^[A-Za-z0-9_.-]+$"


def project_root(start: Path | None = None) -> Path:
    """The directory holding Pulumi.yaml: the nearest at or above ``start`` (the working
    directory by default), else the one this package was installed from."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / "Pulumi.yaml").is_file():
            return directory
    source = Path(__file__).resolve().parents[2]
    if (source / "Pulumi.yaml").is_file():
        return source
    raise ConfigError([("--stack", "no Pulumi.yaml here or above; use --config FILE")])


def stack_file(name: str, start: Path | None = None) -> Path:
    """The stack file of stack ``name``, in the project's ``stackConfigDir``."""
    if not re.match(STACK_NAME, name):
        raise ConfigError([("--stack", f"{name!r} is not a stack name")])
    root = project_root(start)
    try:
        project = yaml.safe_load((root / "Pulumi.yaml").read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ConfigError([(str(root / "Pulumi.yaml"), f"cannot read: {error}")]) from None
    directory = root / str(project.get("stackConfigDir", "."))
    path = directory / f"Pulumi.{name}.yaml"
    if not path.is_file():
        known = sorted(
            found.name.removeprefix("Pulumi.").removesuffix(".yaml")
            for found in directory.glob("Pulumi.*.yaml")
        )
        raise ConfigError(
            [("--stack", f"no stack file {path}; stacks here: {', '.join(known) or 'none'}")]
        )
    return path
