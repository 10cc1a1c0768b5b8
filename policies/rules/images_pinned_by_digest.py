"""Security: workloads run images pinned by digest. A tag can be moved to other content
after review; a digest cannot (checkov CKV_K8S_43 asks the same)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.resource_types import DAEMON_SET, DEPLOYMENT, STATEFUL_SET
from policies.building import PolicyMeta, Report, policy
from policies.properties import containers, name_of

WORKLOADS = (DEPLOYMENT, STATEFUL_SET, DAEMON_SET)
DIGEST = "@sha256:"

META = PolicyMeta(
    name="images-pinned-by-digest",
    item="security",
    severity="medium",
    enforcement="advisory",
    kind="resource",
    keys=(
        "agentfleet:fleet.vllmImage",
        "agentfleet:fleet.worker.image",
        "agentfleet:fleet",
    ),
    description="Workloads run images pinned by digest (image@sha256:...), not by a tag "
    "that can be moved to other content.",
    remediation="Give fleet.vllmImage and fleet.worker.image as <image>@sha256:<digest>; "
    "`crane digest <image>:<tag>` or `docker buildx imagetools inspect <image>:<tag>` "
    "prints the digest.",
)


def check(args: ResourceValidationArgs, report: Report, _: Mapping[str, Any]) -> None:
    if args.resource_type not in WORKLOADS:
        args.not_applicable("not a workload")
    tagged = [
        f"{container.get('name')} ({container.get('image')})"
        for container in containers(args.props)
        if DIGEST not in str(container.get("image") or "")
    ]
    if tagged:
        report(
            f"{name_of(args.props, args.name)} runs images by tag: {', '.join(tagged)}; a tag "
            "can be moved to other content after review; want image@sha256:<digest>. Pin "
            "them (fleet.vllmImage, fleet.worker.image; `crane digest` gives the digest)."
        )


POLICY = policy(META, check)
