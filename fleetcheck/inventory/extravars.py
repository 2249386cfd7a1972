"""`-e/--extra-vars` read as ansible-core reads them: the variables that win over all others.

Each `-e` is one of: `@FILE` (a YAML or JSON mapping, vault-encrypted or not), inline
YAML/JSON starting with `{` or `[`, or `key=value` words (quotes, `{{ }}` blocks and
backslash escapes kept together as in Ansible's argument splitter; values stay text).
Later `-e` replace earlier ones key by key. A word without `=` is kept under
`_raw_params`, as Ansible keeps it. The values override every inventory variable of
every host (connection variables included); `origins` says where each was given, so
an unusable value is an error naming its `-e` (or its file:line).
"""

from __future__ import annotations

import codecs
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import field
from typing import Any

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.inventory.datafile import LocDict, load_data, load_file
from fleetcheck.inventory.values import Origin, check_depth
from fleetcheck.inventory.vault import Keyring
from fleetcheck.jsontext import replaced

_ESCAPE = re.compile(r"\\U[0-9a-fA-F]{8}|\\u[0-9a-fA-F]{4}|\\x[0-9a-fA-F]{2}|\\N\{[^}]+\}"
                     r"|\\[\\'\"abfnrtv]")
_BLOCKS = (("{{", "}}"), ("{%", "%}"), ("{#", "#}"))


@frozen
class ExtraVars:
    """The merged extra variables and where each one was given ('-e #2', 'file:line:col')."""

    values: Mapping[str, Any] = field(default_factory=dict, repr=False)  # may hold secrets
    origins: Mapping[str, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.values)


def read_extra_vars(args: Sequence[str], cwd: str, keyring: Keyring | None = None) -> ExtraVars:
    """Every `-e` in order, merged (a later key replaces an earlier one); InputError naming
    the `-e` for anything Ansible refuses. `@FILE` paths are relative to `cwd`."""
    values: dict[str, Any] = {}
    origins: dict[str, str] = {}
    for number, arg in enumerate(args, 1):
        where = f"-e #{number}"
        if not arg:
            continue
        if arg.startswith("@"):
            path = os.path.join(cwd, os.path.expanduser(arg[1:]))
            try:
                data = load_file(path, keyring)
            except InputError as exc:
                if exc.line is not None:  # located inside the file: the file says it all
                    raise
                raise InputError(f"{where}: {exc.message}", exc.path) from None
            where = path
        elif arg[0] in "/.":
            raise InputError(f"{where}: a file of extra vars is written @{arg}")
        elif arg[0] in "[{":
            data = load_data(arg, where, keyring)
        else:
            data = parse_kv(arg, where)
        if not isinstance(data, dict):
            raise InputError(f"{where}: extra vars must be a mapping (key=value words, a YAML "
                             "or JSON mapping, or @FILE holding one)")
        for key, value in data.items():
            # An argument's undecodable bytes (or a \\ud800 escape in a key=value word) are
            # half a UTF-16 pair, which no report or connection can carry: "?", as Ansible
            # displays them.
            name = replaced(str(key), "?")
            shown = replaced(value, "?")
            values[name] = value if shown == value else shown  # located mappings kept
            at = data.where(key) if isinstance(data, LocDict) else Origin(where)
            check_depth(name, value, at)
            origins[name] = str(at) if isinstance(data, LocDict) else where
    return ExtraVars(values, origins)


def parse_kv(text: str, where: str) -> dict[str, str]:
    """`key=value` words as text (Ansible's parse_kv): escapes decoded, quotes removed; words
    without an unescaped `=` are joined under `_raw_params`."""
    options: dict[str, str] = {}
    raw: list[str] = []
    for word in split_args(text, where):
        decoded = _ESCAPE.sub(lambda m: codecs.decode(m.group(0), "unicode-escape"), word)
        pos = _unescaped_equals(decoded)
        if pos is None:
            raw.append(decoded.replace("\\=", "=") if "=" in decoded else word)
            continue
        options[decoded[:pos].strip()] = _unquote(decoded[pos + 1:].strip())
    if raw:
        options["_raw_params"] = _join(raw)
    return options


def _unescaped_equals(word: str) -> int | None:
    """The position of the first `=` not preceded by a backslash (never the first character)."""
    pos = 0
    while True:
        pos = word.find("=", pos + 1)
        if pos < 0:
            return None
        if word[pos - 1] != "\\":
            return pos


def _unquote(text: str) -> str:
    """Text without its surrounding quotes, when it is quoted (and the last is not escaped)."""
    if len(text) > 1 and text[0] == text[-1] and text[0] in "'\"" and text[-2] != "\\":
        return text[1:-1]
    return text


def _join(words: list[str]) -> str:
    """Words put back together with a space, except after a word that ends a line."""
    out = ""
    for word in words:
        out += word if not out or out.endswith("\n") else " " + word
    return out


def split_args(text: str, where: str) -> list[str]:
    """Words of `text` split at spaces and newlines, except inside quotes and Jinja blocks
    (Ansible's split_args); InputError for an unclosed quote or block."""
    words: list[str] = []
    quote: str | None = None
    depths = [0, 0, 0]
    lines = text.split("\n")
    for number, line in enumerate(lines):
        continued = False
        for index, piece in enumerate(line.split(" ")):
            if not piece and index:
                if not words:
                    words.append("")
                words[-1] += " "  # runs of spaces stay with the word before them
                continue
            if piece == "\\" and quote is None:
                continued = True
                continue
            was_quoted = quote is not None
            quote = _quote_state(piece, quote)
            inside = any(depths)
            joined = False
            if quote is not None and not was_quoted and not inside:
                words.append(piece)
                joined = True
            elif inside or quote is not None or was_quoted:
                glue = "" if index == 0 and was_quoted else " " if index else ""
                words[-1] += glue + piece
                joined = True
            for i, (opener, closer) in enumerate(_BLOCKS):
                before = depths[i]
                depths[i] = max(0, before + piece.count(opener) - piece.count(closer))
                if depths[i] != before and not joined:
                    words.append(piece)
                    joined = True
            if not any(depths) and quote is None and not joined and piece:
                words.append(piece)
        if len(lines) > 1 and number != len(lines) - 1 and not continued:
            if not words:
                words.append("")
            words[-1] += "\n"
    if quote is not None or any(depths):
        raise InputError(f"{where}: unbalanced quotes or Jinja block in extra vars")
    return words


def _quote_state(token: str, quote: str | None) -> str | None:
    """The quote still open after `token` (a quote character not escaped opens or closes)."""
    previous = ""
    for char in token:
        if char in "\"'" and previous != "\\":
            if quote is None:
                quote = char
            elif char == quote:
                quote = None
        previous = char
    return quote
