"""Money: exact decimals, rounded to the cent only when shown or sent to AWS."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


def cents(amount: Decimal) -> Decimal:
    """Round money to the cent (half up) for display."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def exact(amount: Decimal) -> str:
    """A price as written, to its last significant digit: no exponent, no trailing zeros
    (27.44705000 -> 27.44705, 30 -> 30)."""
    return format(amount.normalize(), "f")
