"""Security: a production tier's load balancer listens on HTTPS only.

A plain HTTP listener carries every prompt, every answer and the tier's API key across
the VPC in clear, to anything that can see the traffic (a mirrored ENI, a compromised
node on the path). With a certificate the listener is HTTPS on 443 with TLS 1.2 or 1.3."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import ResourceValidationArgs

from facts.labels import ENVIRONMENT, TIER
from facts.resource_types import LISTENER
from policies.building import PolicyMeta, Report, Setting, policy
from policies.properties import items, tags

META = PolicyMeta(
    name="load-balancer-https",
    item="security",
    severity="high",
    enforcement="mandatory",
    kind="resource",
    keys=(
        "agentfleet:fleet.tiers.<tier>.loadBalancer.certificateArn",
        "agentfleet:fleet.tiers.<tier>.loadBalancer",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="A production tier's load balancer listens on HTTPS (a certificate, TLS 1.2+), "
    "not plain HTTP.",
    remediation="Give the tier an ACM certificate (loadBalancer.certificateArn): the listener "
    "becomes HTTPS on 443 with TLS 1.2 or 1.3.",
    settings={
        "environments": Setting(
            "array",
            ["prod"],
            "The environments (the agentfleet.io/environment tag of the listener) whose "
            "load balancers must speak HTTPS.",
        )
    },
)


def check(args: ResourceValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    if args.resource_type != LISTENER:
        args.not_applicable("not a load balancer listener")
    tagged = tags(args.props)
    environment = tagged.get(ENVIRONMENT)
    watched = set(items(config["environments"]))
    if environment not in watched:
        args.not_applicable(f"not in {', '.join(sorted(watched)) or 'no environment'}")
    protocol = args.props.get("protocol")
    if protocol != "HTTPS":
        report(
            f"tier {tagged.get(TIER, '?')} ({environment}) listens on plain {protocol or 'HTTP'}: "
            "prompts, answers and the API key cross the network in clear. Give it a "
            "certificate (loadBalancer.certificateArn): HTTPS on 443, TLS 1.2+."
        )


POLICY = policy(META, check)
