"""The pull-request workflow users copy (.github/workflows/agentfleet-plan.yml): valid
against GitHub's workflow schema (as check-jsonschema vendors it), every command it runs
exists with the arguments it passes, its actions are pinned by commit, its checkouts keep
no token, and the job with cloud credentials runs in a protected environment."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.cli import _parser
from tests.helpers import REPO

WORKFLOW = REPO / ".github" / "workflows" / "agentfleet-plan.yml"
CHECK = [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows"]


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load(WORKFLOW.read_text())
    return loaded


def steps() -> list[tuple[str, dict[str, Any]]]:
    return [(name, step) for name, job in workflow()["jobs"].items() for step in job["steps"]]


def test_the_workflow_is_valid_against_githubs_schema(tmp_path: Path) -> None:
    result = subprocess.run([*CHECK, str(WORKFLOW)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    broken = tmp_path / "broken.yml"  # the check can fail: a job without runs-on
    document = workflow()
    del document["jobs"]["offline-plan"]["runs-on"]
    broken.write_text(yaml.safe_dump(document))
    result = subprocess.run([*CHECK, str(broken)], capture_output=True, text=True, check=False)
    assert result.returncode == 1


def commands() -> list[list[str]]:
    """Each command of each `run:` step, matrix expressions replaced by a stack."""
    found = []
    for _, step in steps():
        script = step.get("run")
        if script is None:
            continue
        script = re.sub(r"\$\{\{\s*matrix\.stack\s*\}\}", "prod", script)
        for line in script.replace("\\\n", " ").replace("\n", " && ").split("&&"):
            for part in re.split(r"\|\||>>?", line)[:1]:
                if part.strip():
                    found.append(shlex.split(part))
    return found


def test_every_agentfleet_command_parses_with_our_own_parser() -> None:
    runs = [argv for argv in commands() if argv[0].endswith("agentfleet")]
    assert runs, "the workflow runs the offline plan"
    for argv in runs:
        args = _parser().parse_args(argv[1:])
        assert args.command == "plan"
        assert None not in (args.sarif, args.baseline, args.summary)
        assert (REPO / "stacks" / f"Pulumi.{args.stack}.yaml").is_file()


def test_every_other_command_exists() -> None:
    tasks = (REPO / "tasks.py").read_text()
    for argv in commands():
        program = argv[0]
        if program == "python3":
            assert argv[1] == "tasks.py"
            assert (REPO / argv[1]).is_file()
            assert f'"{argv[2]}"' in tasks, f"tasks.py has no {argv[2]} command"
        elif program == "pulumi":
            assert argv[1] == "preview"
            pack = argv[argv.index("--policy-pack") + 1]
            assert (REPO / pack / "PulumiPolicy.yaml").is_file()
            assert (REPO / "Pulumi.yaml").is_file()
            assert (REPO / "stacks" / f"Pulumi.{argv[argv.index('--stack') + 1]}.yaml").is_file()
        else:
            assert program.endswith("agentfleet") or program in {"git", "cp", "cat"}, argv


def test_the_stacks_it_checks_are_shipped() -> None:
    for job in workflow()["jobs"].values():
        for stack in job["strategy"]["matrix"]["stack"]:
            assert (REPO / "stacks" / f"Pulumi.{stack}.yaml").is_file()


@pytest.mark.parametrize("uses", sorted({s["uses"] for _, s in steps() if "uses" in s}))
def test_actions_are_pinned_by_commit(uses: str) -> None:
    """A tag can be moved to other code after review; a commit cannot."""
    assert re.fullmatch(r"[\w-]+/[\w/-]+@[0-9a-f]{40}", uses), uses
    text = WORKFLOW.read_text()
    line = next(x for x in text.splitlines() if uses in x)
    assert re.search(r"# v\d+\.\d+\.\d+$", line), f"{uses}: say which release it is"


def test_checkouts_keep_no_token_and_credentials_wait_for_a_reviewer() -> None:
    """actions/checkout leaves the job's token in .git/config unless told not to, where the
    branch's code reads it; a job that may get cloud credentials (id-token: write) runs the
    branch's code, so it runs only in a protected environment."""
    for name, step in steps():
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, name
    for name, job in workflow()["jobs"].items():
        if job.get("permissions", {}).get("id-token") == "write":
            assert job.get("environment") == "agentfleet-preview", name
