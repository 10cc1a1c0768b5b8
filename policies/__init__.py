"""The ``agentfleet-production`` CrossGuard policy pack: the production checklist as
policies over what a stack declares.

- ``rules``: one module per policy, its metadata beside its check;
- ``pack``: finds the rules, in checklist order; ``__main__``: serves them as the CLI does;
- ``building``: ``PolicyMeta`` and the one way a module's check becomes a policy;
- ``properties``, ``pools`` and ``scraping``: readers of the resources the engine sends.

The docs' policy reference is generated from the rules' metadata by
``python -m tools.policy_reference``, outside the pack.

May import: ``facts`` and pulumi-policy only (no ``infra``, no ``components``, no Pulumi
cloud SDKs), so the pack loads fast in its own process and judges hand-written stacks by
the same facts the components write.
"""
