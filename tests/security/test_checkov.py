"""checkov 3.3 (the scanner platform teams run on Kubernetes manifests) over every shipped
stack's rendered objects: no failed check, and every skip carries its reason (written as
a checkov annotation on the object; docs/security.md). checkov runs from the virtualenv
`python3 tasks.py test` makes for it (AGENTFLEET_CHECKOV)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.offline.manifests import is_kubernetes_object, manifest
from infra.offline.mocks import run_program
from tests.helpers import STACKS, stack_or_karpenter, stack_values, tool_from_env

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def checkov() -> Path:
    return tool_from_env("AGENTFLEET_CHECKOV", "checkov's virtualenv")


def scan(checkov: Path, values: dict[str, Any], stack: str, directory: Path) -> dict[str, Any]:
    """checkov's JSON report on the stack's Kubernetes objects, one file per object, as
    `agentfleet plan --render` writes them."""
    registrations, _ = run_program(values, stack=stack)
    for index, registration in enumerate(r for r in registrations if is_kubernetes_object(r)):
        body = manifest(registration, redact=True)
        (directory / f"{index:03d}.yaml").write_text(yaml.safe_dump(body), encoding="utf-8")
    result = subprocess.run(
        [str(checkov), "-d", str(directory), "--framework", "kubernetes", "--compact",
         "-o", "json", "--skip-download"],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr[-2000:]
    report = json.loads(result.stdout)
    found: dict[str, Any] = report[0] if isinstance(report, list) else report
    return found


@pytest.mark.parametrize("stack", [*STACKS, "prod-karpenter"])
def test_no_check_fails_and_every_skip_says_why(checkov: Path, stack: str, tmp_path: Path) -> None:
    report = scan(checkov, stack_or_karpenter(stack), stack, tmp_path)
    summary = report["summary"]
    failed = [(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]]
    assert (summary["failed"], failed) == (0, [])
    assert summary["passed"] > 50
    skipped = report["results"].get("skipped_checks", [])
    reasons = [c["check_result"].get("suppress_comment") for c in skipped]
    assert all(reason not in (None, "", "No comment provided") for reason in reasons)
    # The shipped stacks give images by tag: CKV_K8S_43 is skipped on each vLLM Deployment;
    # vLLM takes its API key from the environment only: CKV_K8S_35.
    assert {c["check_id"] for c in skipped} <= {"CKV_K8S_43", "CKV_K8S_35"}


def test_images_by_digest_pass_the_digest_check(checkov: Path, tmp_path: Path) -> None:
    """With both images by digest, CKV_K8S_43 passes and the pull policy check is the one
    skipped (IfNotPresent runs exactly the digest)."""
    values = stack_values("prod")
    digest = "@sha256:" + "0" * 64
    fleet = values["agentfleet:fleet"]
    fleet["vllmImage"] = "vllm/vllm-openai" + digest
    fleet["worker"]["image"] = fleet["worker"]["image"].rsplit(":", 1)[0] + digest
    report = scan(checkov, values, "prod", tmp_path)
    assert report["summary"]["failed"] == 0
    passed = {c["check_id"] for c in report["results"]["passed_checks"]}
    skipped = {c["check_id"] for c in report["results"].get("skipped_checks", [])}
    assert "CKV_K8S_43" in passed
    assert skipped == {"CKV_K8S_15", "CKV_K8S_35"}
