"""Supply chain: a Helm release installs one exact chart version."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import HELM_RELEASE
from policies.building import PolicyMeta, Report, policy

EXACT = re.compile(r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$")


META = PolicyMeta(
    name="helm-chart-pinned",
    item="security",
    severity="medium",
    enforcement="advisory",
    kind="resource",
    keys=(
        "agentfleet:addons",
        "agentfleet:cluster",
    ),
    description="A Helm release installs one exact chart version, so every run installs the same.",
    remediation="Set the release's version to an exact chart version (agentfleet:addons.<addon>."
    "version), not a range or nothing.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type != HELM_RELEASE:
        args.not_applicable("not a Helm release")
    chart = args.props.get("chart") or args.name
    version = args.props.get("version")
    if not version:
        report(
            f"chart {chart} has no version: every run may install a newer one. Pin an exact "
            "chart version."
        )
    elif not EXACT.match(str(version)):
        report(
            f"chart {chart} version {version!r} is not one exact version (a range or a tag "
            "moves). Pin an exact chart version such as 1.2.3."
        )


POLICY = policy(META, check)
