"""The CrossGuard policy pack `agentfleet-production`, as the Pulumi CLI runs it:
`python -m pulumi.policy <engine-address> .` in this folder, in the project's virtualenv
(PulumiPolicy.yaml), where the agentfleet package is installed. Builds the pack, which
serves the analyzer protocol on a port it prints, and never returns."""

from pulumi_policy import EnforcementLevel, PolicyPack

from policies.pack import DESCRIPTION, PACK, all_policies

PolicyPack(
    name=PACK,
    policies=all_policies(),
    enforcement_level=EnforcementLevel.MANDATORY,
    description=DESCRIPTION,
)
