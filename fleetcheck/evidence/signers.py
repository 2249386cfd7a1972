"""OpenSSH allowed_signers files (ssh-keygen(1), ALLOWED SIGNERS): who may sign, with which key,
for which namespaces, and when. Lines are `principals [options] keytype base64-key [comment]`."""

from __future__ import annotations

import base64
import datetime as dt
import re
import struct
from pathlib import Path

from fleetcheck.sshlib import paramiko  # noqa: F401  (how paramiko loads)

from paramiko.message import Message

from fleetcheck.bounded import MAX_LIST_BYTES, read_bounded
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.textfile import utf8_lines

_KEY_TYPE = re.compile(r"^(ssh-(ed25519|rsa|dss|ed448)|ecdsa-sha2-nistp\d+|"
                       r"sk-(ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)"
                       r"(-cert-v01@openssh\.com)?$")
_TOKEN = re.compile(r'(?:[^\s"]|"[^"]*")+')
_TIME = re.compile(r"^(\d{8})(\d{4}(\d{2})?)?(Z?)$")


def _pattern(text: str) -> tuple[bool, re.Pattern[str]]:
    negated = text.startswith("!")
    body = text[1:] if negated else text
    rx = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in body)
    return negated, re.compile(rx, re.DOTALL)


def matches(pattern_list: str, name: str) -> bool:
    """OpenSSH's pattern-list match (case-sensitive): a positive pattern matches and no
    negated one does."""
    found = False
    for negated, rx in (_pattern(p) for p in pattern_list.split(",") if p):
        if rx.fullmatch(name):
            if negated:
                return False
            found = True
    return found


def _time(value: str, path: str, line: int) -> dt.datetime:
    m = _TIME.match(value)
    if m is None:
        raise InputError(f"bad timestamp {value!r} (YYYYMMDD[HHMM[SS]][Z])", path, line)
    text = m.group(1) + (m.group(2) or "0000")
    text += "" if m.group(3) else "00"
    try:
        when = dt.datetime.strptime(text, "%Y%m%d%H%M%S")
        # Without Z the time is local, as for ssh-keygen.
        return when.replace(tzinfo=dt.UTC) if m.group(4) else when.astimezone()
    except (ValueError, OverflowError):  # 20300230, month 13, year 0, local year 1 before UTC
        raise InputError(f"bad timestamp {value!r}: no such time", path, line) from None


@frozen
class AllowedSigner:
    """One line of an allowed_signers file."""

    principals: str  # pattern-list
    key: bytes  # SSH wire encoding
    line: int
    cert_authority: bool = False
    namespaces: str | None = None  # pattern-list; None: any
    valid_after: dt.datetime | None = None
    valid_before: dt.datetime | None = None

    def refusal(self, namespace: str, now: dt.datetime, identity: str | None) -> str | None:
        """Why this line does not let its key sign `namespace` now (as `identity`), or None."""
        # As OpenSSH: whole seconds, valid from valid-after through valid-before inclusive.
        now = now.replace(microsecond=0)
        if self.namespaces is not None and not matches(self.namespaces, namespace):
            return f"its namespaces={self.namespaces!r} exclude {namespace!r}"
        if self.valid_after is not None and now < self.valid_after:
            return f"it is valid only after {self.valid_after.isoformat()}"
        if self.valid_before is not None and now > self.valid_before:
            return f"it was valid only before {self.valid_before.isoformat()}"
        if identity is not None and not matches(self.principals, identity):
            return f"its principals {self.principals!r} do not include {identity!r}"
        return None


_FLAGS = ("cert-authority",)
_VALUED = ("namespaces", "valid-after", "valid-before")


def _options(text: str, path: str, line: int) -> dict[str, str | None]:
    """The options as OpenSSH reads them: names in any case, a value always in double quotes
    (`namespaces=git` is refused), each option once, separated by commas."""
    out: dict[str, str | None] = {}
    pos = 0
    while pos < len(text):
        rest = text[pos:]
        name = next((n for n in (*_FLAGS, *_VALUED) if rest[:len(n)].lower() == n), None)
        if name is None:
            raise InputError(f"unknown option {rest.split(',')[0][:40]!r}", path, line)
        if name in out:
            raise InputError(f"the option {name!r} is given twice", path, line)
        pos += len(name)
        value = None
        if name in _VALUED:
            if text[pos:pos + 2] != '="':
                raise InputError(f'{name} needs a value in double quotes ({name}="...")',
                                 path, line)
            close = text.find('"', pos + 2)
            if close < 0:
                raise InputError(f"the value of {name} has no closing quote", path, line)
            value, pos = text[pos + 2:close], close + 1
        out[name] = value
        if pos < len(text):
            if text[pos] != ",":
                raise InputError(f"unknown option {text[pos - len(name):][:40]!r}", path,
                                 line)
            pos += 1
    return out


def parse(text: str, path: str) -> list[AllowedSigner]:
    """The lines of an allowed_signers file; InputError naming file:line for a bad one."""
    out = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        tokens = _TOKEN.findall(line)
        if len(tokens) < 3:
            raise InputError("expected 'principals [options] keytype base64-key'", path, n)
        principals, rest = tokens[0].strip('"'), tokens[1:]
        options: dict[str, str | None] = {}
        if not _KEY_TYPE.match(rest[0]):
            options = _options(rest[0], path, n)
            rest = rest[1:]
        if len(rest) < 2 or not _KEY_TYPE.match(rest[0]):
            raise InputError(f"no key type where one was expected in {line[:60]!r}", path, n)
        try:
            key = base64.b64decode(rest[1], validate=True)
            if Message(key).get_text() != rest[0]:
                raise ValueError("the key's own type differs")
        except (ValueError, struct.error, IndexError, UnicodeDecodeError):
            raise InputError(f"the {rest[0]} key is not valid base64 SSH key data", path,
                             n) from None
        after = _time(options["valid-after"] or "", path, n) if "valid-after" in options \
            else None
        before = _time(options["valid-before"] or "", path, n) if "valid-before" in options \
            else None
        out.append(AllowedSigner(principals, key, n, "cert-authority" in options,
                                 options.get("namespaces"), after, before))
    return out


def load(path: Path, shown: str | None = None) -> list[AllowedSigner]:
    """Read an allowed_signers file; InputError when it is unreadable or malformed."""
    name = shown or str(path)
    raw = read_bounded(str(path), MAX_LIST_BYTES, "allowed signers", name)
    # ssh-keygen reads bytes: any byte goes in a comment; elsewhere we need text (UTF-8).
    lines = utf8_lines(raw, name, lambda line: line.lstrip(b" \t").startswith(b"#"))
    return parse("\n".join(lines), name)
