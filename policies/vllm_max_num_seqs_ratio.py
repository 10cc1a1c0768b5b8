"""C2: --max-num-seqs is 1.5-2x the sessions one vLLM replica is expected to hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from policies.support import (
    DEPLOYMENT,
    PREFIX,
    Report,
    argument,
    containers,
    is_vllm,
    items,
    number,
    pod_meta,
    resource_policy,
    show,
)

SESSIONS = f"{PREFIX}sessions-per-replica"


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type != DEPLOYMENT:
        args.not_applicable("not a Deployment")
    servers = [c for c in containers(args.props) if is_vllm(c)]
    if not servers:
        args.not_applicable("runs no vLLM server")
    low, high = float(config["minRatio"]), float(config["maxRatio"])
    sessions = number(pod_meta(args.props, "annotations").get(SESSIONS))
    for container in servers:
        argv = [*items(container.get("command")), *items(container.get("args"))]
        seqs = number(argument(argv, "--max-num-seqs"))
        if seqs is None:
            report(
                f"container {container.get('name')} does not set --max-num-seqs (vLLM's "
                f"default ignores the tier's load); want {show(low)}-{show(high)}x the "
                "sessions per replica. Set maxNumSeqs."
            )
            continue
        if sessions is None or sessions <= 0:
            report(
                f"--max-num-seqs {show(seqs)} cannot be checked: the Deployment does not say "
                f"how many sessions a replica serves. Add the annotation {SESSIONS}."
            )
            continue
        ratio = seqs / sessions
        if not low <= ratio <= high:
            report(
                f"--max-num-seqs {show(seqs)} is {ratio:.2f}x the {show(sessions)} sessions "
                f"per replica; want {show(low)}-{show(high)}x ({show(low * sessions)}-"
                f"{show(high * sessions)}). Set maxNumSeqs inside that band."
            )


POLICY = resource_policy("vllm-max-num-seqs-ratio", check)
