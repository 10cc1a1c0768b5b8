"""The CrossGuard policy pack `agentfleet-production`, as the Pulumi CLI runs it:
`python -m pulumi.policy <engine-address> policies`. Builds the pack, which serves the
analyzer protocol on a port it prints, and never returns."""

import sys
from pathlib import Path

# The CLI runs this directory as a script, which puts policies/ itself first on sys.path.
# Import the package from the project root instead.
_here = Path(__file__).resolve().parent
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != _here]
sys.path.insert(0, str(_here.parent))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.pack import PACK, all_policies  # noqa: E402

PolicyPack(
    name=PACK,
    policies=all_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description="agentfleet's production checklist for GPU inference fleets on EKS.",
)
