"""The production checklist's numbers (docs/policies.md lists the items), written once.
The stack config's defaults, the components' defaults and the policies' default settings
all read them here, so a stack that takes every default passes every policy."""

from __future__ import annotations

from fractions import Fraction

from facts.labels import ENVIRONMENT, TIER

# C2: --max-num-seqs against the sessions one replica is sized for.
MAX_NUM_SEQS_MIN_RATIO = 1.5
MAX_NUM_SEQS_MAX_RATIO = 2.0
MAX_NUM_SEQS_FACTOR = Fraction(7, 4)
"""The default ratio: 1.75x, rounded up, inside the band for every positive count."""

# C5, C6: the inference server's health endpoint and how often a load balancer checks it.
HEALTH_PATH = "/health"
HEALTH_CHECK_MIN_INTERVAL_SECONDS = 10
HEALTH_CHECK_MAX_INTERVAL_SECONDS = 15
HEALTH_CHECK_INTERVAL_SECONDS = 10
"""The default interval, inside the band."""

# C7, A4: instances behind a load balancer; the floor of a user-facing tier.
USER_FACING_FLOOR = 2
USER_FACING_NEVER_BELOW = 1
"""A4 itself: a user-facing tier never scales to zero (C7 wants the floor of 2)."""

# A2: scale out on a backlog of more than N requests per vLLM instance (a replica), sustained.
QUEUE_DEPTH_PER_REPLICA = 10
SCALE_OUT_SUSTAIN_SECONDS = 60
SCALE_TO_ZERO_SCALE_OUT_SUSTAIN_SECONDS = 30
"""Batch tiers that scale to zero wake on any message sustained this long."""

# A3: scale in only after the queue stayed low this long, with a cooldown.
SCALE_IN_IDLE_SECONDS = 300

HPA_MAX_WINDOW_SECONDS = 3600
"""The HPA's own limit on a stabilisation window."""
SCALE_OUT_RAMP_SECONDS = 600
"""Not a checklist number: the longest HPA time from a tier's floor to its ceiling, so a
business-hours ramp (agent traffic: 10x in an hour) is followed; node start-up comes on top."""

# Predictable peaks: pre-scale on a schedule with this headroom above the prediction.
PEAK_HEADROOM = Fraction(13, 10)

# M1, M2: alert thresholds. M1 alerts below each tier's own TTFT target, at this share of
# it (0.4 s for a 0.5 s target, 48 s for a throughput tier's minute); a fleet may set one
# threshold for every tier instead.
TTFT_ALERT_SHARE = 0.8
TTFT_P95_ALERT_SECONDS = 0.5
KV_CACHE_ALERT_PERCENT = 85.0

# M4: the tags every billable resource carries.
REQUIRED_COST_TAGS = (TIER, ENVIRONMENT)

# K3: a cost budget notifies at these percentages.
BUDGET_ALERT_PERCENTS = (80, 100)
