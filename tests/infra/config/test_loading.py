"""Loading a stack's config: from a stack file or from the running program's
pulumi.Config, with the same result; a file that cannot be read, or a token kept in plain
sight, is refused with its key path and reason."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
from pulumi.runtime import config as runtime_config

from infra.config import (
    ConfigError,
    load_pulumi_config,
    load_stack_file,
    parse_stack_config,
    read_stack_file,
    stack_file,
)
from tests.helpers import REPO, STACKS, stack_values
from tests.infra.config.support import TIER, setting

# --- defaults and values --------------------------------------------------------------


def test_secret_token_is_accepted_as_stored() -> None:
    values = stack_values("dev")
    values["agentfleet:hfToken"] = {"secure": "v1:AAABBBCCC"}
    assert parse_stack_config(values).hf_token is not None


@pytest.mark.usefixtures("pulumi_config")
def test_pulumi_config_never_keeps_the_token() -> None:
    values = stack_values("dev")
    runtime_config.set_all_config(
        {**as_pulumi_config(values), "agentfleet:hfToken": "hf_live_value"},
        ["agentfleet:hfToken"],
    )
    config = load_pulumi_config()
    assert config.hf_token is not None
    assert "hf_live_value" not in repr(config)


def test_other_namespaces_are_ignored() -> None:
    values = stack_values("dev")
    values["aws:profile"] = "sandbox"
    values["kubernetes:context"] = "dev"
    assert parse_stack_config(values).region == "us-east-1"


# --- stack files on disk --------------------------------------------------------------


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "Pulumi.test.yaml"
    path.write_text(text)
    return path


def test_duplicate_key_in_stack_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  aws:region: us-east-1\n  aws:region: eu-west-1\n")
    with pytest.raises(ConfigError) as raised:
        read_stack_file(path)
    assert raised.value.problems == (("aws:region", "the key appears twice (line 3)"),)


def test_malformed_stack_file_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "config:\n  agentfleet:fleet: {tiers: [\n")
    with pytest.raises(ConfigError) as raised:
        read_stack_file(path)
    assert raised.value.problems[0][1].startswith("not valid YAML: ")


def test_stack_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_stack_file(write(tmp_path, "- a\n- b\n"))
    assert raised.value.problems[0][1] == "a stack file is a mapping with a 'config' key"


def test_missing_stack_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        read_stack_file(tmp_path / "Pulumi.nope.yaml")
    assert raised.value.problems[0][1] == ("cannot read the stack file: No such file or directory")


def test_stack_file_lookup_uses_stack_config_dir() -> None:
    assert stack_file("prod", REPO / "tests") == REPO / "stacks" / "Pulumi.prod.yaml"
    with pytest.raises(ConfigError) as raised:
        stack_file("qa", REPO)
    assert raised.value.problems[0][1] == (
        f"no stack file {REPO / 'stacks' / 'Pulumi.qa.yaml'}; stacks here: dev, prod, sandbox, "
        "staging"
    )


# --- the same result from pulumi.Config -----------------------------------------------


@pytest.fixture
def pulumi_config() -> Iterator[None]:
    saved = dict(runtime_config.CONFIG.get())
    yield
    runtime_config.set_all_config(saved)


def as_pulumi_config(values: dict[str, Any]) -> dict[str, str]:
    """How the Pulumi CLI hands a stack's config to the program: objects as JSON text."""
    return {
        key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()
    }


@pytest.mark.usefixtures("pulumi_config")
@pytest.mark.parametrize("stack", STACKS)
def test_pulumi_config_gives_the_same_result_as_the_stack_file(stack: str) -> None:
    runtime_config.set_all_config(as_pulumi_config(stack_values(stack)))
    from_program = load_pulumi_config()
    from_file = load_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml")
    assert from_program == from_file


@pytest.mark.usefixtures("pulumi_config")
def test_pulumi_config_errors_name_the_key_path() -> None:
    values = stack_values("prod")
    setting(values, f"{TIER}.mig", {"7g.80gb": 1, "1g.10gb": 1})
    values["agentfleet:typo"] = "x"
    runtime_config.set_all_config(as_pulumi_config(values))
    with pytest.raises(ConfigError) as raised:
        load_pulumi_config()
    assert raised.value.problems == (
        (f"{TIER}.mig", "{7g.80gb: 1, 1g.10gb: 1} needs 8 compute slices; h100-pcie has 7"),
        (
            "agentfleet:typo",
            "unknown key; allowed here: aws:region, agentfleet:cluster, agentfleet:fleet, "
            "agentfleet:addons, "
            "agentfleet:hfToken",
        ),
    )


@pytest.mark.usefixtures("pulumi_config")
def test_pulumi_config_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    runtime_config.set_all_config({})
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(as_pulumi_config(stack_values("dev"))))
    assert load_pulumi_config() == load_stack_file(REPO / "stacks" / "Pulumi.dev.yaml")
    assert pulumi.Config("agentfleet").require_object("fleet")["environment"] == "dev"
