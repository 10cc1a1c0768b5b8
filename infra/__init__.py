"""agentfleet's Pulumi-free core: stack config, GPU catalog, MIG geometry, capacity and
cost planning, and the ``agentfleet`` command line. The Pulumi program is ``__main__.py``."""

__version__ = "0.1.0"  # pyproject.toml's version; tests/test_repository.py keeps them equal
