"""Shared test helpers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from infra.config import read_stack_file

REPO = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod", "sandbox")


def stack_values(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a shipped stack's ``config:`` mapping."""
    return copy.deepcopy(read_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml"))
