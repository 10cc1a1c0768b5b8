#!/usr/bin/env python3
"""Set up and run agentfleet's jobs with nothing but Python installed.

    python3 tasks.py plan   # the main job: the offline preview of the prod stack
    python3 tasks.py test   # the whole test suite: ruff, mypy, pytest (the docs site too)
    python3 tasks.py fast   # the quick loop: ruff, mypy, and the tests not marked integration
    python3 tasks.py docs   # regenerate every generated file (reference pages, package)
    python3 tasks.py lock   # resolve the hashed lock files again

Each creates ./.venv on first use (the virtualenv Pulumi.yaml names, so `pulumi preview`
uses the same one) and reinstalls the package there whenever pyproject.toml changes. The
test job also keeps vLLM (several GB, for checking the arguments we render with vLLM's own
parser), checkov (the Kubernetes scanner the security tests run) and mkdocs-material (the
docs site's builder) in virtualenvs of their own, and promtool and amtool (Prometheus's
rule tester and Alertmanager's config checker, from Debian's packages), cached outside the
checkout. Installs go
through uv, bootstrapped with pip: a cold install of vLLM takes under a minute with it,
five with pip.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PYTHON = BIN / "python"
STAMP = VENV / ".agentfleet-installed"
UV = BIN / "uv"
UV_REQUIREMENT = "uv>=0.13,<0.14"
LOCKS = {
    # lock file: what uv resolves into it (`python3 tasks.py lock` writes them again)
    "requirements-uv.lock": ["-"],  # UV_REQUIREMENT, from stdin
    "requirements-dev.lock": ["pyproject.toml", "--extra", "dev"],
    "requirements-worker.lock": ["requirements-worker.txt"],
}
"""Every package a job installs, pinned with the hashes of its files, so an install takes
exactly what was reviewed: uv itself, .venv's dependencies and dev tools, and the worker
image's dependencies. Each resolves for every platform and Python 3.11 or newer."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "agentfleet"

MAIN_JOB = ["agentfleet", "plan", "--stack", "prod"]
PACKAGES = ("facts", "components", "policies", "infra", "bridge")
INSTALL_RECIPE = "3"
"""Bumped when the way .venv is installed changes, so existing ones are installed again."""


