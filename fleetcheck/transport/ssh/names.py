"""Host names, user names and ports checked before any %-token is expanded, as OpenSSH 9.6+ does.

A ProxyCommand template is shell text with its own quoting (`bash -c '... %h ...'`,
`ssh -W '%h:%p' jump`): no quoting of a value can be right inside every template, so
a value that could carry shell syntax is refused instead, and the others are
substituted as they are, exactly as ssh substitutes them. The same names become
known_hosts lines (accept-new), where a space, a comma, a pattern character or a
newline would add entries for other hosts.

OpenSSH (ssh.c, `valid_hostname`, `valid_ruser`) refuses a leading `-`, control
characters, whitespace and ``'`"$\\;&<>|(){},``. fleetcheck goes further, by listing
what is allowed: a host name is letters, digits and `. - _ : %` (IPv6 addresses and
their zones included); a user name is letters, digits and `. - _ @ \\`
(`user@domain`, `DOMAIN\\user`).
"""

from __future__ import annotations

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.numbers import is_number

_HOST_EXTRA = frozenset(".-_:%")
_USER_EXTRA = frozenset(".-_@\\")


def _refuse(what: str, value: str, why: str) -> HostFailure:
    return HostFailure(ErrorKind.INVENTORY, f"{what} {value!r} {why}; refused before any "
                                            "ssh_config %-token is expanded")


def _check(value: str, what: str, extra: frozenset[str], kind: str) -> str:
    if not value:
        raise _refuse(what, value, f"is empty: not a {kind}")
    if value.startswith("-"):
        raise _refuse(what, value, f"starts with '-': not a {kind}")
    bad = sorted({c for c in value if not (c.isalnum() or c in extra)})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise _refuse(what, value, f"holds {shown}: a {kind} is letters, digits and "
                                   f"{' '.join(sorted(extra))}")
    if not any(c.isalnum() for c in value):
        raise _refuse(what, value, f"has no letter or digit: not a {kind}")
    return value


def check_host_name(value: str, what: str = "host") -> str:
    """`value` if it can be a host name or address (%h, %n, HostKeyAlias); HostFailure if not."""
    return _check(value, what, _HOST_EXTRA, "host name")


def check_user(value: str, what: str = "user") -> str:
    """`value` if it can be a remote user name (%r); HostFailure (kind inventory) if not."""
    _check(value, what, _USER_EXTRA, "user name")
    if value.endswith("\\"):
        raise _refuse(what, value, "ends with a backslash: not a user name")
    return value


def check_port(value: str | int, what: str = "port") -> int:
    """`value` as a TCP port (digits only, 1-65535); HostFailure (kind inventory) if not."""
    text = str(value)
    if not is_number(text) or not 0 < int(text) < 65536:
        raise _refuse(what, text, "is not a port number (1-65535)")
    return int(text)
