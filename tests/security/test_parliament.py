"""parliament (an offline IAM linter) over every IAM identity policy the program declares,
for every shipped stack: no finding of medium severity or above. Low ones are listed in
docs/security.md, e.g. the cluster autoscaler's Resource "*" under its tag condition."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from parliament import analyze_policy_string, enhance_finding, is_arn_strictly_valid

from infra.offline.mocks import Registration, run_program
from tests.helpers import STACKS, stack_or_karpenter

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


SPLIT_BY_RESOURCE = frozenset({"ec2:RunInstances", "ec2:CreateFleet"})
"""Actions that touch many kinds of resource in one call, which a policy may grant in
statements of their own, one per kind with the conditions that kind needs (Karpenter's
does): IAM judges each resource of the request against every statement."""
PUBLIC_PARAMETERS = re.compile(r"^arn:aws:ssm:[a-z0-9-]+::parameter/aws/service/\*$")
"""AWS's public SSM parameters (e.g. the EKS AMIs' ids Karpenter reads): AWS owns them, so
their ARNs name no account, which parliament's required format wants."""


def _allowed(document: dict[str, Any], action: str) -> list[str]:
    """Every resource some Allow statement of ``document`` grants ``action`` on."""
    found: list[str] = []
    for statement in document["Statement"]:
        actions = statement["Action"]
        if statement["Effect"] == "Allow" and action in (
            [actions] if isinstance(actions, str) else actions
        ):
            resources = statement["Resource"]
            found += [resources] if isinstance(resources, str) else resources
    return found


def explained(document: dict[str, Any], missing: dict[str, str]) -> bool:
    """Whether one of parliament's RESOURCE_MISMATCH details is not a fault: a resource
    type ``SPLIT_BY_RESOURCE`` action requires that another statement of the policy grants
    (by parliament's own ARN matching), or ssm:GetParameter on AWS's public parameters.
    Anything else, and above all an action that takes only Resource "*", stays a finding."""
    action, wanted = missing["action"], missing["required_format"]
    if wanted == "*":
        return False
    granted = _allowed(document, action)
    if action == "ssm:GetParameter":
        return all(PUBLIC_PARAMETERS.match(resource) for resource in granted)
    if action not in SPLIT_BY_RESOURCE:
        return False
    kind = wanted.rsplit(":", 1)[-1].split("/", 1)[0]
    return any(is_arn_strictly_valid(kind, wanted, resource) for resource in granted)


def met_elsewhere(document: dict[str, Any], detail: list[dict[str, str]]) -> bool:
    """parliament wants, of each statement, a resource of every type an action requires
    (RunInstances: instance, subnet, image...). For the actions a policy may split by
    resource type, the policy as a whole must cover them (``explained``)."""
    return all(explained(document, missing) for missing in detail)


def serious(document: str) -> list[tuple[str, str, Any]]:
    findings = [enhance_finding(f) for f in analyze_policy_string(document).findings]
    parsed = json.loads(document)
    return [
        (f.issue, f.severity, f.detail)
        for f in findings
        if f.severity in SERIOUS
        and not (f.issue == "RESOURCE_MISMATCH" and met_elsewhere(parsed, f.detail))
    ]


@pytest.mark.parametrize("stack", [*STACKS, "prod-karpenter"])
def test_no_identity_policy_has_a_medium_or_worse_finding(stack: str) -> None:
    registrations, _ = run_program(stack_or_karpenter(stack), stack=stack)
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


def test_a_type_granted_in_no_statement_is_still_a_mismatch() -> None:
    """Types split over statements pass; a type no statement grants does not: RunInstances
    with subnets and images only, never an instance or a network interface."""
    split: dict[str, Any] = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "ec2:RunInstances",
             "Resource": "arn:aws:ec2:us-east-1::image/*"},
            {"Effect": "Allow", "Action": "ec2:RunInstances",
             "Resource": "arn:aws:ec2:us-east-1:*:subnet/*"},
        ],
    }  # fmt: skip
    assert [issue for issue, _, _ in serious(json.dumps(split))] == ["RESOURCE_MISMATCH"] * 2
    split["Statement"].append(
        {
            "Effect": "Allow",
            "Action": "ec2:RunInstances",
            "Resource": [
                f"arn:aws:ec2:us-east-1:*:{kind}/*"
                for kind in ("instance", "network-interface", "security-group", "volume")
            ],
        }
    )
    assert serious(json.dumps(split)) == []


@pytest.mark.parametrize(
    "statement",
    [
        # an action that takes only Resource "*", on a resource: never excused
        {"Effect": "Allow", "Action": "ec2:DescribeInstances",
         "Resource": "arn:aws:ec2:us-east-1:123456789012:instance/*"},
        {"Effect": "Allow", "Action": "pricing:GetProducts", "Resource": "arn:aws:s3:::bucket"},
        # an action not split by resource type: its statement alone must be right
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::bucket"},
        # a parameter of the account's own, without an account in its ARN
        {"Effect": "Allow", "Action": "ssm:GetParameter",
         "Resource": "arn:aws:ssm:us-east-1::parameter/mine/*"},
    ],
)  # fmt: skip
def test_only_split_launches_and_public_parameters_are_excused(statement: dict[str, Any]) -> None:
    document = {"Version": "2012-10-17", "Statement": [statement]}
    assert [issue for issue, _, _ in serious(json.dumps(document))] == ["RESOURCE_MISMATCH"]
