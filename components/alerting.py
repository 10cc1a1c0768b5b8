"""Alertmanager's routing as agentfleet configures kube-prometheus-stack's: every alert to
the fleet's SNS topic, signed with Alertmanager's own Pod Identity role."""

from __future__ import annotations

from typing import Any

FLEET_RECEIVER = "fleet-topic"
QUIET_RECEIVER = "null"
ALERT_SUBJECT = (
    "[{{ .Status | toUpper }}] {{ .GroupLabels.alertname }}"
    "{{ if .GroupLabels.tier }} ({{ .GroupLabels.tier }}){{ end }}"
)
"""The SNS message's subject, on one line: "[RESOLVED] " (11), the alert's name and " (<tier>)"
(at most 43): under SNS's 100 characters for an alert name of up to 45."""
QUIET_ALERTS = ("Watchdog", "InfoInhibitor")
"""kube-prometheus-stack's always-firing alerts: the dead man's switch (meant for an
external heartbeat) and the helper that inhibits info alerts. Paging on them says nothing."""


def alertmanager_config(topic_arn: str, region: str) -> dict[str, Any]:
    """Alertmanager's routing: every alert to the fleet's SNS topic but the chart's two
    always-firing ones (QUIET_ALERTS), grouped per alert and tier, and resolutions too.
    Helm merges this over the chart's default ``alertmanager.config``: the route and the
    receivers are replaced whole (lists are not merged); its inhibit rules and templates
    stay."""
    return {
        "route": {
            "receiver": FLEET_RECEIVER,
            "group_by": ["alertname", "namespace", "tier"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [
                {"receiver": QUIET_RECEIVER, "matchers": [f'alertname = "{alert}"']}
                for alert in QUIET_ALERTS
            ],
        },
        "receivers": [
            {"name": QUIET_RECEIVER},
            {
                "name": FLEET_RECEIVER,
                "sns_configs": [
                    {
                        "topic_arn": topic_arn,
                        # SNS refuses a subject of 100 characters or more, or of more than
                        # one line, and Alertmanager's default (every common label) is
                        # often longer: the alert and its tier only, bounded by their names.
                        "subject": ALERT_SUBJECT,
                        # Signed with the default credential chain: the pod's Pod
                        # Identity role (alert_publisher_policy).
                        "sigv4": {"region": region},
                        "send_resolved": True,
                    }
                ],
            },
        ],
    }
