"""What KEDA and the Horizontal Pod Autoscaler do with a ScaledObject, as their controllers
compute it (KEDA 2.18's scalers, kubernetes pkg/controller/podautoscaler).

- Each trigger is an external metric with an ``AverageValue`` target (KEDA's default): the
  HPA asks for ``ceil(metric / target)`` replicas, unless the metric is within 10% of the
  target times the current replicas, when it keeps the current count
  (``GetExternalPerPodMetricReplicas``, kubernetes pkg/controller/podautoscaler).
- KEDA's ``aws-sqs-queue`` metric is the queue's ApproximateNumberOfMessages, plus
  ApproximateNumberOfMessagesNotVisible when ``scaleOnInFlight`` is true (its default), plus
  the delayed ones when ``scaleOnDelayed`` is; ``queueLength`` is the target (default 5).
  A trigger is active while its metric is above its activation value (default 0).
- The HPA takes the maximum over triggers, then its behaviour: the stabilisation windows
  (scale up to the lowest recommendation of the up-window, down to the highest of the
  down-window), then the rate policies (each policy's limit from the replicas at the start
  of its period; ``selectPolicy: Max``, the default, takes the most permissive), clamped to
  the floor and ceiling. KEDA owns 0 <-> 1: with a floor of 0 the target sits at zero while
  no trigger is active, once the cooldown has passed, as KEDA's own loop sees the triggers
  every ``pollingInterval``. The HPA's metrics are read live at each sync: KEDA's metrics
  server asks the scaler on each request unless a trigger sets ``useCachedMetrics``.

Plain functions over the rendered spec, standard library only: the plan sizes KEDA's
targets by the tolerance, the ``scale-out-threshold`` policy times a ScaledObject's ramp with
it, and the tests hold the rendered settings to it.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any, Literal

TOLERANCE = Fraction(1, 10)
"""The HPA's --horizontal-pod-autoscaler-tolerance default: it leaves the replicas alone
while the metric is within 10% of the target times the current replicas."""
_TOLERANCE = float(TOLERANCE)
SYNC_SECONDS = 15
"""The HPA's --horizontal-pod-autoscaler-sync-period default."""
KEDA_DEFAULT_QUEUE_LENGTH = 5
KEDA_DEFAULT_POLLING_SECONDS = 30
KEDA_DEFAULT_COOLDOWN_SECONDS = 300
HPA_DEFAULT_SCALE_DOWN_WINDOW = 300


@dataclass(frozen=True)
class Load:
    """What the triggers read at one moment."""

    visible: int = 0
    """Messages waiting in the queue (ApproximateNumberOfMessages)."""
    in_flight: int = 0
    """Messages received and not yet deleted (ApproximateNumberOfMessagesNotVisible)."""
    delayed: int = 0
    vllm_waiting: float = 0.0
    """vLLM's own waiting requests, summed over the tier's pods (a Prometheus trigger)."""
    cron_active: frozenset[str] = frozenset()
    """The names of the cron triggers whose window is open."""
    utilization: float = 0.0
    """GPU utilisation in percent, summed over the tier's pods (an HPA Resource metric of
    type Utilization: desired = ceil(sum / target), the same arithmetic)."""


