"""The top floor: agentfleet's own fleet, from a stack file to the resources.

- ``config``: the stack config models and their loading, errors named by key path;
- ``sizing`` and ``plan``: the capacity and cost model, plain functions over plain data;
- ``wiring``: the plan mapped onto the components' args, in one place;
- ``program`` (run by ``__main__.py``, the Pulumi program): declares the fleet;
- ``offline``: the engine that runs the program and the policy pack with no cloud and no
  CLI (``agentfleet plan``);
- ``report`` and ``cli``: what people read, and the ``agentfleet`` command.

May import everything below it: ``facts``, ``components`` and ``bridge`` (the CLI runs the
worker and submit), pulumi and the cloud SDKs. Nothing imports ``infra``.
"""

from facts import __version__

__all__ = ["__version__"]
