"""Transports: how a command reaches a host. One small contract, one class per connection type."""

from fleetcheck.transport.base import (
    TRANSPORTS,
    CommandResult,
    Connector,
    Transport,
    TransportFactory,
    TransportKind,
)
from fleetcheck.transport.quote import sh_join, sh_quote

__all__ = ["TRANSPORTS", "CommandResult", "Connector", "Transport", "TransportFactory",
           "TransportKind", "sh_join", "sh_quote"]
