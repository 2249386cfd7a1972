"""Which of the ssh arguments configuration gives (ssh_args, ssh_common_args,
ssh_extra_args) fleetcheck's SSH honours, so the others can be reported as ignored, once.

fleetcheck's SSH reads `-o` options, `-J`, `-i`, `-p`, `-l` and `-F` (see docs/ssh.md);
OpenSSH client features such as compression or connection sharing (`-C`,
`ControlMaster`) mean nothing for its connection.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Sequence

from fleetcheck.transport.ssh.cmdline import FLAGS_WITH_ARG

# The -o options fleetcheck's SSH reads (kept equal to transport/ssh/target.py by a test).
HONOURED_OPTIONS = frozenset((
    "certificatefile", "connecttimeout", "globalknownhostsfile", "hashknownhosts",
    "hostkeyalgorithms", "hostkeyalias", "hostname", "identitiesonly", "identityagent",
    "identityfile", "kbdinteractiveauthentication", "passwordauthentication", "port",
    "proxycommand", "proxyjump", "pubkeyacceptedalgorithms", "pubkeyauthentication",
    "stricthostkeychecking", "user", "userknownhostsfile",
))
_HONOURED_FLAGS = ("-J", "-i", "-p", "-l", "-F")
_OPTION = re.compile(r"\s*([A-Za-z0-9]+)\s*(?:=|\s)")


def ignored(args: Sequence[str], *, names_only: bool = False) -> list[str]:
    """The arguments (as written) fleetcheck's SSH does not use; with `names_only` just the
    flag or option name (`-o ControlMaster`), never a value that could be a secret."""
    out: list[str] = []
    i = 0
    while i < len(args):
        word = args[i]
        flag, value = word[:2], word[2:]
        if flag[:1] == "-" and flag[1:] in FLAGS_WITH_ARG and not value \
                and i + 1 < len(args):
            i += 1
            value = args[i]
            word = f"{word} {value}"
        i += 1
        m = _OPTION.match(value + " ") if flag == "-o" else None
        if (m and m.group(1).lower() in HONOURED_OPTIONS) or flag in _HONOURED_FLAGS:
            continue
        if names_only:
            word = f"-o {m.group(1)}" if m else flag if flag[:1] == "-" else "(an argument)"
        out.append(word)
    return out


def hosts_note(hosts: Sequence[tuple[str, Sequence[str]]], given: Sequence[str]) -> list[str]:
    """A warning per set of ignored arguments the hosts' own variables (ansible_ssh_args,
    ansible_ssh_common_args, ansible_ssh_extra_args) give, naming a few hosts; `given`: what
    configuration gave, whose ignored arguments were warned about already. Option names
    only: values may be secrets."""
    known = set(ignored(given, names_only=True))
    groups: dict[tuple[str, ...], list[str]] = {}
    for name, args in hosts:
        words = tuple(dict.fromkeys(w for w in ignored(args, names_only=True) if w not in known))
        if words:
            groups.setdefault(words, []).append(name)
    notes = []
    for words, names in groups.items():
        more = f" and {len(names) - 3} more" if len(names) > 3 else ""
        notes.append(f"ssh arguments of {', '.join(names[:3])}{more}: fleetcheck's SSH ignores "
                     f"{', '.join(words)} (OpenSSH client features it does not use)")
    return notes


def ignored_note(text: str | None, where: str) -> str | None:
    """A warning naming the ignored arguments of one setting's value (None when none are)."""
    if not text:
        return None
    try:
        words = shlex.split(text)
    except ValueError:
        return None  # planning reports arguments that cannot be split, naming the setting
    skipped = ignored(words)
    if not skipped:
        return None
    return (f"{where}: fleetcheck's SSH ignores {', '.join(skipped)} (OpenSSH client features "
            "it does not use)")
