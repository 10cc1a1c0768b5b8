"""Money: exact decimals, rounded to the cent only when shown or sent to AWS."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """Round money to the cent (half up) for display."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)
