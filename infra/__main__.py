"""The Pulumi program: one stack file -> the whole fleet.

Run by the Pulumi CLI (``main: infra/`` in Pulumi.yaml) from the project root. It reads
and validates the stack's ``agentfleet:*`` configuration and plans it before declaring
anything, then builds the fleet (``infra.program.build_fleet``) and exports it per tier.
"""

import sys
from pathlib import Path

# The CLI runs this directory as a script, which puts infra/ itself first on sys.path.
# Import the package from the project root instead, so `infra.*` resolves and no module
# in here shadows a top-level one.
_here = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

import pulumi  # noqa: E402

from infra.config import ConfigError, load_pulumi_config  # noqa: E402
from infra.program import build_fleet  # noqa: E402

try:
    # Reading and planning come before the first resource: a stack that cannot be built
    # declares nothing.
    build_fleet(load_pulumi_config())
except ConfigError as error:
    # RunError ends the program with its message and no stack trace; nothing is declared.
    raise pulumi.RunError(f"invalid configuration\n{error}") from None
