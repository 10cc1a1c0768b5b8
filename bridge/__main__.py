"""``python -m bridge``: the queue worker, as ``agentfleet-worker`` runs it."""

from bridge.cli import run_worker

run_worker()
