"""How full a tier runs its replicas: the headroom its TTFT target needs at its arrival rate,
and its traffic's noise beside (``facts.queueing``). Plain data, no Pulumi.

A replica of ``s`` sessions takes interactions in flight up to the load at which 95% of them
start within the wait the target leaves (``slaTtftSeconds`` less the planned TTFT): Erlang C
on its sessions, each held for the planned interaction time. The tier then keeps spare the
part of its traffic's noise that wait cannot absorb while the autoscaler and a cold node
react. The autoscaler's target per replica is the load that leaves; the ceiling takes a
burst on top. A small user-facing replica runs well below full; a large background one, with
a minute to wait, nearly full.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

from facts import queueing
from infra.physics import Serving

SHARE_DENOMINATOR = 10_000
"""The utilisation is kept to a hundredth of a percent, so the arithmetic stays exact."""


@dataclass(frozen=True)
class Headroom:
    """The load one replica of a tier is held at, and why."""

    sessions: int
    hold_seconds: float
    """An interaction's planned time: how long it holds a session."""
    wait_seconds: float
    """The wait the TTFT target leaves beside the planned TTFT."""
    reaction_seconds: float
    """How long a surge lasts before new nodes serve: the scale-out sustain and a cold start."""
    queueing_load: float
    """The most in flight the replica takes with 95% starting within the wait (Erlang C)."""
    noise: float
    """The spare share kept for the traffic's noise."""

    @property
    def utilisation(self) -> Fraction:
        """The share of a replica's sessions the autoscaler holds it at, exactly."""
        share = self.queueing_load / (self.sessions * (1 + self.noise))
        return Fraction(max(1, int(share * SHARE_DENOMINATOR)), SHARE_DENOMINATOR)

    @property
    def share(self) -> float:
        """Spare sessions over the load: 1 / utilisation - 1."""
        return float(1 / self.utilisation - 1)

    @property
    def ceiling_factor(self) -> Fraction:
        """The ceiling holds the expected load with a burst on top."""
        return Fraction(1) + Fraction(str(queueing.BURST))

    def why(self) -> str:
        waited = (
            f"95% of interactions start within {self.wait_seconds:.3g} s (Erlang C on "
            f"{self.sessions} sessions held {self.hold_seconds:.3g} s each)"
        )
        noise = (
            f"+{self.noise:.0%} for the traffic's ±{queueing.NOISE:.0%} noise, which a "
            f"{self.wait_seconds:.3g} s wait cannot absorb in the {self.reaction_seconds:.0f} s "
            "new nodes take"
            if self.noise
            else "the traffic's noise waits in the queue"
        )
        return f"{waited}; {noise}"


def headroom(serving: Serving, ttft_target: Decimal, sustain_seconds: int) -> Headroom:
    """The headroom of a tier whose replicas serve as ``serving`` plans, for its TTFT target
    and the scale-out sustain its autoscaler waits."""
    if serving.point is None:  # the catalog's figure: serviceSeconds each, TTFT not modelled
        hold, ttft = float(serving.service_seconds), 0.0
    else:
        hold, ttft = serving.point.e2e_seconds, serving.point.ttft_seconds
    wait = max(0.0, float(ttft_target) - ttft)
    reaction = float(sustain_seconds + queueing.COLD_START_SECONDS)
    return Headroom(
        sessions=serving.sessions,
        hold_seconds=hold,
        wait_seconds=wait,
        reaction_seconds=reaction,
        queueing_load=queueing.max_load(serving.sessions, hold, wait),
        noise=queueing.noise_allowance(wait, reaction),
    )
