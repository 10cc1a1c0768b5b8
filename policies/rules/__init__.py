"""The pack's policies, one module each. A module declares its metadata (``META``, a
``policies.building.PolicyMeta``) beside its check, and ``POLICY = policy(META, check)``;
the pack (``policies.pack``) finds every module here, in checklist order, and the docs'
policy reference is generated from them (``python -m tools.policy_reference``). Adding a
policy is one module here and one test module in ``tests/policies/rules/``.

A module may import ``facts``, pulumi-policy and the rest of ``policies`` (``building``,
``properties``, ``pools``), nothing else of agentfleet."""
