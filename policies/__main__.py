"""The CrossGuard policy pack `agentfleet-production`, as the Pulumi CLI runs it:
`python -m pulumi.policy <engine-address> .` in this folder, in the project's virtualenv
(PulumiPolicy.yaml), where the agentfleet package is installed. Builds the pack, which
serves the analyzer protocol on a port it prints, and never returns (but, started by
`agentfleet plan`, exits when the plan's end closes its standard input)."""

import os
import sys
import threading

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import DESCRIPTION, PACK, all_policies
from policies.sdk_workarounds import memoise_decoding


def _exit_with_stdin() -> None:
    """Under `agentfleet plan`, the pack's standard input is a pipe the plan holds: its end
    means the plan is gone (killed or not), and so is the reason to serve."""
    sys.stdin.buffer.read()
    os._exit(0)


if os.environ.get("AGENTFLEET_PACK_LIFELINE") == "stdin":
    threading.Thread(target=_exit_with_stdin, daemon=True).start()

memoise_decoding()

PolicyPack(
    name=PACK,
    policies=all_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description=DESCRIPTION,
)
