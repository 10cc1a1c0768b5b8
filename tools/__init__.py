"""Build-time generators: what the repository writes from its own code and checks in.

- ``stack_reference``, ``components_reference``, ``catalog_reference``,
  ``worker_reference`` and ``policy_reference``: the reference pages of the docs site
  (``docs/reference/``), each written whole from the models, tables and metadata it
  documents;
- ``docs``: every page at once (``python -m tools.docs``), and the list the drift tests
  walk;
- ``component_package``: ``components/package.py`` and ``components/schema.json``, the
  components as a Pulumi component package (``python -m tools.component_package``);
- ``markdown``: the tables the pages share.

``python -m tools`` regenerates everything. None of this runs when agentfleet runs: it is
not installed with the package, and only the tests import it.

May import: ``facts``, ``components``, ``policies`` and ``infra`` (it documents them all);
nothing imports ``tools`` but the tests.
"""
