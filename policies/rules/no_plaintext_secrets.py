"""Security: no secret is written as a plain value in a workload's environment or a
ConfigMap. Messages name where the secret is, never the secret."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.building import PolicyMeta, Report, policy
from policies.properties import containers, items, mapping

SECRET_NAME = re.compile(
    r"(TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|CREDENTIAL|PRIVATE_?KEY)", re.IGNORECASE
)
SECRET_VALUE = re.compile(
    r"(?<![A-Za-z0-9])(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}"
    r"|ghp_[A-Za-z0-9]{30,}|xox[bp]-[A-Za-z0-9-]{20,}|-----BEGIN [A-Z ]*PRIVATE KEY-----)"
)
POINTERS = frozenset(
    {
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    }
)
"""The AWS SDKs' variables that say where credentials are (an address, a file), not what
they are: a plain value is their point, unless it is a credential itself."""
WORKLOADS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
}


META = PolicyMeta(
    name="no-plaintext-secrets",
    item="security",
    severity="critical",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:hfToken",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="No secret (token, password, key) is written as a plain value in a workload's "
    "environment or a ConfigMap.",
    remediation="Move the value into a Kubernetes Secret fed by a Pulumi secret and reference it "
    "with valueFrom.secretKeyRef.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type in WORKLOADS:
        for container in containers(args.props):
            for variable in (mapping(v) for v in items(container.get("env"))):
                value = variable.get("value")
                if not isinstance(value, str) or not value:
                    continue
                name = str(variable.get("name"))
                named = SECRET_NAME.search(name) and name not in POINTERS
                if named or SECRET_VALUE.match(value):
                    report(
                        f"container {container.get('name')} sets {name} to a plain value; "
                        "want a reference to a Secret. Use valueFrom.secretKeyRef."
                    )
    elif args.resource_type == "kubernetes:core/v1:ConfigMap":
        for key, value in mapping(args.props.get("data")).items():
            if isinstance(value, str) and SECRET_VALUE.search(value):
                report(
                    f"ConfigMap key {key} holds what looks like a credential; want it in a "
                    "Secret. Move it."
                )
    else:
        args.not_applicable("not a workload or ConfigMap")


POLICY = policy(META, check)
