"""`python -m fleetcheck`."""

from fleetcheck.cli.launch import entry

entry()
