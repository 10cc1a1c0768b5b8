"""What the command line's arguments share: argparse types and groups (``infra.cli`` and the
commands it keeps in modules of their own: ``infra.perf``, ``infra.prices``,
``infra.simulate_command``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from infra.config import ConfigError


def writable_file(path: Path | None, option: str) -> None:
    """Refuse (exit 2, naming ``option``) a file to write into a folder that is not there,
    before any work is done for it."""
    if path is not None and not path.resolve().parent.is_dir():
        raise ConfigError([(option, f"{path.parent} is not a directory")])


def positive_int(text: str) -> int:
    """A whole number of at least 1; ``1_000`` and ``1,000`` read as 1000."""
    try:
        value = int(text.replace("_", "").replace(",", ""))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def add_source(command: argparse.ArgumentParser) -> None:
    """Which stack: ``--stack NAME`` or ``--config FILE``, one of them."""
    source = command.add_mutually_exclusive_group(required=True)
    source.add_argument("--stack", metavar="NAME", help="stack NAME: stacks/Pulumi.NAME.yaml")
    source.add_argument("--config", metavar="FILE", type=Path, help="a stack file")
