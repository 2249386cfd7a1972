"""ssh_config line syntax as OpenSSH reads it (readconf.c): words, quotes, values.

Every check here is made on every line, whether or not its block applies to the
host at hand, because ssh refuses such a file for every host; the lookup in
`config` only decides which of the checked values apply.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable

from fleetcheck.errors import InputError
from fleetcheck.numbers import is_number
from fleetcheck.transport.ssh.algorithms import ALGORITHM_KEYWORDS, valid

_TRAILING = " \t\r\n\f"
_KEYWORD = re.compile(r"[a-z0-9]+")
_BLANK = " \t\r\n"
FLAG = ("yes", "no", "true", "false")
# ssh's own value sets (multistate tables), compared without regard to case.
_CHOICES: dict[str, tuple[str, ...]] = {
    "identitiesonly": FLAG, "batchmode": FLAG, "hashknownhosts": FLAG,
    "passwordauthentication": FLAG, "kbdinteractiveauthentication": FLAG,
    "pubkeyauthentication": (*FLAG, "unbound", "host-bound"),
    "stricthostkeychecking": (*FLAG, "ask", "off", "accept-new"),
}
# Keywords taking exactly one word (quotes removed); more is an error, as in ssh.
SINGLE = frozenset({"hostname", "user", "port", "identityfile", "certificatefile",
                    "hostkeyalias", "identityagent", "connecttimeout", "connectionattempts",
                    *ALGORITHM_KEYWORDS, *_CHOICES})
# Keywords taking a list of words whose first occurrence wins ("none" only alone).
ARRAY = frozenset({"userknownhostsfile", "globalknownhostsfile"})
# Keywords whose value is the rest of the line as written (ssh does not split it).
RAW = frozenset({"proxycommand", "proxyjump"})


def where(origin: str) -> tuple[str, int]:
    """'path:line' -> (path, line), for InputError."""
    path, _, line = origin.rpartition(":")
    return path, int(line)


def fail(message: str, origin: str) -> InputError:
    """An InputError naming the file and line `origin` ('path:line')."""
    return InputError(message, *where(origin))


def split_keyword(line: str, origin: str) -> tuple[str, str] | None:
    """'Keyword value', 'Keyword=value', 'Keyword = value' -> (keyword lower-case, rest);
    None for a blank or comment line; InputError when nothing follows the keyword."""
    text = line.rstrip(_TRAILING).lstrip(_BLANK)
    if not text or text.startswith("#"):
        return None
    first = _strdelim(text)
    if first is not None and not first[0]:  # '=User x', '"" User x': ssh takes the next word
        first = _strdelim(first[1])
    if first is None or not first[0] or first[0].startswith("#"):
        return None  # as ssh: an unclosed quote in the keyword, or no keyword, skips the line
    keyword, rest = first[0].lower(), first[1]
    if not _KEYWORD.fullmatch(keyword):
        # Unknown keywords are let by (a newer ssh's), but no ssh has one that is not letters
        # and digits: such a line is a damaged one, and every ssh refuses the file for it.
        if keyword.startswith("\ufeff"):
            raise fail("the file starts with a UTF-8 byte order mark, which ssh refuses "
                       "(Bad configuration option): save it without one", origin)
        raise fail(f"Bad configuration option: {keyword!r} (no ssh keyword is written so)",
                   origin)
    if not rest:
        raise fail(f"{keyword}: missing argument", origin)
    return keyword, rest


def _strdelim(text: str) -> tuple[str, str] | None:
    """OpenSSH's strdelim (misc.c) on `text`: its first word and the rest of the line; None
    for an unclosed quote. A word ends at a blank, '=' or '"'; a '"' there opens a quote
    (dropped) that the next '"' closes; after a word the blanks and at most one '=' (with
    blanks around it) are skipped, after a quote only the blanks."""
    at = next((i for i, c in enumerate(text) if c in _BLANK + '"='), None)
    if at is None:
        return text, ""
    if text[at] == '"':
        body = text[:at] + text[at + 1:]
        close = body.find('"', at)
        return None if close < 0 else (body[:close], body[close + 1:].lstrip(_BLANK))
    after = text[at + 1:].lstrip(_BLANK)
    if text[at] != "=" and after.startswith("="):
        after = after[1:].lstrip(_BLANK)
    return text[:at], after


def split_words(text: str, origin: str) -> list[str]:
    """The words of `text` as ssh splits them (argv_split): blanks separate, '…' and "…"
    quote, a backslash escapes a quote, a backslash or (unquoted) a space, and a word
    starting with '#' ends the line. InputError for an unclosed quote."""
    words: list[str] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] in " \t":
            i += 1
            continue
        if text[i] == "#":
            break
        word: list[str] = []
        quote = ""
        while i < n:
            c = text[i]
            nxt = text[i + 1] if i + 1 < n else ""
            if c == "\\" and (nxt in ("'", '"', "\\") or (not quote and nxt == " ")):
                word.append(nxt)
                i += 2
                continue
            if not quote and c in " \t":
                break
            if not quote and c in "'\"":
                quote = c
            elif quote and c == quote:
                quote = ""
            else:
                word.append(c)
            i += 1
        if quote:
            raise fail("unbalanced quotes", origin)
        words.append("".join(word))
    return words


def parse_port(text: str) -> int | None:
    """A port as ssh reads one (a2port): 1-65535 or a service name; None if not."""
    digits = text[1:] if text[:1] == "+" else text
    if is_number(digits):
        port = int(digits)
        return port if 0 < port < 65536 else None
    try:
        port = socket.getservbyname(text, "tcp")
    except (OSError, ValueError):  # ValueError: a NUL or a lone surrogate in the name
        return None
    return port or None


def parse_time(text: str) -> int | None:
    """Seconds from ssh's time format ('90', '1m30s', '2h'); None if it is not one."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    total, number = 0, ""
    for c in text:
        if c.isascii() and c.isdigit():
            number += c
            if len(number) > 18:  # past any time ssh takes (and int()'s digit limit)
                return None
        elif number and c.lower() in units:
            total += int(number) * units[c.lower()]
            number = ""
        else:
            return None
    total += int(number or 0)
    return total if text and total < 2**31 else None


