"""agentfleet's tests, mirroring the tree: ``facts/`` and ``infra/`` (pure functions),
``components/`` (under recording mocks), ``policies/`` (each policy, the pack served over
gRPC), ``bridge/`` (the worker as a process), ``e2e/`` (the program, the command, the worker
image), and the repository's own promises (``test_repository.py``, ``test_layout.py``).
Tests may import anything; tests marked ``integration`` run real processes or the whole
program."""
