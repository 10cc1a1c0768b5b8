"""The worker's own console script, ``agentfleet-worker``: its import graph is the bridge
and ``facts`` (and their third-party libraries), never Pulumi, pyyaml or the rest of
agentfleet, so its image ships none of them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytestmark = pytest.mark.integration  # each test starts a fresh interpreter

FORBIDDEN = {"pulumi", "pulumi_aws", "pulumi_kubernetes", "pulumi_policy", "yaml", "infra",
             "components", "policies"}  # fmt: skip


def loaded_after(statements: str) -> set[str]:
    """The top-level modules a fresh interpreter holds after running ``statements``."""
    probe = (
        statements
        + "\nimport json, sys\nprint(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd="/"
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def test_the_console_script_entry_point_loads_no_pulumi_nor_yaml() -> None:
    loaded = loaded_after(
        textwrap.dedent(
            """
            from importlib.metadata import entry_points
            (script,) = [e for e in entry_points(group="console_scripts")
                         if e.name == "agentfleet-worker"]
            assert script.value == "bridge.cli:run_worker", script.value
            script.load()
            """
        )
    )
    assert {"bridge", "facts"} <= loaded
    assert not loaded & FORBIDDEN


def test_what_the_worker_runs_loads_no_pulumi_nor_yaml() -> None:
    """Beyond the entry point: the worker loop and the client it is tested with."""
    loaded = loaded_after("import bridge.worker, bridge.client, bridge.batching, bridge.cli")
    assert {"aiohttp", "botocore", "pydantic"} <= loaded
    assert not loaded & FORBIDDEN
