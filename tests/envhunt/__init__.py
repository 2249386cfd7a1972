"""The seeded hunt of fleetcheck under hostile client environments (python -m tests.envhunt.hunt)."""