@dataclass(frozen=True)
class Trigger:
    """One ScaledObject trigger as a metric and its per-replica target."""

    name: str
    kind: str
    target: float
    activation: float = 0.0
    in_flight: bool = True
    delayed: bool = False

    @classmethod
    def from_spec(cls, trigger: Mapping[str, Any], index: int) -> Trigger:
        metadata: Mapping[str, Any] = trigger.get("metadata") or {}
        kind = str(trigger.get("type"))
        name = str(trigger.get("name") or f"{kind}-{index}")
        if kind == "aws-sqs-queue":
            return cls(
                name=name,
                kind=kind,
                target=float(metadata.get("queueLength", KEDA_DEFAULT_QUEUE_LENGTH)),
                activation=float(metadata.get("activationQueueLength", 0)),
                in_flight=_flag(metadata.get("scaleOnInFlight"), default=True),
                delayed=_flag(metadata.get("scaleOnDelayed"), default=False),
            )
        if kind == "prometheus":
            return cls(
                name=name,
                kind=kind,
                target=float(metadata["threshold"]),
                activation=float(metadata.get("activationThreshold", 0)),
            )
        if kind == "utilization":
            return cls(name=name, kind=kind, target=float(metadata["averageUtilization"]))
        if kind == "cron":
            # KEDA's cron scaler reports desiredReplicas while its window is open, against
            # a target of 1 per replica.
            return cls(name=name, kind=kind, target=float(metadata["desiredReplicas"]))
        raise ValueError(f"trigger {name}: no model of KEDA's {kind!r} scaler")

    def metric(self, load: Load) -> float:
        if self.kind == "aws-sqs-queue":
            value = load.visible
            value += load.in_flight if self.in_flight else 0
            value += load.delayed if self.delayed else 0
            return float(value)
        if self.kind == "prometheus":
            return load.vllm_waiting
        if self.kind == "utilization":
            return load.utilization
        return self.target if self.name in load.cron_active else 0.0

    def per_replica_target(self) -> float:
        return 1.0 if self.kind == "cron" else self.target

    def active(self, load: Load) -> bool:
        return self.metric(load) > self.activation


def metric_replicas(metric: float, target: float, current: int) -> int:
    """The replicas one AverageValue external metric asks for (GetExternalPerPodMetricReplicas):
    the current count while the metric is within the tolerance of target x current."""
    if current > 0:
        ratio = metric / (target * current)
        if abs(1.0 - ratio) <= _TOLERANCE:
            return current
    return math.ceil(metric / target)


@dataclass(frozen=True)
class Policy:
    kind: Literal["Pods", "Percent"]
    value: int
    period: int


@dataclass(frozen=True)
class Rules:
    """The behaviour of one direction: its stabilisation window and rate policies."""

    window: int
    policies: tuple[Policy, ...]
    select: str = "Max"

    @classmethod
    def from_spec(cls, rules: Mapping[str, Any] | None, up: bool) -> Rules:
        """The rendered rules, with the HPA's own defaults for what is not set."""
        rules = rules or {}
        window = rules.get("stabilizationWindowSeconds")
        if window is None:
            window = 0 if up else HPA_DEFAULT_SCALE_DOWN_WINDOW
        policies = rules.get("policies")
        if policies is None:
            defaults = [("Percent", 100, 15), ("Pods", 4, 15)] if up else [("Percent", 100, 15)]
            found = tuple(Policy(k, v, p) for k, v, p in defaults)  # type: ignore[arg-type]
        else:
            found = tuple(
                Policy(str(p["type"]), int(p["value"]), int(p["periodSeconds"]))  # type: ignore[arg-type]
                for p in policies
            )
        return cls(int(window), found, str(rules.get("selectPolicy") or "Max"))


