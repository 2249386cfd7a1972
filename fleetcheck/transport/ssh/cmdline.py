"""ssh's command-line options as a host's ssh arguments give them (ansible_ssh_common_args,
ansible_ssh_extra_args, Ansible's ssh_args), and ProxyJump hops as ssh reads them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from fleetcheck.errors import ErrorKind, HostFailure
from fleetcheck.numbers import is_number

# `-F FILE` in a host's ssh arguments: the ssh_config read instead of the usual files
# (ssh keeps the last -F; "none": no file). Kept out of the options a lookup is given.
CONFIG_FILE = "-F"
_OPTION_KEYS = {"-J": "proxyjump", "-i": "identityfile", "-p": "port", "-l": "user"}
# ssh's options that take an argument, those fleetcheck reads and those it ignores (ssh(1)).
FLAGS_WITH_ARG = frozenset("bcDEeIiLmOQRSWwBFJplo")


def _flags(args: Sequence[str]) -> Iterator[tuple[str, str]]:
    """(flag, value) for each ssh option in `args`: '-pVALUE' and '-p VALUE' alike."""
    i = 0
    while i < len(args):
        flag, value = args[i][:2], args[i][2:]
        if flag[:1] == "-" and flag[1:] in FLAGS_WITH_ARG and not value and i + 1 < len(args):
            i += 1
            value = args[i]
        i += 1
        yield flag, value


def config_file(args: Sequence[str]) -> str | None:
    """The file the last `-F` of ssh arguments names (ssh keeps the last), or None."""
    found = None
    for flag, value in _flags(args):
        if flag == CONFIG_FILE and value:
            found = value
    return found


def parse_ssh_args(args: Sequence[str]) -> dict[str, str | list[str]]:
    """The ssh command-line options fleetcheck honours (-o K=V, -J, -i, -p, -l) as config."""
    out: dict[str, str | list[str]] = {}
    for flag, given in _flags(args):
        key, value = None, given
        if flag == "-o":
            m = re.match(r"\s*([A-Za-z0-9]+)\s*(?:=|\s)\s*(.*)$", given, re.DOTALL)
            if m:
                key, value = m.group(1).lower(), m.group(2).strip()
        elif flag in _OPTION_KEYS:
            key = _OPTION_KEYS[flag]
        if key is None or not value:
            continue
        if key == "identityfile":
            files = out.setdefault("identityfile", [])
            assert isinstance(files, list)
            files.append(value)
        else:
            out.setdefault(key, value)
    return out


def parse_jump(hop: str) -> tuple[str | None, str, int | None]:
    """'[user@]host[:port]' or 'ssh://[user@]host[:port]' -> (user, host, port)."""
    text = hop.strip()
    if text.startswith("ssh://"):
        text = text[len("ssh://"):].rstrip("/")
    user, _, rest = text.rpartition("@")
    port: int | None = None
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        if tail.startswith(":"):
            port = _port(tail[1:], hop)
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
        port = _port(port_text, hop)
    else:
        host = rest
    if not host:
        raise HostFailure(ErrorKind.SSH_ERROR, f"ProxyJump {hop!r}: no host")
    return user or None, host, port


def _port(text: str, hop: str) -> int:
    if not is_number(text) or not 0 < int(text) < 65536:
        raise HostFailure(ErrorKind.SSH_ERROR, f"ProxyJump {hop!r}: bad port {text!r}")
    return int(text)
