"""What the command line's arguments share: argparse types (``infra.cli`` and the commands
it keeps in modules of their own, ``infra.perf``)."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    """A whole number of at least 1; ``1_000`` and ``1,000`` read as 1000."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value
