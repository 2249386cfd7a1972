"""Natural order for host names: 'web2' before 'web10', IP addresses numerically.

Every list of hosts fleetcheck makes (reports, the fleet view, grouped findings) uses it;
only listings whose order is Ansible's contract (`inventory --list-hosts`) keep Ansible's.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from functools import lru_cache

from fleetcheck.numbers import is_number

_DIGITS = re.compile(r"([0-9]+)")  # ASCII digits: what a reader sees as a number


_IP_CHARS = frozenset("0123456789abcdefABCDEF.:%")


@lru_cache(maxsize=1 << 16)  # the same names are sorted again and again, in every section
def natural_key(name: str) -> tuple[object, ...]:
    """Sort key: IP addresses numerically (v4 before v6), other names with digit runs as
    numbers ('web2' before 'web10'); ties broken by the text itself, so the order is total."""
    try:
        if not (name and _IP_CHARS.issuperset(name)):  # cheap: most names are no address
            raise ValueError(name)
        ip = ipaddress.ip_address(name)
    except ValueError:
        parts = tuple((0, int(p), p) if is_number(p) else (1, 0, p.lower())
                      for p in _DIGITS.split(name) if p)
        return (1, parts, name)
    return (0, (ip.version, int(ip)), name)


def natural_sorted(names: Iterable[str]) -> list[str]:
    """`names` in natural order."""
    return sorted(names, key=natural_key)


