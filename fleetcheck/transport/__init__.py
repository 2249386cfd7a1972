"""Transports: how a command reaches a host. One small contract, one class per connection type."""

from fleetcheck.transport.base import CommandResult, Transport, TransportFactory
from fleetcheck.transport.quote import sh_join, sh_quote

__all__ = ["CommandResult", "Transport", "TransportFactory", "sh_join", "sh_quote"]
