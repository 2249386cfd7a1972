"""Value parsers shared by policy and waiver files: each takes (value, mark), raises InputError."""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from collections.abc import Callable
from typing import Any, TypeVar

from fleetcheck import services
from fleetcheck.addresses import ip_text, network_text
from fleetcheck.errors import InputError
from fleetcheck.model import EXPOSURES, Severity
from fleetcheck.numbers import is_number
from fleetcheck.policy.match import SCOPES, AddressSpec, TextSpec, merge_ranges
from fleetcheck.policy.problems import Problems
from fleetcheck.words import did_you_mean
from fleetcheck.yamlsrc import LocatedDict, LocatedList, Mark

T = TypeVar("T")
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_FAMILIES = {"4": 4, "6": 6, "ipv4": 4, "ipv6": 6, "inet": 4, "inet6": 6}


def as_list(value: Any) -> list[Any]:
    """A scalar as a one-item list; a list as itself."""
    return list(value) if isinstance(value, list) else [value]


def field(item: LocatedDict, key: str, parse: Callable[[Any, Mark], T],
          problems: Problems) -> tuple[bool, T | None]:
    """Parse `item[key]` if present: (ok, value); a failure is recorded, not raised.

    A key written without a value is a mistake, not an absent key: `hosts:` or
    `process:` left empty would otherwise widen a policy, rule or waiver silently.
    """
    if key not in item:
        return True, None
    if item[key] is None:
        problems.error(item.value_mark(key), f"{key!r} has no value (give it one, or remove "
                       "the key)")
        return False, None
    try:
        return True, parse(item[key], item.value_mark(key))
    except InputError as exc:
        problems.add(exc)
        return False, None


def ident(value: Any, mark: Mark) -> str:
    """An id or name: letters, digits, '-', '_' or '.', starting with a letter or digit."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not ID_RE.match(str(value)):
        raise mark.error(f"{value!r} is not a valid id (letters, digits, '-', '_' or '.')")
    return str(value)


def written_id(item: Any) -> str | None:
    """The valid `id` a mapping states, or None: the id of a rule or waiver even when another
    of its keys is wrong, so a duplicate of it is still found (validate reports every problem)."""
    value = item.get("id") if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int) or not ID_RE.match(str(value)):
        return None
    return str(value)


def text(value: Any, mark: Mark) -> str:
    """A non-empty string (a bare number, such as a ticket, is taken as its digits)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str) or not value.strip():
        raise mark.error(f"expected a non-empty string, not {value!r}")
    return value.strip()


def severity(value: Any, mark: Mark) -> Severity:
    """A severity word: critical, high, medium, low or info."""
    try:
        return Severity.parse(str(value))
    except ValueError:
        raise mark.error(f"unknown severity {value!r} (expected critical, high, medium, low or "
                         f"info){did_you_mean(str(value), [s.label for s in Severity])}") from None


def protos(value: Any, mark: Mark) -> frozenset[str] | None:
    """tcp, udp, any, or a list of them; None for any."""
    out = set()
    for v in as_list(value):
        word = str(v).lower()
        if word == "any":
            return None
        if word not in ("tcp", "udp"):
            raise mark.error(f"proto must be tcp, udp or any, not {v!r}"
                             f"{did_you_mean(str(v), ('tcp', 'udp', 'any'))}")
        out.add(word)
    if not out:
        raise mark.error("proto list is empty")
    return frozenset(out)


def port_range(value: Any, mark: Mark) -> tuple[int, int]:
    """An int port or 'LO-HI' range, each within 0..65535 and LO <= HI."""
    if isinstance(value, bool):
        raise mark.error(f"port must be a number or a range 'LO-HI', not {value!r}")
    if isinstance(value, int):
        lo = hi = value
    elif isinstance(value, str) and re.fullmatch(r"\s*[0-9]+\s*(-\s*[0-9]+\s*)?", value):
        words = [p.strip() for p in value.split("-")]
        if not all(is_number(w) for w in words):  # more digits than int() reads
            raise mark.error(f"port {value[:20]!r}… is out of range (0-65535)")
        parts = [int(w) for w in words]
        lo, hi = parts[0], parts[-1]
    else:
        raise mark.error(f"port must be a number or a range 'LO-HI', not {value!r}")
    for p in (lo, hi):
        if not 0 <= p <= 65535:
            raise mark.error(f"port {p} is out of range (0-65535)")
    if lo > hi:
        raise mark.error(f"port range {value!r} is backwards ({lo} > {hi})")
    return lo, hi