def _int(text: str) -> bool:
    body = text[1:] if text[:1] in "+-" else text
    return is_number(body) and -(2**31) <= int(text) < 2**31


def _check_jump(value: str) -> bool:
    """ssh's ProxyJump syntax: 'none' or hops '[user@]host[:port]' / 'ssh://…', comma-separated."""
    if value.lower() == "none":
        return True
    for hop in value.split(","):
        text = hop
        if text.startswith("ssh://"):
            text = text[len("ssh://"):].removesuffix("/")
        user, at, rest = text.rpartition("@")
        if at and not user:
            return False
        if rest.startswith("["):
            host, close, tail = rest[1:].partition("]")
            port = tail[1:] if tail.startswith(":") else None
            if not close or (tail and port is None):
                return False
        else:
            host, colon, port_text = rest.partition(":")
            port = port_text if colon else None
            if "/" in rest:
                return False
        if not host or (port is not None and parse_port(port) is None):
            return False
    return True


def _time(text: str) -> bool:
    return text == "none" or parse_time(text) is not None


def _port(text: str) -> bool:
    return parse_port(text) is not None


_CHECKS: dict[str, Callable[[str], bool]] = {"port": _port, "connecttimeout": _time,
                                              "connectionattempts": _int,
                                              **dict.fromkeys(ALGORITHM_KEYWORDS, valid)}


def check_value(key: str, words: list[str], rest: str, origin: str) -> None:
    """InputError where ssh refuses this keyword's value (checked on every line)."""
    if key in SINGLE:
        if not words or not words[0]:
            raise fail(f"{key}: missing argument", origin)
        if len(words) > 1:
            raise fail(f"{key}: expects one argument, got {len(words)}", origin)
        value = words[0]
        check = _CHECKS.get(key)
        ok = check(value) if check else value.lower() in _CHOICES.get(key, (value.lower(),))
        if not ok:
            raise fail(f"{key}: bad value {value!r}", origin)
    elif key in ARRAY:
        if not words or any(not w for w in words):
            raise fail(f"{key}: missing or empty argument", origin)
        if len(words) > 1 and any(w.lower() == "none" for w in words):
            raise fail(f'{key}: "none" must appear alone', origin)
    elif key == "proxyjump":
        if not words:
            raise fail("proxyjump: missing argument", origin)
        if not _check_jump(jump_value(rest)):
            raise fail(f"invalid ProxyJump {jump_value(rest)!r}", origin)
    elif key in ("host", "include") and any(not w for w in words):
        raise fail(f"{key}: empty argument", origin)


def jump_value(rest: str) -> str:
    """A ProxyJump value as ssh keeps it: the line's text up to a '#', blanks trimmed."""
    return rest.partition("#")[0].strip(_BLANK)
