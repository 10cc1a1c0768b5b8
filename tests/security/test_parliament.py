"""parliament (an offline IAM linter) over every IAM identity policy the program declares,
for every shipped stack: no finding of medium severity or above. Low ones are listed in
docs/security.md, e.g. the cluster autoscaler's Resource "*" under its tag condition."""

from __future__ import annotations

import json
from typing import Any

import pytest
from parliament import analyze_policy_string, enhance_finding

from infra.offline.mocks import Registration, run_program
from tests.helpers import STACKS, stack_values

SERIOUS = {"MEDIUM", "HIGH", "CRITICAL"}


def identity_policies(registrations: list[Registration]) -> dict[str, str]:
    """Each identity policy document (role policies, managed policies, a role's inline
    ones) by where it is declared; trust policies are resource policies, not these."""
    found = {}
    for r in registrations:
        if r.type in ("aws:iam/rolePolicy:RolePolicy", "aws:iam/policy:Policy"):
            found[r.urn] = _text(r.inputs["policy"])
        if r.type == "aws:iam/role:Role":
            for inline in r.inputs.get("inlinePolicies") or []:
                found[f"{r.urn}#{inline.get('name')}"] = _text(inline["policy"])
    return found


def _text(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def serious(document: str) -> list[tuple[str, str, Any]]:
    findings = [enhance_finding(f) for f in analyze_policy_string(document).findings]
    return [(f.issue, f.severity, f.detail) for f in findings if f.severity in SERIOUS]


@pytest.mark.parametrize("stack", STACKS)
def test_no_identity_policy_has_a_medium_or_worse_finding(stack: str) -> None:
    registrations, _ = run_program(stack_values(stack), stack=stack)
    policies = identity_policies(registrations)
    assert len(policies) >= 4  # the add-ons' controllers, and per tier its worker and KEDA
    found = {where: serious(doc) for where, doc in policies.items()}
    assert {where: issues for where, issues in found.items() if issues} == {}


def test_the_gate_catches_a_mismatched_resource() -> None:
    """The gate can fail: an action on a resource it cannot apply to (reading objects of
    a bucket's ARN) is medium."""
    statement = {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": "arn:aws:s3:::bucket"}
    mismatched = {"Version": "2012-10-17", "Statement": [statement]}
    assert [issue for issue, _, _ in serious(json.dumps(mismatched))] == ["RESOURCE_MISMATCH"]
