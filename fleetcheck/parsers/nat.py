"""Which host ports reach into a container: DNAT rules, docker-proxy, a namespace's addresses.

Pure functions over text a host printed: `iptables-save` (and ip6tables-save),
`nft list ruleset`, docker-proxy's command lines, /proc/PID/net/fib_trie and if_inet6.
Rules are read word by word; a rule whose match this reader does not follow (a negated
port, a port set) is skipped rather than guessed.
"""

from __future__ import annotations

import ipaddress

from fleetcheck.addresses import ip_text
from fleetcheck.frozen import frozen
from fleetcheck.numbers import is_number
from fleetcheck.parsers.common import lines


@frozen
class Forward:
    """Host ports `lo`..`hi` of `proto` forwarded to `address`, from port `to` on."""

    proto: str  # tcp | udp
    lo: int
    hi: int
    address: str  # the destination, normalised (no brackets)
    to: int | None  # the first destination port; None: the same port

    def host_port(self, address: str, port: int) -> int | None:
        """The host port that reaches `address`:`port`, if this forward does."""
        if address != self.address:
            return None
        if self.to is None:
            return port if self.lo <= port <= self.hi else None
        offset = port - self.to
        return self.lo + offset if 0 <= offset <= self.hi - self.lo else None


def _ip(text: str) -> str | None:
    try:
        return ip_text(ipaddress.ip_address(text.strip("[]")))
    except ValueError:
        return None


def _ports(text: str) -> tuple[int, int] | None:
    """'80', '8000:8010' or '8000-8010'."""
    for sep in (":", "-"):
        if sep in text:
            lo, _, hi = text.partition(sep)
            break
    else:
        lo = hi = text
    if not (is_number(lo) and is_number(hi)):
        return None
    a, b = int(lo), int(hi)
    return (a, b) if 0 < a <= b <= 65535 else None


def _destination(text: str) -> tuple[str, int | None] | None:
    """'172.17.0.2:80', '172.17.0.2', '[fd00::2]:80', 'fd00::2' (no port), ranges' first port."""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    ip = _ip(host)
    if ip is None:
        return None
    if not port_text:
        return ip, None
    ports = _ports(port_text)
    return (ip, ports[0]) if ports else None


def parse_iptables_save(body: str) -> list[Forward]:
    """DNAT rules of `iptables-save` (the nat table's): '-p tcp ... --dport 8080 -j DNAT
    --to-destination 172.17.0.2:80'. A rule without a port (or with a negated one) is
    skipped: it does not say which host port reaches the container."""
    out = []
    for line in lines(body):
        words = line.split()
        if not words or words[0] != "-A" or "DNAT" not in words:
            continue
        proto = dport = dest = None
        for i, word in enumerate(words[:-1]):
            nxt = words[i + 1]
            negated = i > 0 and words[i - 1] == "!"
            if word in ("-p", "--protocol") and not negated:
                proto = nxt.lower()
            elif word in ("--dport", "--destination-port") and not negated:
                dport = _ports(nxt)
            elif word == "--to-destination":
                dest = _destination(nxt)
        if proto in ("tcp", "udp") and dport and dest:
            out.append(Forward(proto, dport[0], dport[1], dest[0], dest[1]))
    return out


def parse_nft(body: str) -> list[Forward]:
    """DNAT rules of `nft list ruleset`: '... tcp dport 8080 ... dnat ip to 10.88.0.2:80'
    (also `th dport` after `meta l4proto tcp`, and `dnat to`)."""
    out = []
    for line in lines(body):
        words = line.split()
        if "dnat" not in words:
            continue
        proto = dport = dest = None
        for i, word in enumerate(words[:-1]):
            nxt = words[i + 1]
            if word in ("tcp", "udp", "th") and nxt == "dport" and i + 2 < len(words):
                if words[i + 2] != "!=":
                    dport = _ports(words[i + 2])
                if word != "th":
                    proto = word
            elif word == "l4proto" and nxt in ("tcp", "udp"):
                proto = nxt
            elif word == "dnat":
                rest = words[i + 1:]
                if rest[:1] in (["ip"], ["ip6"]):
                    rest = rest[1:]
                if len(rest) >= 2 and rest[0] == "to":
                    dest = _destination(rest[1])
        if proto in ("tcp", "udp") and dport and dest:
            out.append(Forward(proto, dport[0], dport[1], dest[0], dest[1]))
    return out


def parse_docker_proxy(body: str) -> list[Forward]:
    """docker-proxy command lines ('-proto tcp -host-port 8080 -container-ip 172.17.0.2
    -container-port 80'), one a line."""
    out = []
    for line in lines(body):
        words = line.split()
        opts = {w.lstrip("-"): words[i + 1] for i, w in enumerate(words[:-1])
                if w.startswith("-")}
        proto = opts.get("proto", "").lower()
        host = _ports(opts.get("host-port", ""))
        ip = _ip(opts.get("container-ip", ""))
        to = _ports(opts.get("container-port", ""))
        if proto in ("tcp", "udp") and host and ip and to:
            out.append(Forward(proto, host[0], host[0], ip, to[0]))
    return out


def parse_addresses(body: str) -> set[str]:
    """A namespace's own addresses: LOCAL entries of /proc/PID/net/fib_trie (IPv4) and the
    rows of /proc/PID/net/if_inet6 (32 hex digits, then the index and the name)."""
    out: set[str] = set()
    last: str | None = None
    for line in lines(body):
        words = line.split()
        if len(words) >= 2 and words[-2] == "|--":
            last = _ip(words[-1])
        elif words[-2:] == ["host", "LOCAL"] and last is not None:
            out.add(last)
        elif len(words) == 6 and len(words[0]) == 32:
            try:
                out.add(ip_text(ipaddress.IPv6Address(int(words[0], 16))))
            except ValueError:
                continue
    return out