def ports(value: Any, mark: Mark) -> tuple[tuple[int, int], ...]:
    """A port, a range, a comma-separated string or a list of them; ranges merged and sorted."""
    items: list[Any] = []
    for v in as_list(value):
        if isinstance(v, str) and "," in v:
            items.extend(p.strip() for p in v.split(","))
        else:
            items.append(v)
    if not items:
        raise mark.error("port list is empty")
    return merge_ranges(port_range(v, mark) for v in items)


def service_names(value: Any, mark: Mark) -> tuple[tuple[str, ...], frozenset[tuple[str, int]]]:
    """Service names and the (proto, port) pairs they stand for; unknown names are errors."""
    names: list[str] = []
    pairs: set[tuple[str, int]] = set()
    for v in as_list(value):
        if not isinstance(v, str) or not v.strip():
            raise mark.error(f"service must be a name such as 'https', not {v!r}")
        found = services.resolve_service(v)
        if not found:
            raise mark.error(f"unknown service {v!r}: neither the shipped port table nor the "
                             "system's services database knows it"
                             f"{did_you_mean(v.lower(), services.known_service_names())}")
        names.append(v.strip())
        pairs |= found
    return tuple(names), frozenset(pairs)


def addresses(value: Any, mark: Mark) -> tuple[AddressSpec, ...]:
    """Addresses, CIDRs or scope words."""
    specs = []
    for v in as_list(value):
        word = str(v).strip()
        if word in SCOPES or word == "*":  # `*` as ss prints a wildcard bind
            specs.append(AddressSpec(scope="wildcard" if word == "*" else word))
        elif "/" in word:
            try:
                specs.append(AddressSpec(network=ipaddress.ip_network(word, strict=False)))
            except ValueError:
                raise mark.error(f"address {word!r} is not a valid network") from None
        else:
            try:
                specs.append(AddressSpec(literal=ip_text(ipaddress.ip_address(word.strip("[]")))))
            except ValueError:
                if re.fullmatch(r"[a-z-]+", word):
                    raise mark.error(f"unknown address scope {word!r} (expected an address, a "
                                     f"CIDR or one of {', '.join(SCOPES)})"
                                     f"{did_you_mean(word, SCOPES)}") from None
                raise mark.error(f"address {word!r} is not an IP address, CIDR or scope") \
                    from None
    if not specs:
        raise mark.error("address list is empty")
    return tuple(specs)


def warn_host_bits(value: Any, mark: Mark, problems: Problems) -> None:
    """Warn about each CIDR with host bits set (`10.0.0.1/8`): it stands for its network."""
    for n, v in enumerate(as_list(value)):
        word = str(v).strip()
        if "/" not in word:
            continue
        try:
            net = ipaddress.ip_network(word, strict=False)
            written = ipaddress.ip_interface(word).ip
        except ValueError:
            continue  # not a network at all: `addresses` says so
        if written != net.network_address:
            at = value.marks[n] if isinstance(value, LocatedList) else mark
            whole = network_text(net)
            problems.warn(at, f"address {word!r} has host bits set: it is read as the whole "
                              f"network {whole} (write {whole} for the network, or "
                              f"{ip_text(written)} for the one address)")


def families(value: Any, mark: Mark) -> frozenset[int]:
    """4, 6 (also ipv4/ipv6/inet/inet6) or a list of them."""
    out = set()
    for v in as_list(value):
        fam = _FAMILIES.get(str(v).lower())
        if fam is None or isinstance(v, bool):
            raise mark.error(f"family must be 4 or 6, not {v!r}")
        out.add(fam)
    if not out:
        raise mark.error("family list is empty")
    return frozenset(out)


def boolean(value: Any, mark: Mark) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise mark.error(f"expected true or false, not {value!r}")
    return value


