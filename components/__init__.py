"""agentfleet's reusable ComponentResources (``from components import ...``)."""
