"""M1: each inference tier has a p95 time-to-first-token alert, below the SLA."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.checklist import TTFT_P95_ALERT_SECONDS
from policies.building import PolicyMeta, Report, Setting, policy
from policies.pools import alert_rules, pools, rules_by_pool, threshold
from policies.properties import show
from policies.scraping import Monitors, report_unscraped

METRIC = "vllm:time_to_first_token_seconds_bucket"


META = PolicyMeta(
    name="ttft-p95-alert",
    item="M1",
    severity="high",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.tiers.<tier>.slaTtftSeconds",
        "agentfleet:fleet.monitoring",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Each inference tier has a p95 time-to-first-token alert, set below the SLA.",
    remediation=f"Add a PrometheusRule alert on histogram_quantile(0.95, {METRIC}) for the tier "
    "(components.FleetMonitoring), with a threshold below the SLA.",
    settings={
        "maxThresholdSeconds": Setting(
            "number", TTFT_P95_ALERT_SECONDS, "Highest threshold allowed: set it below the SLA."
        )
    },
)


def check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    found = pools(args.resources)
    if not found:
        args.not_applicable("the stack has no inference pool")
    highest = float(config["maxThresholdSeconds"])
    rules = [r for r in alert_rules(args.resources) if METRIC in str(r.get("expr") or "")
             and "0.95" in str(r.get("expr"))]  # fmt: skip
    about = rules_by_pool(rules, found)
    monitors = Monitors(args.resources)
    for pool in found.values():
        mine = about[pool.tier]
        if not mine:
            report(
                f"tier {pool.tier} has no p95 time-to-first-token alert; want one on "
                f"histogram_quantile(0.95, {METRIC}) below the SLA. Add it "
                "(components.FleetMonitoring).",
                pool.deployments[0].urn,
            )
            continue
        report_unscraped(pool, monitors, METRIC, report)
        for rule in mine:
            value = threshold(str(rule.get("expr")))
            if value is not None and value > highest:
                report(
                    f"tier {pool.tier} alerts on p95 time to first token above {show(value)} s; "
                    f"want at most {show(highest)} s, below the SLA. Lower "
                    "monitoring.ttftP95AlertSeconds.",
                    pool.deployments[0].urn,
                )


POLICY = policy(META, check)
