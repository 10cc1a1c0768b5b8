"""The ``agentfleet-production`` CrossGuard policy pack."""
