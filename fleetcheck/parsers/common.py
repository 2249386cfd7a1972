"""What every dialect parser shares: the parse error and address/port normalisation."""

from __future__ import annotations

from dataclasses import dataclass

from fleetcheck import services


class ParseError(Exception):
    """Output a parser does not recognise; names the first offending line."""

    def __init__(self, message: str, line_no: int | None = None, line: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line_no = line_no
        self.line = line

    def __str__(self) -> str:
        if self.line_no is None:
            return self.message
        shown = (self.line or "").strip()
        if len(shown) > 120:
            shown = shown[:117] + "..."
        return f"line {self.line_no}: {self.message}: {shown!r}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A local address as printed, split into its normalised parts."""

    address: str
    port: int | None  # None: the port was '*' (an unbound socket)
    iface: str | None
    port_name: str | None


def split_scope(address: str) -> tuple[str, str | None]:
    """'fe80::1%eth0' -> ('fe80::1', 'eth0'); brackets removed."""
    address = address.strip("[]")
    if "%" in address:
        addr, scope = address.split("%", 1)
        return addr, scope or None
    return address, None


def parse_port(text: str, proto: str) -> tuple[int | None, str | None]:
    """A port as printed: number, '*', or a service name (mapped through the port table)."""
    if text == "*":
        return None, None
    if text.isdigit():
        port = int(text)
        if port > 65535:
            raise ValueError(f"port {port} out of range")
        return port, None
    number = services.port_for_name(text, proto)
    if number is None:
        raise ValueError(f"unknown service name {text!r}")
    return number, text


def split_endpoint(text: str, proto: str, sep: str = ":") -> Endpoint:
    """Split 'addr:port' (or BSD 'addr.port' with sep='.') into an Endpoint; ValueError if bad."""
    if sep not in text:
        raise ValueError(f"no port in {text!r}")
    addr, _, port_text = text.rpartition(sep)
    port, port_name = parse_port(port_text, proto)
    address, iface = split_scope(addr)
    if not address:
        raise ValueError(f"no address in {text!r}")
    return Endpoint(address, port, iface, port_name)


def family_of(address: str) -> int:
    """6 for anything with a colon (IPv6, IPv4-mapped), else 4."""
    return 6 if ":" in address else 4


def is_wildcard_peer(text: str) -> bool:
    """True for a foreign address meaning 'not connected': '*:*', '0.0.0.0:*', '[::]:*', '*.*'."""
    return text.endswith("*") and text.rstrip("*").rstrip(":.").strip("[]") in (
        "", "*", "0.0.0.0", "::", "::0")
