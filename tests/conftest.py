"""Fixtures for the whole test suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers import VllmProcess, tool_from_env


@pytest.fixture(scope="session")
def vllm() -> Iterator[VllmProcess]:
    """One process of vLLM's virtualenv for the session (importing vLLM takes ~20 s), ended
    with it; missing the virtualenv, its tests fail under CI and are skipped elsewhere."""
    with VllmProcess(tool_from_env("AGENTFLEET_VLLM_PYTHON", "vLLM's virtualenv")) as process:
        yield process