@dataclass(frozen=True)
class ScaledObject:
    """A KEDA ScaledObject, from its rendered spec."""

    min_replicas: int
    max_replicas: int
    triggers: tuple[Trigger, ...]
    up: Rules
    down: Rules
    polling_seconds: int = KEDA_DEFAULT_POLLING_SECONDS
    cooldown_seconds: int = KEDA_DEFAULT_COOLDOWN_SECONDS

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ScaledObject:
        behavior = ((spec.get("advanced") or {}).get("horizontalPodAutoscalerConfig") or {}).get(
            "behavior"
        ) or {}
        return cls(
            min_replicas=int(spec.get("minReplicaCount", 0)),
            max_replicas=int(spec.get("maxReplicaCount", 100)),
            triggers=tuple(
                Trigger.from_spec(t, i) for i, t in enumerate(spec.get("triggers") or [])
            ),
            up=Rules.from_spec(behavior.get("scaleUp"), up=True),
            down=Rules.from_spec(behavior.get("scaleDown"), up=False),
            polling_seconds=int(spec.get("pollingInterval", KEDA_DEFAULT_POLLING_SECONDS)),
            cooldown_seconds=int(spec.get("cooldownPeriod", KEDA_DEFAULT_COOLDOWN_SECONDS)),
        )

    def active(self, load: Load) -> bool:
        return any(trigger.active(load) for trigger in self.triggers)

    def wanted(self, load: Load, current: int) -> int:
        """The replicas the metrics ask for now (the maximum over triggers), before the
        behaviour, clamped to the HPA's floor (at least one) and ceiling."""
        return self.asked([t.metric(load) for t in self.triggers], current)

    def asked(self, metrics: Sequence[float], current: int) -> int:
        """``wanted`` from the triggers' metrics, read once."""
        asked = current if not metrics else 0
        for metric, trigger in zip(metrics, self.triggers, strict=True):
            replicas = metric_replicas(metric, trigger.per_replica_target(), current)
            asked = max(asked, replicas)
        return max(self.min_replicas, 1, min(asked, self.max_replicas))

    def settled(self, load: Load | Callable[[int], Load]) -> int:
        """The replicas the HPA settles on from the floor under a steady load (a ``Load``,
        or one that depends on the replicas, as utilisation does), asking in jumps: where
        the metrics, the tolerance included, ask for no change. A climb the behaviour
        limits can stop short of it, inside the tolerance (the planner's targets are
        lowered so that it does not: ``infra.sizing.in_flight_target``)."""
        replicas = max(1, self.min_replicas)
        for _ in range(self.max_replicas + 2):  # each round grows, to the ceiling at most
            wanted = self.wanted(load(replicas) if callable(load) else load, replicas)
            if wanted == replicas:
                break
            replicas = wanted
        return replicas


@dataclass
class Hpa:
    """The HPA controller's memory of one target: its recommendations and scale events, so
    that each sync applies the behaviour as the controller does."""

    scaled: ScaledObject
    recommendations: deque[tuple[float, int]] = field(default_factory=deque)
    ups: deque[tuple[float, int]] = field(default_factory=deque)
    downs: deque[tuple[float, int]] = field(default_factory=deque)
    last_active: float = 0.0

    def __post_init__(self) -> None:
        scaled = self.scaled
        self._longest = max(scaled.up.window, scaled.down.window)
        # the rate policies look back one period at most: older events no longer count
        self._period = max((p.period for p in (*scaled.up.policies, *scaled.down.policies)),
                           default=0)  # fmt: skip

    def sync(self, now: float, current: int, load: Load) -> int:
        """One sync at ``now`` (seconds): the replicas KEDA and the HPA set the target to."""
        triggers = self.scaled.triggers
        metrics = [trigger.metric(load) for trigger in triggers]
        active = any(m > t.activation for m, t in zip(metrics, triggers, strict=True))
        # KEDA's own loop polls the triggers every pollingInterval (at its multiples here):
        # it records when one was last active, and owns 0 <-> 1
        polling = self.scaled.polling_seconds
        polled = polling <= 0 or math.floor(now / polling) > math.floor(
            (now - SYNC_SECONDS) / polling
        )
        if active and polled:
            self.last_active = now
        if self.scaled.min_replicas == 0:
            # it wakes the target on an active trigger, and puts it to sleep once no
            # trigger has been active for the cooldown
            if current == 0:
                return 1 if active and polled else 0
            if polled and now - self.last_active >= self.scaled.cooldown_seconds:
                return 0
        if not self.recommendations and not self.ups and not self.downs:
            # recordInitialRecommendation: the count the controller first sees counts as a
            # recommendation, so a scale-up waits out the up-window from the first sync.
            self.recommendations.append((now, current))
        wanted = self.scaled.asked(metrics, current)
        stabilised = self._stabilised(now, current, wanted)
        limited = self._rate_limited(now, current, stabilised)
        self._record(now, current, wanted, limited)
        return limited

    def _stabilised(self, now: float, current: int, wanted: int) -> int:
        up_from, down_from = now - self.scaled.up.window, now - self.scaled.down.window
        up_floor = down_ceiling = wanted
        for when, replicas in self.recommendations:
            if when > up_from and replicas < up_floor:
                up_floor = replicas
            if when > down_from and replicas > down_ceiling:
                down_ceiling = replicas
        return min(max(current, up_floor), down_ceiling)

    def _changes(self, now: float, period: int) -> tuple[int, int]:
        added = sum(change for when, change in self.ups if when > now - period)
        deleted = sum(change for when, change in self.downs if when > now - period)
        return added, deleted

    def _rate_limited(self, now: float, current: int, desired: int) -> int:
        scaled = self.scaled
        if desired > current:
            limits = []
            for policy in scaled.up.policies:
                added, deleted = self._changes(now, policy.period)
                start = current - added + deleted
                limits.append(
                    start + policy.value
                    if policy.kind == "Pods"
                    else math.ceil(start * (1 + policy.value / 100))
                )
            limit = _select(limits, scaled.up.select, up=True, current=current)
            return min(desired, max(limit, current), scaled.max_replicas)
        if desired < current:
            limits = []
            for policy in scaled.down.policies:
                added, deleted = self._changes(now, policy.period)
                start = current - added + deleted
                limits.append(
                    start - policy.value
                    if policy.kind == "Pods"
                    else int(start * (1 - policy.value / 100))
                )
            limit = _select(limits, scaled.down.select, up=False, current=current)
            return max(desired, min(limit, current), scaled.min_replicas, 1)
        return desired

    def _record(self, now: float, current: int, wanted: int, replicas: int) -> None:
        recommendations = self.recommendations
        recommendations.append((now, wanted))
        while recommendations[0][0] <= now - self._longest - 1:
            recommendations.popleft()
        if replicas > current:
            self.ups.append((now, replicas - current))
        elif replicas < current:
            self.downs.append((now, current - replicas))
        for events in (self.ups, self.downs):
            while events and events[0][0] <= now - self._period:
                events.popleft()


