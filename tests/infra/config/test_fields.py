"""Values AWS, Kubernetes or KEDA would refuse at `pulumi up` are refused at validation, at
their key, in one line; values that crashed the planner (huge numbers, huge MIG counts)
are refused the same way; and what they accept is accepted."""

from __future__ import annotations

from typing import Any

import pytest

from infra.config import ConfigError, parse_stack_config
from tests.helpers import stack_values
from tests.infra.config.support import LIGHT, TIER, setting

SCHEDULE = f"{TIER}.scaling.schedule"
FLEET = "agentfleet:fleet"


def problem(path: str, value: object) -> tuple[str, str]:
    values = setting(stack_values("prod"), path, value)
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, reason),) = raised.value.problems
    assert "\n" not in reason
    return where, reason


def window(start: str) -> list[dict[str, Any]]:
    return [{"start": start, "end": "0 18 * * 1-5", "predictedPeak": 600}]


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("61 25 32 13 8", "minute: 61 is outside 0-59"),
        ("0 25 * * *", "hour: 25 is outside 0-23"),
        ("0 8 32 * *", "day of month: 32 is outside 1-31"),
        ("0 8 * 13 *", "month: 13 is outside 1-12"),
        ("0 8 * * 8", "day of week: 8 is outside 0-6"),
        ("a b c d e", "minute: 'a' is not a number"),
        ("-1 -1 * * *", "minute: '' is not a number"),
        ("*/0 8 * * 1-5", "minute: the step of '*/0' must be a positive number"),
        ("0 8 * * 5-1", "day of week: the range '5-1' runs backwards"),
        ("0 8 * *", "'0 8 * *' is not a cron expression: five fields"),
        ("@daily", "'@daily' is not a cron expression: five fields"),
        ("0 " + "1," * 5000 + "1 * * *", "string should have at most 100 characters"),
    ],
)
def test_cron_fields_are_checked_as_kedas_cron_scaler_parses_them(
    expression: str, reason: str
) -> None:
    where, found = problem(SCHEDULE, window(expression))
    assert where == f"{SCHEDULE}[0].start"
    assert found.startswith(reason), found


@pytest.mark.parametrize(
    "expression",
    ["0 8 * * 1-5", "*/15 * * * *", "0 8 * * MON-FRI", "0 0 1 jan *", "0 9-17/2 * * *",
     "30 8 1,15 * ?", "0 0 * * 0", "0  8 * * *"],
)  # fmt: skip
def test_cron_expressions_keda_accepts_are_accepted(expression: str) -> None:
    parse_stack_config(setting(stack_values("prod"), SCHEDULE, window(expression)))


@pytest.mark.parametrize(
    ("path", "cidr", "reason"),
    [
        (f"{TIER}.loadBalancer.allowedCidrs", "999.999.999.999/99", "Octet 999 (> 255)"),
        (f"{TIER}.loadBalancer.allowedCidrs", "10.0.0.0/33", "'33' is not a valid netmask"),
        (f"{TIER}.loadBalancer.allowedCidrs", "010.0.0.0/8", "is not an IPv4 CIDR"),
        (f"{TIER}.loadBalancer.allowedCidrs", "300.0.0.0/8", "300.0.0.0/8: "),
        (f"{TIER}.loadBalancer.allowedCidrs", "10.0.0.1/8", "10.0.0.1/8: 10.0.0.1/8 has host"),
    ],
)
def test_cidrs_are_parsed(path: str, cidr: str, reason: str) -> None:
    where, found = problem(path, [cidr])
    assert where == f"{path}[0]"
    assert reason in found, found


def test_public_access_cidrs_are_parsed_too() -> None:
    values = stack_values("sandbox")
    values["agentfleet:cluster"]["publicAccessCidrs"] = ["203.0.113.0/33"]
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, reason),) = raised.value.problems
    assert where == "agentfleet:cluster.publicAccessCidrs[0]"
    assert reason == "203.0.113.0/33: '33' is not a valid netmask"


