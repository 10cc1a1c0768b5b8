"""agentfleet's Pulumi-free core: stack config, GPU catalog, MIG geometry, capacity and
cost planning, and the ``agentfleet`` command line. The Pulumi program is ``__main__.py``."""

from facts import __version__

__all__ = ["__version__"]