def _select(limits: Sequence[int], select: str, *, up: bool, current: int) -> int:
    if select == "Disabled" or not limits:
        return current
    if select == "Min":
        return min(limits) if up else max(limits)
    return max(limits) if up else min(limits)


def _flag(value: Any, *, default: bool) -> bool:
    if value is None:
        return default
    return str(value).strip().lower() == "true"


def replicas_over_time(
    scaled: ScaledObject,
    load: Load | Any,
    start: int,
    seconds: int,
    sync_seconds: int = SYNC_SECONDS,
) -> list[tuple[int, int]]:
    """(second, replicas) after each HPA sync from ``start`` replicas, the load fixed (a
    ``Load``) or a function of the second and the current replicas, with pods ready as
    soon as they are asked for (node start-up comes on top)."""
    hpa = Hpa(scaled)
    replicas, timeline = start, []
    for now in range(0, seconds + 1, sync_seconds):
        at = load(now, replicas) if callable(load) else load
        replicas = hpa.sync(float(now), replicas, at)
        timeline.append((now, replicas))
    return timeline


def seconds_to_reach(
    scaled: ScaledObject, load: Load | Any, start: int, goal: int, limit: int = 3600
) -> int | None:
    """HPA time from ``start`` replicas until the target has ``goal`` (None: not within
    ``limit`` seconds)."""
    for now, replicas in replicas_over_time(scaled, load, start, limit):
        if replicas >= goal:
            return now
    return None


def seconds_to_ceiling(scaled: ScaledObject, limit: int = 3600) -> int | None:
    """HPA time from the floor (at least one replica) to the ceiling under a load that asks
    for the ceiling throughout (ten times it, so the tolerance never holds the count short):
    how fast the scale-up behaviour lets the target grow."""
    saturated = Trigger("saturated", "cron", target=10.0 * scaled.max_replicas)
    flooded = replace(scaled, triggers=(saturated,))
    load = Load(cron_active=frozenset({saturated.name}))
    return seconds_to_reach(flooded, load, max(1, scaled.min_replicas), scaled.max_replicas, limit)
