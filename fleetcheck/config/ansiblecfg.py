"""ansible.cfg, found and read as ansible-core finds and reads it.

The first of `$ANSIBLE_CONFIG` (a directory means its ansible.cfg), `./ansible.cfg`
(skipped, with Ansible's warning, when the working directory is world-writable),
`~/.ansible.cfg` and `/etc/ansible/ansible.cfg` that exists and is readable is the
one file read. It is INI as Python's configparser reads it (`;` starts an inline
comment, values raw). A key fleetcheck does not know in a section it reads is left to
Ansible — unless it is close to a key fleetcheck reads and is no key of ansible-core's
either: then it is a typo, and a located error with a did-you-mean.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources

from fleetcheck.bounded import MAX_LIST_BYTES, read_bounded
from fleetcheck.config.settings import SETTINGS
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.textfile import UTF8_BOM, UTF16_BOMS
from fleetcheck.words import did_you_mean

SYSTEM_CONFIG = "/etc/ansible/ansible.cfg"
_KEY_LINE = re.compile(r"^([^=:\s;#][^=:]*?)\s*[=:]")
_SECTION_LINE = re.compile(r"^\[([^\]]+)\]")


@frozen
class IniValue:
    """One value of ansible.cfg and where it was written."""

    text: str
    path: str
    line: int
    section: str
    key: str

    @property
    def origin(self) -> str:
        """'ansible.cfg:3 [defaults] remote_user'."""
        return f"{self.path}:{self.line} [{self.section}] {self.key}"

    def error(self, message: str) -> InputError:
        """A located error about this value."""
        return InputError(f"[{self.section}] {self.key}: {message}", self.path, self.line)


@dataclass
class AnsibleCfg:
    """The ansible.cfg in use: its path and the values fleetcheck reads from it."""

    path: str
    values: dict[tuple[str, str], IniValue] = field(default_factory=dict)


def find(environ: Mapping[str, str], cwd: str) -> tuple[str | None, list[str]]:
    """The ansible.cfg ansible-core would use (None: none), and warnings about the search."""
    candidates: list[str] = []
    from_env = environ.get("ANSIBLE_CONFIG")
    if from_env is not None:
        path = os.path.normpath(os.path.join(cwd, os.path.expanduser(from_env)))
        candidates.append(os.path.join(path, "ansible.cfg") if os.path.isdir(path) else path)
    public = False
    here = os.path.join(cwd, "ansible.cfg")
    try:
        if os.stat(cwd).st_mode & stat.S_IWOTH:
            public = os.path.exists(here)
        else:
            candidates.append(here)
    except OSError:
        pass
    home = environ.get("HOME") or os.path.expanduser("~")
    candidates += [os.path.join(home, ".ansible.cfg"), SYSTEM_CONFIG]
    found = next((p for p in candidates if os.path.exists(p) and os.access(p, os.R_OK)), None)
    warnings = []
    if public and (from_env is None or found != candidates[0]):
        warnings.append(f"Ansible is being run in a world writable directory ({cwd}), ignoring "
                        "it as an ansible.cfg source")
    return found, warnings


def read(path: str) -> AnsibleCfg:
    """The values of the sections fleetcheck reads; InputError at the line for bad INI."""
    import configparser  # here: most runs find no ansible.cfg, and it takes a few ms to load

    raw = read_bounded(path, MAX_LIST_BYTES, "ansible.cfg")
    text = raw.decode("utf-8", "surrogateescape")  # ansible-core takes any byte in a value
    parser = configparser.ConfigParser(inline_comment_prefixes=(";",))
    try:
        parser.read_string(text, source=path)
    except configparser.Error as exc:
        line = getattr(exc, "lineno", None)
        message = str(exc).splitlines()[0]
        # ansible-core refuses these too, with the same words: say what the eye cannot see
        if raw.startswith(UTF16_BOMS):
            message += " (the file is UTF-16 text: save it as UTF-8)"
        elif raw.startswith(UTF8_BOM):
            message += (" (the file starts with a UTF-8 byte order mark, which ansible-core "
                        "reads as text: save it without one)")
        raise InputError(f"cannot read ansible.cfg: {message}", path, line) from None
    lines = _key_lines(text)
    own = configparser.RawConfigParser(inline_comment_prefixes=(";",),
                                       default_section="\0")  # [DEFAULT] as any section
    own.read_string(text, source=path)
    cfg = AnsibleCfg(path)
    wanted = {entry for s in SETTINGS for entry in s.ini}
    for section in parser.sections():
        if section not in {sec for sec, _ in wanted}:
            continue
        for key in parser.options(section):  # with [DEFAULT]'s, as ansible-core reads them
            written = section if own.has_option(section, key) else parser.default_section
            value = IniValue(parser.get(section, key, raw=True), path,
                             lines.get((written, key), 0), written, key)
            if (section, key) in wanted:
                cfg.values[(section, key)] = value
            elif written == section:
                _check_typo(value, [k for sec, k in wanted if sec == section])
    return cfg


def _key_lines(text: str) -> dict[tuple[str, str], int]:
    """Where each (section, key) is written (configparser keeps no line numbers).

    As configparser reads lines: a header or key may be indented (an editor's tab), and a
    line indented deeper than the key above it continues that key's value (even after a
    blank line), whatever it looks like."""
    out: dict[tuple[str, str], int] = {}
    section = ""
    key_indent: int | None = None  # the indentation of the key whose value may go on
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        indent = len(line) - len(line.lstrip())
        if key_indent is not None and indent > key_indent:
            continue
        m = _SECTION_LINE.match(stripped)
        if m:
            section, key_indent = m.group(1).strip(), None
            continue
        m = _KEY_LINE.match(stripped)
        if m:
            out.setdefault((section, m.group(1).strip().lower()), number)
            key_indent = indent
    return out


def ansible_keys() -> frozenset[tuple[str, str]]:
    """The (section, key)s ansible-core 2.19 defines in the sections fleetcheck reads."""
    text = resources.files("fleetcheck").joinpath("data/ansible_cfg_keys.txt").read_text("utf-8")
    return frozenset(tuple(line.split()) for line in text.splitlines()  # type: ignore[misc]
                     if line.strip() and not line.startswith("#"))


def _check_typo(value: IniValue, read_here: list[str]) -> None:
    """A located error for a key that is a typo of one fleetcheck reads (and no Ansible key)."""
    if (value.section, value.key) in ansible_keys():
        return
    hint = did_you_mean(value.key, read_here)
    if hint:
        raise value.error(f"unknown key{hint} (neither ansible-core nor fleetcheck knows it)")
