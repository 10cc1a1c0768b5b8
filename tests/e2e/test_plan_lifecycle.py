"""The policy pack `agentfleet plan` starts never outlives it: killed by SIGTERM (a CI
timeout), SIGINT (Ctrl-C) or SIGKILL, the plan takes its pack server with it."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def listening(pid: int) -> bool:
    """The process holds a TCP socket in LISTEN state: the pack is serving."""
    try:
        inodes = {
            os.readlink(fd).removeprefix("socket:[").removesuffix("]")
            for fd in Path(f"/proc/{pid}/fd").iterdir()
            if os.readlink(fd).startswith("socket:")
        }
    except OSError:
        return False
    for table in ("tcp", "tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and fields[9] in inodes:
                    return True
    return False


def is_pack(pid: int) -> bool:
    try:
        return b"pulumi.policy" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


OWNER = """
import sys, time
from infra.offline.policy_client import PolicyPackServer
server = PolicyPackServer()
server.start()  # serving: its port read and connected to
print(server.process.pid, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])  # fmt: skip
def test_a_serving_pack_ends_with_its_owner(sig: signal.Signals) -> None:
    """The pack server, started and serving as `agentfleet plan` starts it, ends when the
    process that started it is killed, by any signal."""
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        pack = int(owner.stdout.readline())
        assert alive(pack)
        assert is_pack(pack)
        os.kill(owner.pid, sig)
        owner.wait(timeout=30)
        deadline = time.monotonic() + 10
        while alive(pack) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not alive(pack), f"the pack {pack} outlived its owner"
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL],
                         ids=["SIGTERM", "SIGINT", "SIGKILL"])  # fmt: skip
def test_the_pack_ends_with_the_plan(sig: signal.Signals) -> None:
    plan = subprocess.Popen(
        [sys.executable, "-m", "infra.cli", "plan", "--stack", "prod"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    try:
        deadline = time.monotonic() + 60
        packs: list[int] = []
        # Until the pack serves (killed sooner, it would die on its first write anyway).
        while not packs and time.monotonic() < deadline and plan.poll() is None:
            packs = [pid for pid in children(plan.pid) if is_pack(pid) and listening(pid)]
            time.sleep(0.02)
        assert packs, "the plan ended before its pack server was seen serving"
        os.kill(plan.pid, sig)
        plan.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in packs) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(alive(pid) for pid in packs), f"pack {packs} outlived the plan"
    finally:
        if plan.poll() is None:
            plan.kill()
            plan.wait()
