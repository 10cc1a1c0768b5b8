"""M2: each inference tier alerts when vLLM's KV-cache usage passes the checklist's mark."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import StackValidationArgs

from facts.checklist import KV_CACHE_ALERT_PERCENT
from policies.building import PolicyMeta, Report, Setting, policy
from policies.pools import alert_rules, pools, rules_by_pool, threshold
from policies.properties import show
from policies.scraping import Monitors, report_unscraped

METRIC = "vllm:kv_cache_usage_perc"
DEPRECATED = "vllm:gpu_cache_usage_perc"


META = PolicyMeta(
    name="kv-cache-alert",
    item="M2",
    severity="high",
    enforcement="mandatory",
    kind="stack",
    keys=(
        "agentfleet:fleet.monitoring",
        "agentfleet:fleet.tiers.<tier>",
    ),
    description="Each inference tier alerts when vLLM's KV-cache usage passes "
    f"{KV_CACHE_ALERT_PERCENT:g}%.",
    remediation=f"Add a PrometheusRule alert on {METRIC} > {KV_CACHE_ALERT_PERCENT / 100:g} for "
    f"the tier ({DEPRECATED} no longer exists).",
    settings={
        "maxPercent": Setting(
            "number", KV_CACHE_ALERT_PERCENT, "Highest threshold allowed, in percent."
        )
    },
)


def check(args: StackValidationArgs, report: Report, config: Mapping[str, Any]) -> None:
    found = pools(args.resources)
    if not found:
        args.not_applicable("the stack has no inference pool")
    highest = float(config["maxPercent"]) / 100
    rules = alert_rules(args.resources)
    about = rules_by_pool(rules, found)
    monitors = Monitors(args.resources)
    for pool in found.values():
        mine = about[pool.tier]
        if any(DEPRECATED in str(r.get("expr")) for r in mine):
            report(
                f"tier {pool.tier} alerts on {DEPRECATED}, which vLLM no longer exports; want "
                f"{METRIC}. Rename the metric in the rule.",
                pool.deployments[0].urn,
            )
        current = [r for r in mine if METRIC in str(r.get("expr"))]
        if not current:
            report(
                f"tier {pool.tier} has no KV-cache alert; want one on {METRIC} > "
                f"{show(highest)}. Add it (components.FleetMonitoring).",
                pool.deployments[0].urn,
            )
            continue
        report_unscraped(pool, monitors, METRIC, report)
        for rule in current:
            value = threshold(str(rule.get("expr")))
            if value is not None and value > highest:
                report(
                    f"tier {pool.tier} alerts on KV-cache usage above {show(value)}; want at "
                    f"most {show(highest)}. Lower monitoring.kvCacheAlertPercent.",
                    pool.deployments[0].urn,
                )


POLICY = policy(META, check)
