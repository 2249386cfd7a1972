"""fleetcheck: what is listening on every host of a fleet, and is each listener allowed?"""

__version__ = "0.1.0"
