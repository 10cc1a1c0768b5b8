"""Security: workloads meet Pod Security "restricted", with a read-only root filesystem."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import containers, dig, items, mapping, pod_spec

WORKLOADS = {
    "kubernetes:apps/v1:Deployment",
    "kubernetes:apps/v1:StatefulSet",
    "kubernetes:apps/v1:DaemonSet",
    "kubernetes:batch/v1:Job",
}
SECCOMP = {"RuntimeDefault", "Localhost"}


META = PolicyMeta(
    name="pod-security-restricted",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=("agentfleet:fleet.tiers.<tier>",),
    description="Workloads meet Pod Security 'restricted' with a read-only root filesystem.",
    remediation="Run as non-root, forbid privilege escalation, drop ALL capabilities, use the "
    "RuntimeDefault seccomp profile, mount the root filesystem read-only (writable "
    "emptyDirs where needed), and no host namespaces or hostPath volumes.",
    settings={
        "requireReadOnlyRoot": Setting(
            "boolean", True, "Also require readOnlyRootFilesystem: true."
        )
    },
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type not in WORKLOADS:
        args.not_applicable("not a workload")
    pod = pod_spec(args.props)
    pod_context = mapping(pod.get("securityContext"))
    for host in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(host) is True:
            report(f"{host} is true; want false. Remove it.")
    for volume in (mapping(v) for v in items(pod.get("volumes"))):
        if volume.get("hostPath") is not None:
            report(f"volume {volume.get('name')} is a hostPath; want none. Use an emptyDir.")
    for container in containers(args.props):
        name = container.get("name")
        context = mapping(container.get("securityContext"))

        def setting(key: str, context: Mapping[str, Any] = context) -> Any:
            return context.get(key, pod_context.get(key))

        if setting("runAsNonRoot") is not True:
            report(f"container {name} may run as root; want runAsNonRoot: true. Set it.")
        if context.get("privileged") is True:
            report(f"container {name} is privileged; want not. Remove privileged: true.")
        if context.get("allowPrivilegeEscalation") is not False:
            report(
                f"container {name} allows privilege escalation; want "
                "allowPrivilegeEscalation: false. Set it."
            )
        drops = [str(c) for c in items(dig(context, "capabilities", "drop"))]
        if "ALL" not in drops:
            report(f"container {name} keeps Linux capabilities; want capabilities.drop: [ALL].")
        seccomp = dig(context, "seccompProfile", "type") or dig(
            pod_context, "seccompProfile", "type"
        )
        if seccomp not in SECCOMP:
            report(
                f"container {name} has seccomp profile {seccomp or 'unset'}; want "
                "RuntimeDefault. Set seccompProfile.type."
            )
        if config["requireReadOnlyRoot"] and context.get("readOnlyRootFilesystem") is not True:
            report(
                f"container {name} can write its root filesystem; want "
                "readOnlyRootFilesystem: true, with emptyDirs where it must write."
            )


POLICY = policy(META, check)
