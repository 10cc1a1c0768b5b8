"""The installed `agentfleet` command: starts with Python's cyclic garbage collector paused.

Measured on pulumi 3.272 and pulumi-aws 7.51 (benchmarks/plan_speed.py): loading the SDKs
leaves about 250,000 long-lived objects the collector tracks (type classes, their hints),
and it re-scanned them at every older-generation pass while the program registered
resources.
With it paused, `agentfleet plan` spends about a fifth less time on the prod stack and half
on a 100-tier one, for 9-12% more peak memory: what the plan allocates is nearly all live
until it ends, with few reference cycles to reclaim. So the collector stays paused while a
plan loads, builds and is analysed; ``infra.cli.resume_collection`` then freezes what was
loaded (never to be scanned again) and turns collection back on: at once for every other
command (the worker runs for days), and after the preview for `plan`.

Only the command is affected: importing ``infra.cli`` and calling ``main`` (as the tests
do) leaves the collector alone.
"""

from __future__ import annotations

import gc
import sys


def run() -> None:
    gc.disable()
    from infra.cli import main  # imported after the pause: it loads pydantic and the config

    sys.exit(main())