def setup() -> None:
    """Create the virtualenv and install the package with its dev extra, once per change
    of pyproject.toml."""
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before any venv exists
        sys.exit(f"agentfleet needs Python 3.11 or newer; this is {sys.version.split()[0]}")
    recipe = (
        b"".join((ROOT / name).read_bytes() for name in ("pyproject.toml", *LOCKS))
        + INSTALL_RECIPE.encode()
    )
    wanted = hashlib.sha256(recipe).hexdigest()
    if STAMP.is_file() and STAMP.read_text() == wanted and PYTHON.exists():
        return
    if not PYTHON.exists():
        print(f"creating {VENV}", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(VENV)
    print("installing agentfleet and its dev tools into .venv", flush=True)
    run([str(PYTHON), "-m", "pip", "install", "--disable-pip-version-check", "-q",
         "--require-hashes", "-r", str(ROOT / "requirements-uv.lock")])  # fmt: skip
    run([str(UV), "pip", "install", "-q", "--python", str(PYTHON), "--require-hashes",
         "-r", str(ROOT / "requirements-dev.lock")])  # fmt: skip
    run([str(UV), "pip", "install", "-q", "--python", str(PYTHON), "--no-deps", "-e", str(ROOT)])
    compile_bytecode()
    STAMP.write_text(wanted)


def compile_bytecode() -> None:
    """Byte-compile what .venv holds and the package's own modules, once, at install.
    Where PYTHONDONTWRITEBYTECODE is set (many CI images and containers) Python never
    caches what it compiles, and every run would compile pulumi-aws from source again
    (about 4 s of every plan). A file that does not compile (some packages ship examples
    for other Pythons) is left to Python, as before."""
    print("byte-compiling .venv (once)", flush=True)
    purelib = subprocess.run(
        [str(PYTHON), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    packages = [str(ROOT / name) for name in PACKAGES]
    subprocess.run([str(PYTHON), "-m", "compileall", "-q", "-j", "0", purelib, *packages],
                   cwd=ROOT, stdout=subprocess.DEVNULL, check=False)  # fmt: skip


def vllm_python() -> Path:
    """The Python of a virtualenv holding exactly the vLLM release of pyproject.toml's
    `vllm` extra, created on first use under ~/.cache/agentfleet."""
    return tool_env("vllm", "several GB") / "bin" / "python"


def checkov_program() -> Path:
    """checkov, pinned by pyproject.toml's `checkov` extra, in a virtualenv of its own under
    ~/.cache/agentfleet (its boto3 pin conflicts with the dev tools'); made on first use."""
    return tool_env("checkov", "a few hundred MB") / "bin" / "checkov"


def mkdocs_program() -> Path:
    """mkdocs with the Material theme, pinned by pyproject.toml's `mkdocs-material` extra,
    in a virtualenv of its own under ~/.cache/agentfleet; made on first use."""
    return tool_env("mkdocs-material", "a few dozen MB") / "bin" / "mkdocs"


def promtool_program() -> Path:
    """Prometheus's promtool (the alert rules are tested with it), from Debian's prometheus
    package."""
    return debian_program("prometheus", "promtool", "about 20 MB")


def amtool_program() -> Path:
    """Alertmanager's amtool (the alert routing is checked and walked with it), from
    Debian's prometheus-alertmanager package."""
    return debian_program("prometheus-alertmanager", "amtool", "about 11 MB")


def debian_program(package: str, program: str, size: str) -> Path:
    """A program of a Debian package, downloaded and unpacked without root under
    ~/.cache/agentfleet, one folder per package version, on first use."""
    found = sorted(CACHE.glob(f"{package}-[0-9]*/usr/bin/{program}"))
    if found:
        return found[-1]
    download = CACHE / f"{package}-download"
    download.mkdir(parents=True, exist_ok=True)
    print(f"downloading Debian's {package} package for {program} (once; {size})", flush=True)
    subprocess.run(["apt-get", "download", "-q", package], cwd=download, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    deb = max(download.glob(f"{package}_*.deb"))
    version = deb.name.split("_")[1].replace("+", "-").replace(":", "-")
    home = CACHE / f"{package}-{version}"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(home)], check=True)
    deb.unlink()
    return home / "usr" / "bin" / program


def tool_env(package: str, size: str) -> Path:
    """A virtualenv under ~/.cache/agentfleet holding exactly the release of ``package``
    that pyproject.toml's extra of the same name pins (``<package> = ["<package>==X"]``),
    made on first use and kept across checkouts."""
    pyproject = (ROOT / "pyproject.toml").read_text()
    pattern = rf'^{package} = \["{package}==([^"]+)"\]'
    match = re.search(pattern, pyproject, flags=re.MULTILINE)
    if match is None:
        sys.exit(f"pyproject.toml has no `{package}` extra pinned to one release")
    version = match[1]
    home = CACHE / f"{package}-{version}"
    python = home / "bin" / "python"
    stamp = home / ".agentfleet-installed"
    if not (stamp.is_file() and python.exists()):
        print(f"installing {package} {version} into {home} (once; {size})", flush=True)
        run([str(UV), "venv", "-q", "--clear", "--python", sys.executable, str(home)])
        run([str(UV), "pip", "install", "-q", "--python", str(python), f"{package}=={version}"])
        stamp.write_text(version)
    return home


def run(command: list[str]) -> None:
    """Run a command from the project root with .venv's tools first on PATH; stop on failure."""
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "VIRTUAL_ENV": str(VENV),
    }
    env.pop("PYTHONHOME", None)
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if result.returncode != 0:
        sys.exit(result.returncode)


def plan() -> None:
    setup()
    run(MAIN_JOB)


def checks() -> None:
    """Lint, formatting and types: the start of both test jobs."""
    run(["ruff", "check", "."])
    run(["ruff", "format", "--check", "."])
    run(["mypy"])


def test() -> None:
    setup()
    os.environ["AGENTFLEET_VLLM_PYTHON"] = str(vllm_python())
    os.environ["AGENTFLEET_CHECKOV"] = str(checkov_program())
    os.environ["AGENTFLEET_MKDOCS"] = str(mkdocs_program())
    os.environ["AGENTFLEET_PROMTOOL"] = str(promtool_program())
    os.environ["AGENTFLEET_AMTOOL"] = str(amtool_program())
    checks()
    run(["pytest"])


def fast() -> None:
    """The quick loop while editing: no tool virtualenvs, no test that runs real processes
    or the whole program (those marked `integration`)."""
    setup()
    checks()
    run(["pytest", "-m", "not integration"])


def docs() -> None:
    """Regenerate what the repository generates: the component package and every reference
    page of the docs site (the tests fail while one is stale)."""
    setup()
    run([str(PYTHON), "-m", "tools"])


def lock() -> None:
    """Resolve the lock files again (after a change of a range in pyproject.toml or
    requirements-worker.txt, or to take newer releases), with every file's hash."""
    setup()
    for name, sources in LOCKS.items():
        subprocess.run(
            [str(UV), "pip", "compile", "-q", *sources, "--generate-hashes", "--universal",
             "--python-version", "3.11", "--no-header", "-o", str(ROOT / name)],
            cwd=ROOT, input=UV_REQUIREMENT if "-" in sources else None, text=True, check=True,
        )  # fmt: skip
        print(f"wrote {name}", flush=True)


JOBS = {"plan": plan, "test": test, "fast": fast, "docs": docs, "setup": setup, "lock": lock}


def main() -> None:
    if len(sys.argv) != 2 or sys.argv[1] not in JOBS:
        sys.exit(f"usage: python3 tasks.py {{{'|'.join(JOBS)}}}")
    JOBS[sys.argv[1]]()


if __name__ == "__main__":
    main()