def text_specs(value: Any, mark: Mark) -> tuple[TextSpec, ...]:
    """Names: exact, glob, or `~regex`; a bad regex is an error."""
    specs = []
    for item in as_list(value):
        # a uid written as a bare number is its digits
        v = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
        if not isinstance(v, str) or not v:
            raise mark.error(f"expected a name, glob or ~regex, not {v!r}")
        if v.startswith("~"):
            try:
                re.compile(v[1:])
            except re.error as exc:
                raise mark.error(f"bad regular expression {v[1:]!r}: {exc}") from None
        specs.append(TextSpec(v))
    if not specs:
        raise mark.error("list is empty")
    return tuple(specs)


# What no system's interface name holds: the separators of `addr%dev` and of paths, and
# white space (Linux refuses '/', ':' and blanks; ss and netstat print the name after '%').
_IFACE_BAD = re.compile(r"[\s/%]")


def interfaces(value: Any, mark: Mark) -> tuple[TextSpec, ...]:
    """Device names a socket is bound to: exact (`virbr0`; a bare number is a Windows
    interface index, as its zones show it), a glob (`veth*`) or `~regex`."""
    specs = text_specs(value, mark)
    for spec in specs:
        if not spec.text.startswith("~") and _IFACE_BAD.search(spec.text):
            raise mark.error(f"interface {spec.text!r} is not a device name (no spaces, "
                             "'/' or '%': write the name alone, such as 'eth0')")
    return specs


def hosts(value: Any, mark: Mark) -> str:
    """An Ansible host pattern, or a list of patterns/groups (their union)."""
    items = as_list(value)
    if not items or not all(isinstance(v, str) and v.strip() for v in items):
        raise mark.error("hosts must be an Ansible pattern or a list of groups")
    return ":".join(v.strip() for v in items)


def date(value: Any, mark: Mark) -> dt.date:
    """A calendar date written YYYY-MM-DD (quoted or not)."""
    if isinstance(value, dt.datetime):
        raise mark.error(f"expected a date (YYYY-MM-DD), not a time stamp {value}")
    if isinstance(value, dt.date):
        return value
    try:
        return parse_day(value.strip() if isinstance(value, str) else "")
    except ValueError:
        raise mark.error(f"expected a date (YYYY-MM-DD), not {value!r}") from None


def parse_day(text: str) -> dt.date:
    """A date written YYYY-MM-DD, and only so; ValueError otherwise.

    fromisoformat alone would also take 20301231 and week dates such as 2030-W01-1.
    """
    if not _DATE_RE.fullmatch(text):
        raise ValueError(f"not a date written YYYY-MM-DD: {text!r}")
    return dt.date.fromisoformat(text)


def _words(value: Any, mark: Mark, key: str, allowed: tuple[str, ...]) -> frozenset[str]:
    out = set()
    for v in as_list(value):
        if not isinstance(v, str) or v not in allowed:
            raise mark.error(f"{key} must be {' or '.join(allowed)}, not {v!r}"
                             f"{did_you_mean(str(v), allowed)}")
        out.add(v)
    if not out:
        raise mark.error(f"{key} list is empty")
    return frozenset(out)


NAMESPACES = ("host", "container")


def namespaces(value: Any, mark: Mark) -> frozenset[str]:
    """host (the host's own network namespace), container (any other), or both."""
    return _words(value, mark, "namespace", NAMESPACES)


def exposures(value: Any, mark: Mark) -> frozenset[str]:
    """host, published or container-only, or a list of them."""
    return _words(value, mark, "exposure", EXPOSURES)


CONTAINER_MODES = ("judge", "list")


def container_mode(value: Any, mark: Mark) -> str:
    """How a policy treats container-only listeners no rule decides: judge or list."""
    if value not in CONTAINER_MODES:
        raise mark.error(f"containers must be 'judge' or 'list', not {value!r}"
                         f"{did_you_mean(str(value), CONTAINER_MODES)}")
    return str(value)


# Where a listener is (docs/containers.md): the same keys in rules and waivers.
PLACE_PARSERS: dict[str, Callable[[Any, Mark], Any]] = {
    "namespace": namespaces,
    "container": text_specs,
    "image": text_specs,
    "pod": text_specs,
    "k8s_namespace": text_specs,
    "exposure": exposures,
}
