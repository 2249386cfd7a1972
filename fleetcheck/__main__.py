"""`python -m fleetcheck`."""

from fleetcheck.cli.main import entry

entry()
