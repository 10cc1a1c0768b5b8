"""Shared test helpers."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest

from infra.config import read_stack_file

REPO = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod", "sandbox")


def stack_values(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a shipped stack's ``config:`` mapping."""
    return copy.deepcopy(read_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml"))


def prod_with_mixed_mig() -> dict[str, Any]:
    """prod with an orchestrator of two MIG shapes (2g.20gb and 1g.10gb) on one queue,
    serving a 3B model (a 7B one does not fit the 1g.10gb slice). A slice has its share of
    the GPU's memory bandwidth (an eighth for 1g.10gb): 350 tokens take about 7 s there, so
    the tier allows 10 s an interaction."""
    values = stack_values("prod")
    orchestrator = values["agentfleet:fleet"]["tiers"]["orchestrator"]
    orchestrator["mig"] = {"2g.20gb": 1, "1g.10gb": 1}
    orchestrator["model"] = "Qwen/Qwen2.5-3B-Instruct"
    orchestrator["serviceSeconds"] = 10
    return values


def tool_from_env(variable: str, what: str) -> Path:
    """A tool `python3 tasks.py test` installs in a virtualenv of its own and names in
    ``variable``: missing, the test fails under CI and is skipped elsewhere."""
    found = os.environ.get(variable)
    if not found:
        message = f"{what} is made by `python3 tasks.py test` ({variable})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return Path(found)
