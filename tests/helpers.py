"""Shared test helpers."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from infra.config import read_stack_file

REPO = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod", "sandbox")


def stack_values(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a shipped stack's ``config:`` mapping."""
    return copy.deepcopy(read_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml"))


STORE_BUCKET = "agents-prod-weights-123456789012"


def prod_with_model_store() -> dict[str, Any]:
    """prod as shipped: a model store every tier streams its Hub model from."""
    values = stack_values("prod")
    assert values["agentfleet:fleet"]["modelStore"]["bucket"] == STORE_BUCKET
    return values


def prod_with_s3_model() -> dict[str, Any]:
    """prod whose mid-tier serves a fine-tuned model from an S3 folder of another bucket,
    described by its shape (the table cannot know it); the other tiers from the Hub."""
    values = stack_values("prod")
    values["agentfleet:fleet"].pop("modelStore", None)
    mid = values["agentfleet:fleet"]["tiers"]["mid-tier"]
    mid["model"] = "s3://agents-finetunes/support-bot/v3/"
    # a fine-tune of Qwen2.5-7B-Instruct: its config.json's shape
    mid["modelProfile"] = {"parametersBillions": 7.62, "layers": 28, "kvHeads": 4,
                           "headDim": 128, "dtype": "bfloat16", "maxModelLen": 32768}  # fmt: skip
    return values


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


def run_in_vllm(python: Path, script: Path, order: Any) -> Any:
    """Run ``script`` with vLLM's virtualenv's ``python`` (CPU only), ``order`` as JSON on
    its stdin; what it prints last, as JSON."""
    result = subprocess.run(
        [str(python), str(script)],
        input=json.dumps(order),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "VLLM_TARGET_DEVICE": "cpu"},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
