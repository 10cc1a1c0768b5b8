"""M1: each inference tier has a p95 time-to-first-token alert, below the SLA."""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.checklist import TTFT_ALERT_SHARE
from facts.labels import SERVING
from facts.serving import Promise
from policies.building import PolicyMeta, Report, Setting, policy
from policies.pools import Pool, alert_rules, pools, rules_by_pool, threshold
from policies.properties import pod_meta, show
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
    description="Each inference tier has a p95 time-to-first-token alert, set below the "
    "tier's own TTFT target.",
    remediation=f"Add a PrometheusRule alert on histogram_quantile(0.95, {METRIC}) for the tier "
    "(components.FleetMonitoring), with a threshold below the SLA.",
    settings={
        "maxShareOfTarget": Setting(
            "number",
            1.0,
            "Highest threshold allowed, as a share of the tier's own TTFT target (the serving "
            "promise its pods carry); below 1, the alert comes before the breach.",
        )
    },
)


def _targets(pool: Pool) -> list[float]:
    """The TTFT targets the tier's pods are planned for (their serving promises)."""
    found = []
    for deployment in pool.deployments:
        text = pod_meta(deployment.props, "annotations").get(SERVING)
        if isinstance(text, str):
            with contextlib.suppress(ValueError):
                found.append(Promise.from_json(text).ttft_seconds)
    return found


def check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    found = pools(args.resources)
    if not found:
        args.not_applicable("the stack has no inference pool")
    share = float(config["maxShareOfTarget"])
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
        targets = _targets(pool)
        if not targets:
            continue
        highest = share * min(targets)
        for rule in mine:
            value = threshold(str(rule.get("expr")))
            if value is not None and value > highest:
                report(
                    f"tier {pool.tier} alerts on p95 time to first token above {show(value)} s, "
                    f"past its {show(min(targets))} s target; want at most {show(highest)} s. "
                    "Lower monitoring.ttftP95AlertSeconds, or leave it unset (each tier at "
                    f"{TTFT_ALERT_SHARE:.0%} of its own target).",
                    pool.deployments[0].urn,
                )


POLICY = policy(META, check)
