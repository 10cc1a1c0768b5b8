"""The queue worker's settings page (``docs/reference/worker-settings.md``): a row per
setting of ``facts.worker``, each a flag and an environment variable.
``python -m tools.worker_reference`` writes it."""

from __future__ import annotations

from facts.worker import SETTINGS
from tools.markdown import REFERENCE, cell, generated_by

PAGE = REFERENCE / "worker-settings.md"


def render() -> str:
    lines = ["| flag | environment variable | what (default) |", "| --- | --- | --- |"]
    lines += [f"| `{s.flag}` | `{s.env}` | {cell(s.help)} |" for s in SETTINGS]
    return "\n\n".join([
        "# Queue worker settings",
        generated_by("tools.worker_reference", "`facts/worker.py`"),
        "`agentfleet-worker` (also `agentfleet worker`) takes every setting as a flag or "
        "as an environment variable; the pod sets the variables. "
        "[The queue bridge](../queue-bridge.md) says what the worker does with them.",
        "\n".join(lines),
    ]) + "\n"  # fmt: skip


def main() -> None:
    PAGE.write_text(render(), encoding="utf-8")


if __name__ == "__main__":
    main()
