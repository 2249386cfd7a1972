"""The run's tables of command texts and repeated stderr: each stored once per run.

Every host runs the same probe (~6 KB) except for its nonce, the random word fencing its
output. A run file keeps each command once, split at its nonce (`command_texts`: a list of
lists of strings, since `fleetcheck.run/2`); a host's command record names its entry
(`command_ref`) and its nonce, and the command is `nonce.join(parts)`, exactly what ran.
A non-empty stderr text that more than one command record of the run printed (the same
warning on every host) is kept once too (`stderr_texts`, since `fleetcheck.run/3`): those
records name it (`stderr_ref`) instead of carrying `stderr`.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from fleetcheck.frozen import frozen


def template_of(command: str, nonce: str) -> tuple[str, ...]:
    """`command` split at `nonce` (whole when there is none): `nonce.join` gives it back."""
    return tuple(command.split(nonce)) if nonce else (command,)


_HEX = frozenset("0123456789abcdef")  # what a nonce is made of (secrets.token_hex)
_HEX_RUN = re.compile("[0-9a-f]+")


@frozen
class _Template:
    """A command template met before, and what tells a command made from it without
    searching the command (~13 KB each) for its nonce."""

    parts: tuple[str, ...]
    index: int
    # The longest run of hex digits inside a part; never less than a nonce when a part
    # starts or ends with one next to where a nonce goes (such a template is never fitted).
    longest: int

    @classmethod
    def of(cls, parts: tuple[str, ...], index: int) -> _Template:
        """`parts` as a template: the longest run of hex digits in them."""
        longest = max((len(r) for p in parts for r in _HEX_RUN.findall(p)), default=0)
        last = len(parts) - 1
        for i, part in enumerate(parts):
            before, after = i > 0, i < last  # a nonce goes before / after this part
            if (before and after and not part) or (before and part[:1] in _HEX) \
                    or (after and part[-1:] in _HEX):
                longest = sys.maxsize  # a nonce would join a run of hex digits
        return cls(parts, index, longest)

    def fits(self, command: str, nonce: str) -> bool:
        """True when `template_of(command, nonce)` is this template. Exact without a search:
        the nonce is hex digits, longer than any run of them in the parts, and the parts'
        ends next to it are not hex digits, so each copy put in is a run of hex digits on
        its own and no other run is long enough to hold the nonce."""
        size = len(nonce)
        if size <= self.longest or not _HEX.issuperset(nonce):
            return False
        at = 0
        for i, part in enumerate(self.parts):
            if i:
                if not command.startswith(nonce, at):
                    return False
                at += size
            if not command.startswith(part, at):
                return False
            at += len(part)
        return at == len(command)


class _Repeated:
    """The texts that occur more than once among those counted, each given an index when
    first referred to."""

    __slots__ = ("_ids", "_repeated")

    def __init__(self, texts: Iterable[str]) -> None:
        self._repeated = {t for t, n in Counter(texts).items() if n > 1 and t}
        self._ids: dict[str, int] = {}

    def ref(self, text: str) -> int | None:
        """The index of `text` when it repeats, else None."""
        if text not in self._repeated:
            return None
        found = self._ids.get(text)
        if found is None:
            found = self._ids[text] = len(self._ids)
        return found

    def texts(self) -> list[str]:
        """The texts referred to, in the order first referred to."""
        return list(self._ids)


class CommandTable:
    """For writing one run: distinct command templates, and the stderr texts and stdout
    parts that repeat among the run's records (`outputs`: each record's stdout, stderr and
    nonce), in first-seen order."""

    __slots__ = ("_fitted", "_ids", "_parts", "_stderrs")

    def __init__(self, outputs: Iterable[tuple[str, str, str]] = ()) -> None:
        self._ids: dict[tuple[str, ...], int] = {}
        self._fitted: dict[tuple[int, int], _Template] = {}  # by command and nonce length
        outputs = list(outputs)
        self._stderrs = _Repeated(err for _, err, _ in outputs)
        self._parts = _Repeated(p for out, _, nonce in outputs for p in _split(out, nonce))

    def ref(self, command: str, nonce: str) -> int:
        """The index of `command`'s template, added when new."""
        size = (len(command), len(nonce))
        known = self._fitted.get(size) if nonce else None
        if known is not None and known.fits(command, nonce):
            return known.index
        key = template_of(command, nonce)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._ids)
        if nonce:
            self._fitted[size] = _Template.of(key, found)
        return found

    def texts(self) -> list[list[str]]:
        """The table as JSON: each template a list of strings."""
        return [list(t) for t in self._ids]

    def stdout(self, text: str, nonce: str) -> dict[str, Any]:
        """A record's stdout as JSON: `{"stdout_parts": [...]}` when its nonce is in it (each
        part the text, or the index of a part the run repeats), else `{"stdout": text}`."""
        parts = _split(text, nonce)
        if not parts:
            return {"stdout": text}
        return {"stdout_parts": [p if (i := self._parts.ref(p)) is None else i for p in parts]}

    def stdout_texts(self) -> list[str]:
        """The repeated stdout parts as JSON, in the order first referred to."""
        return self._parts.texts()

    def stderr(self, text: str) -> dict[str, Any]:
        """A record's stderr as JSON: `{"stderr_ref": N}` when the run repeats it, else
        `{"stderr": text}`."""
        found = self._stderrs.ref(text)
        return {"stderr": text} if found is None else {"stderr_ref": found}

    def stderr_texts(self) -> list[str]:
        """The repeated stderr texts as JSON, in the order first referred to."""
        return self._stderrs.texts()


