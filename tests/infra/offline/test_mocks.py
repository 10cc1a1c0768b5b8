"""The offline engine: the program it runs from a plan declares what the Pulumi CLI's
program (infra/__main__.py, reading pulumi.Config) declares; and its ARNs are the ones AWS
would give: the partition of the region, no region for global services (IAM, Budgets,
CloudWatch dashboards), the account, and each service's own resource form; so policies
judge ARNs a real deploy would produce."""

from __future__ import annotations

import re
from typing import Any

import pulumi
import pytest

from infra.config import parse_stack_config
from infra.offline.mocks import OfflineMocks, Registration, partition, run_program
from infra.plan import plan_fleet
from tests.helpers import STACKS, stack_values

ARN = re.compile(r"arn:(aws|aws-cn|aws-us-gov):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)")
GLOBAL = {"iam", "budgets", "s3"}
"""Services whose ARNs carry no region; AWS-managed ones (account ``aws``) carry none
either, e.g. EKS access policies."""
FORMS = {
    "iam": r"(role|policy)/[\w+=,.@/*-]+|root",
    "s3": r"[a-z0-9][a-z0-9.-]+[a-z0-9](/\S*)?",
    "sqs": r"[\w*-]+",
    "sns": r"[\w-]+(:[0-9a-f-]{36})?",
    "kms": r"key/([0-9a-f-]{36}|\*)",
    "eks": r"(cluster|nodegroup|podidentityassociation|addon|access-entry"
    r"|cluster-access-policy)/.+",
    "elasticloadbalancing": r"(loadbalancer|targetgroup|listener)/.+",
    "ec2": r"[a-z-]+/.+",
    "budgets": r"budget/.+",
    "cloudwatch": r"(alarm:|dashboard/).+",
    "acm": r"certificate/[0-9a-f-]{36}",
}


def arns(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [a for v in value.values() for a in arns(v)]
    if isinstance(value, list):
        return [a for v in value for a in arns(v)]
    if isinstance(value, str):
        return re.findall(r"arn:aws[\w-]*:[^\s\"',]+", value)
    return []


@pytest.mark.parametrize("stack", STACKS)
def test_every_arn_the_program_sees_has_aws_shape(stack: str) -> None:
    values = stack_values(stack)
    registrations, _ = run_program(values, stack=stack)
    found = sorted({a for r in registrations for a in arns(r.inputs)})
    assert found, "the program reads ARNs of what it makes"
    for arn in found:
        match = ARN.fullmatch(arn)
        assert match is not None, arn
        part, service, region, account, resource = match.groups()
        assert part == "aws", arn
        assert service in FORMS, arn
        if service in GLOBAL or resource.startswith("dashboard/") or account == "aws":
            assert region == "", f"{arn}: {service} ARNs carry no region"
        elif service != "iam":
            assert region == values["aws:region"], arn
        assert re.fullmatch(FORMS[service], resource), arn


@pytest.mark.parametrize(
    ("region", "expected"),
    [("us-east-1", "aws"), ("eu-west-1", "aws"), ("cn-north-1", "aws-cn"),
     ("us-gov-west-1", "aws-us-gov")],
)  # fmt: skip
def test_the_partition_follows_the_region(region: str, expected: str) -> None:
    assert partition(region) == expected
    args = pulumi.runtime.MockResourceArgs(
        typ="aws:iam/role:Role", name="r", inputs={"name": "r"}, provider="", resource_id=""
    )
    _, state = OfflineMocks(region=region).new_resource(args)
    assert state["arn"] == f"arn:{expected}:iam::123456789012:role/r"


def declared(registrations: list[Registration]) -> list[tuple[str, str, str, str]]:
    return sorted(
        (r.type, r.urn, r.parent or "", repr(sorted(r.inputs.items()))) for r in registrations
    )


def variants() -> list[tuple[str, dict[str, Any]]]:
    """Every shipped stack, prod with a Hugging Face token (a secret, as a stack file
    stores one), and prod with the token's key set to null (a key not set)."""
    found = [(stack, stack_values(stack)) for stack in STACKS]
    with_token, with_null = stack_values("prod"), stack_values("prod")
    with_token["agentfleet:hfToken"] = {"secure": "v1:AAABBBCCC"}
    with_null["agentfleet:hfToken"] = None
    return [*found, ("prod", with_token), ("prod", with_null)]


@pytest.mark.parametrize(
    ("stack", "values"), variants(), ids=[*STACKS, "prod-token", "prod-null-token"]
)
def test_the_plans_program_declares_what_the_clis_program_declares(
    stack: str, values: dict[str, Any]
) -> None:
    """`plan` and `simulate` declare from the plan they made; the Pulumi CLI runs
    infra/__main__.py, which reads the stack through pulumi.Config and plans it itself."""
    plan = plan_fleet(parse_stack_config(values))
    from_plan, outputs_from_plan = run_program(values, stack=stack, plan=plan)
    from_cli, outputs_from_cli = run_program(values, stack=stack)
    assert declared(from_plan) == declared(from_cli)
    assert outputs_from_plan == outputs_from_cli
    tokens = [r for r in from_plan if r.type == "kubernetes:core/v1:Secret"
              and r.name.endswith("-hf-token")]  # fmt: skip
    assert bool(tokens) == (values.get("agentfleet:hfToken") is not None)
