"""The seeded hunt of fleetcheck under hostile client environments (tests/envhunt/hunt.py)."""