def _split(stdout: str, nonce: str) -> list[str]:
    """`stdout` split at `nonce`; empty when the nonce is not in it."""
    return stdout.split(nonce) if nonce and nonce in stdout else []


@frozen
class RunTexts:
    """A run file's tables as read: `command_texts`, `stdout_texts` and `stderr_texts`."""

    commands: tuple[tuple[str, ...], ...] = ()
    stdouts: tuple[str, ...] = ()
    stderrs: tuple[str, ...] = ()


NO_TEXTS = RunTexts()  # a host's records written out (results between processes, run/1)


def read_texts(run: dict[str, Any]) -> RunTexts:
    """A run document's `command_texts`, `stdout_texts` and `stderr_texts` (absent in older
    schemas); ValueError when one is not a list of (non-empty lists of) strings."""
    commands = run.get("command_texts")
    if commands is not None and (not isinstance(commands, list) or not all(
            isinstance(t, list) and t and all(isinstance(s, str) for s in t) for t in commands)):
        raise ValueError("command_texts must be a list of non-empty lists of strings")
    return RunTexts(tuple(tuple(t) for t in commands or ()), _strings(run, "stdout_texts"),
                    _strings(run, "stderr_texts"))


def _strings(run: dict[str, Any], key: str) -> tuple[str, ...]:
    """The list of strings at `key` (empty when absent); ValueError when it is not one."""
    found = run.get(key)
    if found is not None and (not isinstance(found, list)
                              or not all(isinstance(s, str) for s in found)):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(found or ())


def _entry(data: dict[str, Any], key: str, table: Sequence[Any], name: str) -> Any:
    """The entry of `table` that the record's `key` names; ValueError when none."""
    ref = data[key]
    if type(ref) is not int or not 0 <= ref < len(table):
        raise ValueError(f"{key} {ref!r} names no entry of {name}")
    return table[ref]


def command_text(data: dict[str, Any], texts: RunTexts) -> str:
    """The command of one record: written out (`fleetcheck.run/1`) or by reference."""
    if "command" in data:
        return str(data["command"])
    parts = _entry(data, "command_ref", texts.commands, "command_texts")
    nonce = str(data.get("nonce") or "")
    if len(parts) > 1 and not nonce:
        raise ValueError(f"command_ref {data['command_ref']} needs a nonce")
    return str(nonce.join(parts))


def stdout_text(data: dict[str, Any], texts: RunTexts) -> str:
    """The stdout of one record: written out, or in parts (`fleetcheck.run/3`)."""
    if "stdout_parts" not in data:
        return str(data.get("stdout", ""))
    parts, nonce = data["stdout_parts"], data.get("nonce")
    if not isinstance(parts, list) or len(parts) < 2 or not nonce:
        raise ValueError("stdout_parts must be a list of two or more parts, with a nonce")
    for part in parts:
        if not isinstance(part, str) and (type(part) is not int
                                          or not 0 <= part < len(texts.stdouts)):
            raise ValueError(f"stdout_parts item {part!r} names no entry of stdout_texts")
    return str(nonce).join(p if isinstance(p, str) else texts.stdouts[p] for p in parts)


def stderr_text(data: dict[str, Any], texts: RunTexts) -> str:
    """The stderr of one record: written out, or by reference (`fleetcheck.run/3`)."""
    if "stderr_ref" in data:
        return str(_entry(data, "stderr_ref", texts.stderrs, "stderr_texts"))
    return str(data.get("stderr", ""))
