"""C2: --max-num-seqs is 1.5-2x the sessions one vLLM replica is expected to hold."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.checklist import MAX_NUM_SEQS_MAX_RATIO, MAX_NUM_SEQS_MIN_RATIO
from facts.labels import SESSIONS_PER_REPLICA as SESSIONS
from facts.resource_types import DEPLOYMENT
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import argument, containers, is_vllm, items, number, pod_meta, show

META = PolicyMeta(
    name="vllm-max-num-seqs-ratio",
    item="C2",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.maxNumSeqs",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description=f"vLLM's --max-num-seqs is {MAX_NUM_SEQS_MIN_RATIO:g}-{MAX_NUM_SEQS_MAX_RATIO:g}x "
    "the concurrent sessions one replica is expected to hold.",
    remediation="Set the tier's maxNumSeqs (the --max-num-seqs argument) inside the band, and say "
    "how many sessions a replica serves in the annotation "
    f"{SESSIONS}.",
    settings={
        "minRatio": Setting(
            "number", MAX_NUM_SEQS_MIN_RATIO, "Lowest --max-num-seqs / sessions allowed."
        ),
        "maxRatio": Setting(
            "number", MAX_NUM_SEQS_MAX_RATIO, "Highest --max-num-seqs / sessions allowed."
        ),
    },
)


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


POLICY = policy(META, check)
