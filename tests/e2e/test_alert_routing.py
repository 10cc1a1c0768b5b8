"""Where the fleet's alerts go once Alertmanager has them: the configuration
kube-prometheus-stack renders from the chart's defaults and the add-on's values, checked and
walked by Alertmanager's own amtool (``check-config``, ``config routes test``)."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.addons import ALERTMANAGER_SERVICE_ACCOUNT, CHARTS, POD_IDENTITY_ROLE
from components.alerting import ALERT_SUBJECT, FLEET_RECEIVER
from facts.resource_types import PROMETHEUS_RULE
from infra.offline.manifests import manifest
from infra.offline.mocks import Registration, run_program
from tests.helpers import REPO, STACKS, stack_values, tool_from_env
from tests.iampolicy import allows

pytestmark = pytest.mark.integration

RELEASE = "kubernetes:helm.sh/v3:Release"
TOPIC_POLICY = "aws:sns/topicPolicy:TopicPolicy"
CHART_DEFAULTS = REPO / "tests" / "data" / "kube-prometheus-stack-alertmanager-config.yaml"
"""The chart's own ``alertmanager.config`` (values.yaml of the pinned release)."""
CLUSTER_ALERTS = (
    {"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "agentfleet"},
    {"alertname": "KubeNodeNotReady", "severity": "warning"},
    {"alertname": "TargetDown", "severity": "warning", "namespace": "monitoring"},
    {"alertname": "KubeletDown", "severity": "critical"},
)
"""Some of the chart's own rules: the cluster's faults reach the fleet's topic too."""


def helm_merge(defaults: Any, values: Any) -> Any:
    """Helm's coalescing of user values over a chart's: maps merge key by key, anything
    else (lists included) is replaced whole."""
    if isinstance(defaults, dict) and isinstance(values, dict):
        merged = dict(defaults)
        for key, value in values.items():
            merged[key] = helm_merge(defaults.get(key), value) if key in defaults else value
        return merged
    return values


def prometheus_release(registrations: list[Registration]) -> Registration:
    return next(
        r
        for r in registrations
        if r.type == RELEASE and r.inputs.get("chart") == CHARTS["prometheus"].chart
    )


def rendered_config(registrations: list[Registration]) -> dict[str, Any]:
    """Alertmanager's configuration as the chart's secret would carry it."""
    defaults = yaml.safe_load(CHART_DEFAULTS.read_text())
    values = prometheus_release(registrations).inputs["values"]
    config: dict[str, Any] = helm_merge(defaults, values.get("alertmanager", {}).get("config", {}))
    return config


def fleet_alerts(registrations: list[Registration]) -> list[dict[str, str]]:
    """The labels of every alert of the fleet's PrometheusRules, as they fire."""
    alerts = []
    for registration in registrations:
        if registration.type != PROMETHEUS_RULE:
            continue
        body = manifest(registration)
        for group in body["spec"]["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts.append(
                        {
                            "alertname": rule["alert"],
                            "namespace": body["metadata"]["namespace"],
                            **rule.get("labels", {}),
                        }
                    )
    return alerts


def topic_arn(registrations: list[Registration]) -> str:
    """The ARN of the fleet's alert topic, as FleetMonitoring's topic policy names it."""
    arn: str = next(r for r in registrations if r.type == TOPIC_POLICY).inputs["arn"]
    return arn


def receivers_of(config_file: Path, labels: dict[str, str]) -> list[str]:
    """The receivers Alertmanager's routing tree sends an alert with ``labels`` to."""
    amtool = tool_from_env("AGENTFLEET_AMTOOL", "amtool")
    done = subprocess.run(
        [str(amtool), "config", "routes", "test", f"--config.file={config_file}",
         *(f"{key}={value}" for key, value in labels.items())],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().split(",")


@pytest.mark.parametrize("stack", STACKS)
def test_every_fleet_alert_reaches_the_fleet_topic_through_alertmanagers_routing_tree(
    tmp_path: Path, stack: str
) -> None:
    """kube-prometheus-stack sends every alert to its 'null' receiver unless the values
    route it: each alert the fleet's rules can fire, and the cluster's own, must walk
    Alertmanager's tree to the SNS receiver of the topic FleetMonitoring declares; the
    chart's always-firing Watchdog must not."""
    registrations, _ = run_program(stack_values(stack), stack=stack)
    config = rendered_config(registrations)
    config_file = tmp_path / "alertmanager.yaml"
    config_file.write_text(yaml.safe_dump(config))
    amtool = tool_from_env("AGENTFLEET_AMTOOL", "amtool")
    check = subprocess.run([str(amtool), "check-config", str(config_file)],
                           capture_output=True, text=True, check=False)  # fmt: skip
    assert check.returncode == 0, check.stdout + check.stderr

    alerts = fleet_alerts(registrations)
    names = {alert["alertname"] for alert in alerts}
    assert {"VllmTimeToFirstTokenP95High", "VllmKvCacheHigh", "FleetCostPerHourOverBudget"} <= (
        names
    )
    for labels in (*alerts, *CLUSTER_ALERTS):
        assert receivers_of(config_file, labels) == [FLEET_RECEIVER], labels
    assert receivers_of(config_file, {"alertname": "Watchdog", "severity": "none"}) == ["null"]

    receiver = next(r for r in config["receivers"] if r["name"] == FLEET_RECEIVER)
    assert [c["topic_arn"] for c in receiver["sns_configs"]] == [topic_arn(registrations)]


@pytest.mark.parametrize("stack", ["prod"])
def test_the_alert_topic_is_encrypted_with_a_key_its_publishers_may_use(stack: str) -> None:
    """SSE with the fleet's own key (AWS Budgets cannot publish under the AWS-managed SNS
    key): Budgets and CloudWatch may make data keys for this topic only."""
    registrations, _ = run_program(stack_values(stack), stack=stack)
    topic = next(r for r in registrations if r.type == "aws:sns/topic:Topic")
    key = next(r for r in registrations if r.type == "aws:kms/key:Key"
               and r.name.endswith("-alerts-key"))  # fmt: skip
    assert key.urn in topic.dependencies
    assert topic.inputs["kmsMasterKeyId"].startswith("arn:aws:kms:")
    assert key.inputs["enableKeyRotation"] is True
    statements = json.loads(key.inputs["policy"])["Statement"]
    for service in ("budgets.amazonaws.com", "cloudwatch.amazonaws.com"):
        granted = [s for s in statements if s["Principal"] == {"Service": service}]
        context = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn(registrations)}
        assert allows(granted, "kms:GenerateDataKey", "*", **context)
        other = {"kms:EncryptionContext:aws:sns:topicArn": topic_arn(registrations) + "x"}
        assert not allows(granted, "kms:GenerateDataKey", "*", **other)


@pytest.mark.parametrize("stack", ["prod"])
def test_alertmanager_signs_with_a_pod_identity_role_that_may_publish_only_to_the_topic(
    stack: str,
) -> None:
    """SNS takes the publish only signed by a principal allowed sns:Publish on the topic:
    Alertmanager's service account (as the chart names it) has a Pod Identity role whose
    only permission is that, and the release waits for the association (Pod Identity fills
    credentials in only when a pod is created)."""
    registrations, _ = run_program(stack_values(stack), stack=stack)
    values = prometheus_release(registrations).inputs["values"]
    assert values["alertmanager"]["serviceAccount"] == {
        "create": True,
        "name": ALERTMANAGER_SERVICE_ACCOUNT,
    }
    association = next(
        r
        for r in registrations
        if r.type == "aws:eks/podIdentityAssociation:PodIdentityAssociation"
        and r.inputs["serviceAccount"] == ALERTMANAGER_SERVICE_ACCOUNT
    )
    assert association.inputs["namespace"] == CHARTS["prometheus"].namespace
    role = next(
        r
        for r in registrations
        if r.type == "aws:iam/role:Role" and r.urn in association.dependencies
    )
    policies = [
        json.loads(r.inputs["policy"])
        for r in registrations
        if r.type == "aws:iam/rolePolicy:RolePolicy" and role.urn in r.dependencies
    ]
    topic = topic_arn(registrations)
    granted = [s for p in policies for s in p["Statement"]]
    assert granted[0] == {
        "Sid": "PublishAlerts",
        "Effect": "Allow",
        "Action": "sns:Publish",
        "Resource": topic,
    }
    # The topic is KMS-encrypted: data keys through SNS, for this topic alone.
    key = "arn:aws:kms:us-east-1:123456789012:key/0000"
    through_sns = {"kms:ViaService": "sns.us-east-1.amazonaws.com"}
    assert allows(granted, "kms:GenerateDataKey", key, **through_sns,
                  **{"kms:EncryptionContext:aws:sns:topicArn": topic})  # fmt: skip
    assert not allows(granted, "kms:GenerateDataKey", key, **through_sns,
                      **{"kms:EncryptionContext:aws:sns:topicArn": topic + "-other"})  # fmt: skip
    assert not allows(granted, "kms:Decrypt", key,
                      **{"kms:EncryptionContext:aws:sns:topicArn": topic})  # fmt: skip
    assert len(granted) == 2
    release = prometheus_release(registrations)
    assert association.urn in release.dependencies
    # and a running Alertmanager restarts to get the credentials (the role on its pods)
    pods = values["alertmanager"]["alertmanagerSpec"]["podMetadata"]["annotations"]
    assert pods[POD_IDENTITY_ROLE] == association.inputs["roleArn"]


SNS_SUBJECT_LIMIT = 100
"""SNS Publish refuses a Subject of 100 characters or more, or of more than one line (SNS
API reference, Publish: "Subject ... must be less than 100 characters")."""


def subject(labels: dict[str, str], status: str) -> str:
    """ALERT_SUBJECT as Alertmanager's template renders it for a group with ``labels``."""
    found = re.fullmatch(
        r"\[\{\{ \.Status \| toUpper \}\}\] \{\{ \.GroupLabels\.alertname \}\}"
        r"\{\{ if \.GroupLabels\.tier \}\} \(\{\{ \.GroupLabels\.tier \}\}\)\{\{ end \}\}",
        ALERT_SUBJECT,
    )
    assert found is not None, "the test renders only this template"
    tier = f" ({labels['tier']})" if labels.get("tier") else ""
    return f"[{status.upper()}] {labels['alertname']}{tier}"


@pytest.mark.parametrize("stack", STACKS)
def test_every_alerts_sns_subject_is_one_line_under_snss_limit(stack: str) -> None:
    """Alertmanager's default SNS subject lists every common label, often past SNS's limit,
    and SNS answers 400 (prometheus/alertmanager#2781): the fleet's subject is the alert and
    its tier, under the limit for every alert even with the longest tier name allowed."""
    registrations, _ = run_program(stack_values(stack), stack=stack)
    config = rendered_config(registrations)
    receiver = next(r for r in config["receivers"] if r["name"] == FLEET_RECEIVER)
    assert [c["subject"] for c in receiver["sns_configs"]] == [ALERT_SUBJECT]
    longest_tier = "t" * 40  # a tier's name is at most 40 characters (the stack config)
    for labels in (*fleet_alerts(registrations), *CLUSTER_ALERTS):
        for tier in (labels.get("tier"), longest_tier):
            text = subject({**labels, "tier": tier or ""}, "resolved")
            assert len(text) < SNS_SUBJECT_LIMIT, text
            assert "\n" not in text
