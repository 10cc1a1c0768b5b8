"""Shared test helpers."""

from __future__ import annotations

import contextlib
import copy
import json
import os
import select
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

from infra.config import read_stack_file

REPO = Path(__file__).resolve().parent.parent
STACKS = ("dev", "staging", "prod", "sandbox")


def stack_values(stack: str) -> dict[str, Any]:
    """A fresh, mutable copy of a shipped stack's ``config:`` mapping."""
    return copy.deepcopy(read_stack_file(REPO / "stacks" / f"Pulumi.{stack}.yaml"))


def with_karpenter(values: dict[str, Any]) -> dict[str, Any]:
    """A stack's values with Karpenter provisioning its GPU nodes."""
    values["agentfleet:cluster"]["nodeProvisioner"] = "karpenter"
    return values


KARPENTER = "-karpenter"
"""A shipped stack's name with this suffix: that stack with Karpenter (``with_karpenter``)."""


def stack_or_karpenter(stack: str) -> dict[str, Any]:
    """A shipped stack's values, or ``<stack>-karpenter``: the same with Karpenter."""
    if stack.endswith(KARPENTER):
        return with_karpenter(stack_values(stack.removesuffix(KARPENTER)))
    return stack_values(stack)


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


class VllmProcess:
    """One process of vLLM's virtualenv's ``python`` (CPU only, tests/vllm_server.py): it
    imports vLLM once, for every order it answers; its stderr goes to a temporary file."""

    def __init__(self, python: Path) -> None:
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed by close)
        try:
            self._process = subprocess.Popen(
                [str(python), str(REPO / "tests" / "vllm_server.py")],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                env={**os.environ, "VLLM_TARGET_DEVICE": "cpu"},
            )
        except OSError:
            self._log.close()
            raise
        self._unread = b""

    def __enter__(self) -> VllmProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ask(self, script: Path, order: Any, timeout: float = 600) -> Any:
        """``script``'s answer (its ``answer(order)``, in the vLLM process) to ``order``."""
        assert self._process.stdin is not None
        request = json.dumps({"script": str(script), "order": order}) + "\n"
        with contextlib.suppress(BrokenPipeError):  # the process has ended: no reply comes
            self._process.stdin.write(request.encode())
            self._process.stdin.flush()
        line = self._reply(timeout)
        assert line is not None, f"{script.name}: vLLM's process ended\n{self._stderr()}"
        reply = json.loads(line)
        assert "error" not in reply, f"{script.name}: {reply['error'][-3000:]}"
        return reply["answer"]

    def _reply(self, timeout: float) -> bytes | None:
        """The next line of the process's stdout; None if it ends first."""
        assert self._process.stdout is not None
        out, deadline = self._process.stdout.fileno(), time.monotonic() + timeout
        while b"\n" not in self._unread:
            ready, _, _ = select.select([out], [], [], max(deadline - time.monotonic(), 0))
            if not ready:
                self._process.kill()
                raise subprocess.TimeoutExpired(self._process.args, timeout, self._stderr())
            chunk = os.read(out, 1 << 16)
            if not chunk:
                return None
            self._unread += chunk
        line, _, self._unread = self._unread.partition(b"\n")
        return line

    def _stderr(self) -> str:
        """The end of what the process wrote to stderr."""
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def close(self) -> None:
        """End the process (its stdin closed, it stops) and drop its stderr."""
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        try:
            self._process.stdin.close()
            self._process.wait(timeout=30)
        except (BrokenPipeError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._log.close()