@pytest.mark.parametrize(
    "image",
    [
        "registry.example.com/agentfleet-worker:0.1.0\n",  # Python's $ matched before it
        "registry.example.com/agentfleet-wörker:0.1.0",
        "registry.example.com/AgentFleet-Worker:0.1.0",  # repository paths are lowercase
        "a:::b",
        "registry.example.com/agentfleet-worker",  # neither a tag nor a digest
        "registry.example.com/agentfleet-worker:latest",
        "registry.example.com/agentfleet-worker@sha256:abc",
    ],
)
def test_worker_images_are_oci_references(image: str) -> None:
    where, reason = problem(f"{FLEET}.worker.image", image)
    assert where == f"{FLEET}.worker.image"
    assert "is not a pinned image" in reason


@pytest.mark.parametrize(
    "image",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/agentfleet-worker:0.1.0",
        "localhost:5000/team/agentfleet_worker:v1.2.3-rc.1",
        "ghcr.io/acme/agentfleet-worker@sha256:" + "a" * 64,
        "agentfleet-worker:0.1.0",
    ],
)
def test_pinned_images_are_accepted(image: str) -> None:
    parse_stack_config(setting(stack_values("prod"), f"{FLEET}.worker.image", image))


@pytest.mark.parametrize("name", ["0mid", "123", "-mid", "mid-", "Mid"])
def test_tier_names_are_dns_1035_labels(name: str) -> None:
    values = stack_values("prod")
    tiers = values[FLEET]["tiers"]
    tiers[name] = tiers.pop("lightweight")
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, reason),) = raised.value.problems
    assert where == f"{FLEET}.tiers.{name}"
    assert reason.startswith("tier names are lowercase letters")


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (f"{TIER}.queue.kmsKeyId", "", "string should have at least 1 character"),
        (f"{TIER}.queue.kmsKeyId", "k" * 10_000, "string should have at most 2048 characters"),
        (f"{FLEET}.costCenter", "c" * 300, "string should have at most 256 characters"),
        (f"{FLEET}.costCenter", "ai\nplatform", "string should match pattern"),
        (f"{FLEET}.costCenter", "ai;platform", "string should match pattern"),
        ("aws:region", "us-east-1" * 1200, "string should have at most 25 characters"),
        (f"{FLEET}.budgetPerHourUsd", 1e-300, "must be at least 0.01 (a cent)"),
        (f"{TIER}.pricePerGpuHour", 1e-300, "must be at least 0.01 (a cent)"),
        (f"{FLEET}.budgetPerHourUsd", 1e26, "must be at most 1,000,000"),
        (f"{TIER}.spotPricePerGpuHour", "1e30", "must be at most 1,000,000"),
        (f"{TIER}.expectedConcurrency", 1e100, "input should be a valid integer"),
        (f"{TIER}.expectedConcurrency", 10**18, "input should be less than or equal to"),
        (f"{LIGHT}.mig", {"1g.10gb": 1_000_000_000}, "input should be less than or equal to 7"),
    ],
)
def test_values_aws_would_refuse_or_the_planner_choked_on(
    path: str, value: object, reason: str
) -> None:
    where, found = problem(path, value)
    assert where.startswith(path), where
    assert found.startswith(reason), found


def test_kubernetes_version_the_autoscaler_has_no_release_for() -> None:
    values = stack_values("sandbox")
    values["agentfleet:cluster"]["kubernetesVersion"] = "1.99"
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    ((where, _),) = raised.value.problems
    assert where == "agentfleet:cluster.kubernetesVersion"


def test_a_new_cluster_on_a_kubernetes_eks_does_not_have() -> None:
    values = stack_values("sandbox")
    values["agentfleet:cluster"]["kubernetesVersion"] = "1.99"
    values["agentfleet:addons"] = {"clusterAutoscaler": {"enabled": False}}
    with pytest.raises(ConfigError) as raised:
        parse_stack_config(values)
    assert raised.value.problems == (
        (
            "agentfleet:cluster.kubernetesVersion",
            "EKS has no Kubernetes 1.99 that agentfleet knows of; the newest is 1.35",
        ),
    )
