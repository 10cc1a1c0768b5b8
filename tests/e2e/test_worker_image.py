"""The worker image: the Dockerfile agrees with the package and the pod, and what it
installs (the facts and bridge packages alone, plus requirements-worker.lock) runs a worker
end to end. There is no Docker engine here, so the image's install is reproduced in a
virtualenv of its own."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from components import queue_worker
from facts import worker
from tests.bridge.support import (
    AWS_ENV,
    REGION,
    FakeVllm,
    MotoServer,
    free_port,
    stop_process,
)
from tests.helpers import REPO

DOCKERFILE = (REPO / "Dockerfile").read_text()
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
IMAGE_PACKAGES = {"facts", "bridge"}


def requirement_lines(path: Path) -> list[str]:
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def test_worker_requirements_are_pyprojects_own_ranges() -> None:
    needed = requirement_lines(REPO / "requirements-worker.txt")
    dependencies = PYPROJECT["project"]["dependencies"]
    assert set(needed) <= set(dependencies)
    assert not [line for line in needed if line.startswith(("pulumi", "pyyaml"))]


def copied_folders() -> set[str]:
    return set(re.findall(r"^COPY (\w+) \./\1$", DOCKERFILE, flags=re.MULTILINE))


def test_the_dockerfile_copies_only_what_the_worker_runs() -> None:
    assert copied_folders() == IMAGE_PACKAGES
    assert "--require-hashes -r requirements-worker.lock" in DOCKERFILE
    assert "--no-deps ." in DOCKERFILE
    assert f"USER {worker.RUN_AS}:{worker.RUN_AS}" in DOCKERFILE
    assert f"EXPOSE {worker.PORT}" in DOCKERFILE
    # The pod runs the console script by name, whatever the image's entry point.
    assert 'ENTRYPOINT ["agentfleet-worker"]' in DOCKERFILE
    assert list(queue_worker.COMMAND) == ["agentfleet-worker"]
    assert PYPROJECT["project"]["scripts"]["agentfleet-worker"] == "bridge.cli:run_worker"
    ignored = (REPO / ".dockerignore").read_text().split()
    assert ".venv" in ignored
    assert ".git" in ignored


@pytest.fixture(scope="module")
def image_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding what the Dockerfile installs, made with uv as tasks.py does:
    requirements-worker.lock, every file checked against its hash, then the folders the
    Dockerfile copies, with --no-deps."""
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    if uv is None:
        pytest.skip("uv is installed by `python3 tasks.py setup`")
    venv = tmp_path_factory.mktemp("worker-image") / "venv"
    python = str(venv / "bin" / "python")

    def uv_run(*argv: str) -> None:
        subprocess.run([uv, *argv], check=True, capture_output=True, timeout=600)

    uv_run("venv", "--quiet", "--python", sys.executable, str(venv))
    uv_run(
        "pip", "install", "--quiet", "--python", python, "--require-hashes",
        "-r", str(REPO / "requirements-worker.lock"),
    )  # fmt: skip
    # A copy of what the Dockerfile copies, so no build output lands in REPO.
    source = venv.parent / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    for package in copied_folders():
        shutil.copytree(
            REPO / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    uv_run("pip", "install", "--quiet", "--python", python, "--no-deps", str(source))
    (venv / "bin" / "agentfleet").unlink()  # as the Dockerfile does: the image runs the worker
    return venv


def test_the_image_has_no_pulumi_nor_yaml_and_the_command_runs(image_venv: Path) -> None:
    python = image_venv / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import importlib.util as u; "
         "print([m for m in ('pulumi', 'yaml', 'infra', 'components', 'policies', 'facts', "
         "'bridge') if u.find_spec(m) is not None])"],
        capture_output=True,
        text=True,
        check=True,
        cwd=image_venv,  # not the repository: only what is installed
    )  # fmt: skip
    assert probe.stdout.strip() == "['facts', 'bridge']"
    help_ = subprocess.run(
        [str(image_venv / "bin" / "agentfleet-worker"), "--help"],
        capture_output=True,
        text=True,
        check=False,
        cwd=image_venv,
    )
    assert help_.returncode == 0, help_.stderr
    assert "--queue-url" in help_.stdout


@pytest.fixture
def served() -> Iterator[tuple[MotoServer, FakeVllm]]:
    moto = MotoServer()
    vllm = FakeVllm()
    yield moto, vllm
    vllm.stop()
    moto.stop()


def test_the_images_worker_answers_a_request(
    image_venv: Path, served: tuple[MotoServer, FakeVllm], tmp_path: Path
) -> None:
    moto, vllm = served
    sqs = boto3.client(
        "sqs",
        endpoint_url=moto.url,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    queue = sqs.create_queue(QueueName="image-smoke")["QueueUrl"]
    replies = sqs.create_queue(QueueName="image-smoke-replies")["QueueUrl"]
    port = free_port()
    log = (tmp_path / "worker.log").open("wb")
    process = subprocess.Popen(
        [str(image_venv / "bin" / "agentfleet-worker"), "--queue-url", queue,
         "--sqs-endpoint", moto.url, "--vllm-url", vllm.url, "--host", "127.0.0.1",
         "--port", str(port), "--wait-seconds", "1", "--health-interval", "0.2"],
        cwd=image_venv,
        env={**os.environ, **AWS_ENV},
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # Agents submit from their own environment (here, agentfleet's own virtualenv).
        submit = subprocess.run(
            [sys.executable, "-m", "infra.cli", "submit", "--queue-url", queue,
             "--reply-to", replies, "--endpoint-url", moto.url, "--region", REGION,
             "--request-id", "from-the-image", "--wait", "30",
             "--body", json.dumps({"model": "m", "messages": []})],
            cwd=REPO,
            env={**os.environ, **AWS_ENV},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )  # fmt: skip
        assert submit.returncode == 0, submit.stderr + (tmp_path / "worker.log").read_text()
        assert json.loads(submit.stdout)["requestId"] == "from-the-image"
        assert vllm.calls["from-the-image"] == 1
    finally:
        stop_process(process)
        log.close()
    assert process.returncode == 0  # SIGTERM: drained and exited cleanly
