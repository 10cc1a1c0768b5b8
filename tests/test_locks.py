"""The hashed lock files (tasks.py LOCKS): every package pinned to one release with the
hashes of its files, and each lock holding its sources' own ranges, so `pip install
--require-hashes` installs exactly what was reviewed, and a tampered or substituted file
is refused."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.helpers import REPO

PIN = re.compile(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?==([^\s;\\]+)")


def canonical(name: str) -> str:
    """A project's name as indexes compare it (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    """Each locked package's release; every pin must carry at least one sha256 hash."""
    text = path.read_text()
    entries = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    releases: dict[str, str] = {}
    for entry in entries:
        if entry.startswith("#"):
            continue
        found = PIN.match(entry)
        assert found is not None, f"{path.name}: not pinned: {entry.splitlines()[0]}"
        assert re.search(r"--hash=sha256:[0-9a-f]{64}", entry), f"{path.name}: no hash: {entry}"
        releases[canonical(found[1])] = found[3]
    return releases


def _sources(name: str) -> list[str]:
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    if name == "requirements-dev.lock":
        return [*pyproject["project"]["dependencies"],
                *pyproject["project"]["optional-dependencies"]["dev"]]  # fmt: skip
    if name == "requirements-worker.lock":
        lines = (REPO / "requirements-worker.txt").read_text().splitlines()
        return [line for line in lines if line.strip() and not line.startswith("#")]
    tasks = (REPO / "tasks.py").read_text()
    (uv,) = re.findall(r'^UV_REQUIREMENT = "([^"]+)"', tasks, flags=re.MULTILINE)
    return [uv]


@pytest.mark.parametrize(
    "name", ["requirements-uv.lock", "requirements-dev.lock", "requirements-worker.lock"]
)
def test_every_package_is_pinned_and_hashed_within_its_sources_range(name: str) -> None:
    releases = locked(REPO / name)
    for line in _sources(name):
        requirement = Requirement(line.split("#")[0].strip())
        key = canonical(requirement.name)
        assert key in releases, f"{name} lacks {requirement.name}"
        assert requirement.specifier.contains(releases[key], prereleases=True), (
            f"{name}: {requirement.name}=={releases[key]} is outside {requirement.specifier}"
        )


def test_the_setup_and_the_image_install_only_by_hash() -> None:
    tasks = (REPO / "tasks.py").read_text()
    assert '"--require-hashes", "-r", str(ROOT / "requirements-uv.lock")' in tasks
    assert '"-r", str(ROOT / "requirements-dev.lock")' in tasks
    assert "--require-hashes -r requirements-worker.lock" in (REPO / "Dockerfile").read_text()
