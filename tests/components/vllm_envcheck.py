"""What vLLM reads of its environment (vllm.envs).

Runs in the vLLM virtualenv (python3 tasks.py test makes it), never in the package's:
``answer`` takes an order {"env": {...}} (tests/vllm_server.py's, or JSON on stdin when run
as a script, which prints its answer), sets the environment, and gives {"known": [every
variable vLLM reads], "keep_alive": VLLM_HTTP_TIMEOUT_KEEP_ALIVE as vLLM reads it}."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

os.environ.setdefault("VLLM_TARGET_DEVICE", "cpu")

import vllm.envs as e


def answer(order: dict[str, Any]) -> dict[str, object]:
    """vLLM's variables, and the keep-alive vLLM's HTTP server takes from the environment."""
    os.environ.update(order["env"])
    return {"known": sorted(e.environment_variables), "keep_alive": e.VLLM_HTTP_TIMEOUT_KEEP_ALIVE}


if __name__ == "__main__":
    print(json.dumps(answer(json.loads(sys.stdin.read()))))
