"""What the simulator's tests share: a tier of fixed size, as the engine drives it."""

from __future__ import annotations

from facts.autoscaling import Rules, ScaledObject
from infra.simulation.fleet import PREFILL_SECONDS, TierModel


def fixed_fleet(sessions: int, hold: float = 3.0, scaled: ScaledObject | None = None) -> TierModel:
    rules = (Rules.from_spec(None, up=True), Rules.from_spec(None, up=False))
    return TierModel(
        name="t",
        scaled=scaled or ScaledObject(1, 1, (), *rules),
        cron=(),
        sessions_per_replica=float(sessions),
        held_per_replica=0.0,
        replicas_per_node=1,
        gpus_per_node=1,
        node_min=0,
        node_max=100,
        burst_max=0,
        on_demand_price=1.0,
        spot_price=None,
        on_spot=False,
        planned_replicas=1,
        peak_rate=1.0,
        service_seconds=hold,
        prefill_seconds=PREFILL_SECONDS,
        sla_ttft_seconds=0.5,
        request_timeout_seconds=1e9,
        pod_start_seconds=0.0,
        node_start_seconds=0.0,
    )
