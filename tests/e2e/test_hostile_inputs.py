"""`agentfleet validate` and `agentfleet plan` driven with mutated and hostile stack files,
as processes under a memory cap: whatever the file holds, each run ends within 20 s, exits
0, 1 or 2, and never prints a traceback."""

from __future__ import annotations

import contextlib
import copy
import io
import os
import resource
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pulumi.runtime import config as runtime_config

from infra.cli import main
from tests.helpers import REPO, stack_values

MEMORY_CAP = 3 * 1024**3  # address space: Python, pydantic, Pulumi and gRPC fit well inside
TIME_LIMIT = 20
PROD = stack_values("prod")


def _cap() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def run(command: str, raw: bytes, tmp: Path) -> tuple[int, str]:
    path = tmp / "Pulumi.hostile.yaml"
    path.write_bytes(raw)
    process = subprocess.run(
        [sys.executable, "-m", "infra.cli", command, "--config", str(path)],
        cwd=REPO,
        capture_output=True,
        timeout=TIME_LIMIT,
        preexec_fn=_cap,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        check=False,
    )
    return process.returncode, (process.stdout + process.stderr).decode(errors="replace")


def assert_clean(command: str, raw: bytes, tmp: Path) -> None:
    status, output = run(command, raw, tmp)
    assert status in (0, 1, 2), (status, output[-2000:])
    assert "Traceback" not in output, output[-2000:]


# --- hostile values and shapes ----------------------------------------------------------

HOSTILE_VALUES: st.SearchStrategy[Any] = st.sampled_from(
    [
        None, True, "yes", "0764", "8:20", "2024-01-01", "", " ", "x" * 10_000, "a\nb",
        "ümlaut", "\u202etxt", 0, -1, 2**63, 10**30, 1e100, 1e-300, -0.0, float("inf"),
        [], {}, [[[[]]]], {"nested": {"deep": [1, 2]}}, ["a", 1, None],
        "0 8 * * 1-5", "61 25 32 13 8", "*/0 8 * * 1-5", "999.999.999.999/99",
        "registry/image:tag\n", "0mid", "h100-pcie", "l40s", "spot",
    ]
)  # fmt: skip


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path of a nested value."""
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, inner in value.items():
            found += paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            found += paths(inner, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The prod stack with a few values replaced, keys dropped or added."""
    values = copy.deepcopy(PROD)
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.sampled_from(paths(values)))
        parent: Any = values
        for key in where[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "replace":
            parent[where[-1]] = draw(HOSTILE_VALUES)
        elif action == "drop" and isinstance(parent, dict):
            parent.pop(where[-1])
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(["zz", "minInstances", "1", "tiers"]))] = draw(
                HOSTILE_VALUES
            )
    return yaml.safe_dump({"config": values}, allow_unicode=True).encode()


def bomb(levels: int, width: int) -> str:
    lines = ["  l0: &l0 [" + ", ".join(["x"] * width) + "]"]
    for level in range(1, levels):
        lines.append(f"  l{level}: &l{level} [" + ", ".join([f"*l{level - 1}"] * width) + "]")
    return "\n".join(lines)


PROD_TEXT = (REPO / "stacks" / "Pulumi.prod.yaml").read_text()
HOSTILE_FILES = {
    "utf-16": PROD_TEXT.encode("utf-16"),
    "latin-1": (PROD_TEXT + "# café\n").encode("latin-1"),
    "elf": b"\x7fELF\x02\x01\x01\x00" + os.urandom(64),
    "random": bytes(range(256)) * 8,
    "int-key": (PROD_TEXT + "  1: x\n").encode(),
    "null-key": (PROD_TEXT + "  ~: x\n").encode(),
    "complex-key": (PROD_TEXT + "  ? [a, b]\n  : 1\n").encode(),
    "deep": ("config:\n  aws:profile: " + "[" * 5000 + "]" * 5000 + "\n").encode(),
    "recursive": (PROD_TEXT + "  aws:profile: &r [*r]\n").encode(),
    "bomb-ignored-key": (
        PROD_TEXT + "  aws:profile:\n  " + bomb(9, 10).replace("\n", "\n  ") + "\n"
    ).encode(),
    "bomb-top": ("bombs:\n" + bomb(9, 10) + "\n" + PROD_TEXT).encode(),
    "binary-tag": (PROD_TEXT + "  aws:profile: !!binary aGVsbG8=\n").encode(),
    "set-tag": (PROD_TEXT + "  aws:profile: !!set {a, b}\n").encode(),
    "python-tag": (PROD_TEXT + "  aws:profile: !!python/object:os.system [ls]\n").encode(),
    "date": (PROD_TEXT + "  aws:profile: 2024-01-01\n").encode(),
    "huge-int": PROD_TEXT.replace(
        "budgetPerHourUsd: 800", "budgetPerHourUsd: " + "9" * 5000
    ).encode(),
    "mig-billion": PROD_TEXT.replace(
        "expectedConcurrency: 7000", "expectedConcurrency: 7000\n        mig: {1g.10gb: 1000000000}"
    ).encode(),
    "empty": b"",
    "not-a-mapping": b"- a\n- b\n",
}


class Hung(BaseException):
    """Raised into a command that has not ended by its deadline (a BaseException, so the
    command's own handler of unexpected errors cannot take it for a bug of its own)."""


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Interrupt the block if it runs past ``seconds``, as ``subprocess.run(timeout=...)``
    ends a process: a hang fails the test instead of stalling the suite."""

    def interrupt(_signal: int, _frame: object) -> None:
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def run_here(command: str, raw: bytes, tmp: Path) -> tuple[int, str]:
    """The command in this process (fast), under the same deadline: what a subprocess
    shows, without the memory cap (for inputs that cannot blow up once the reader has
    refused them)."""
    path = tmp / "Pulumi.hostile.yaml"
    path.write_bytes(raw)
    out, err = io.StringIO(), io.StringIO()
    saved = dict(runtime_config.CONFIG.get())
    try:
        with deadline(TIME_LIMIT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = main([command, "--config", str(path)])
    except SystemExit as exit_:
        status = int(exit_.code or 0)
    finally:
        runtime_config.set_all_config(saved)
    return status, out.getvalue() + err.getvalue()


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated())
@example(raw=HOSTILE_FILES["utf-16"])
def test_validate_never_crashes_on_mutated_stacks(raw: bytes, tmp_path: Path) -> None:
    assert_clean("validate", raw, tmp_path)


@settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated())
def test_many_more_mutations_validate_in_process(raw: bytes, tmp_path: Path) -> None:
    """The same, many times over, in this process (no cap: the reader's bounds hold)."""
    status, output = run_here("validate", raw, tmp_path)
    assert status in (0, 1, 2), (status, output[-2000:])
    assert "Traceback" not in output


READ_AS_PULUMI_READS_THEM = ("binary-tag", "set-tag", "python-tag")
"""Files the Pulumi CLI reads too: another namespace's tagged values are its to judge."""
EXPLOSIVE = ("deep", "recursive", "bomb-ignored-key", "bomb-top", "mig-billion", "huge-int")


def test_every_hostile_file_differs_from_prod() -> None:
    """A replacement whose text prod no longer has would test prod itself."""
    for name, raw in HOSTILE_FILES.items():
        assert raw != PROD_TEXT.encode(), name


def test_validate_and_plan_refuse_every_hostile_file_cleanly(tmp_path: Path) -> None:
    for name, raw in HOSTILE_FILES.items():
        for command in ("validate", "plan"):
            runner = run if name in EXPLOSIVE else run_here
            status, output = runner(command, raw, tmp_path)
            assert status in (0, 1, 2), (name, command, status, output[-2000:])
            assert "Traceback" not in output, (name, command, output[-2000:])
            if name in READ_AS_PULUMI_READS_THEM:
                assert status in (0, 1), (name, command, output[-500:])
            elif name not in ("utf-16", "date", "empty"):
                assert status == 2, (name, command, output[-500:])


@settings(
    max_examples=5,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(raw=mutated())
def test_plan_never_crashes_on_mutated_stacks(raw: bytes, tmp_path: Path) -> None:
    assert_clean("plan", raw, tmp_path)
