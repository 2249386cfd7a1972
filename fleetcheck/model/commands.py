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

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any


def template_of(command: str, nonce: str) -> tuple[str, ...]:
    """`command` split at `nonce` (whole when there is none): `nonce.join` gives it back."""
    return tuple(command.split(nonce)) if nonce else (command,)


class CommandTable:
    """Distinct command templates and repeated stderr texts in first-seen order, for
    writing one run (`stderrs`: every record's stderr, to tell which repeat)."""

    __slots__ = ("_ids", "_repeated", "_stderr_ids")

    def __init__(self, stderrs: Iterable[str] = ()) -> None:
        self._ids: dict[tuple[str, ...], int] = {}
        self._repeated = {t for t, n in Counter(stderrs).items() if n > 1 and t}
        self._stderr_ids: dict[str, int] = {}

    def stderr(self, text: str) -> dict[str, Any]:
        """A record's stderr as JSON: `{"stderr_ref": N}` when the run repeats it, else
        `{"stderr": text}`."""
        if text not in self._repeated:
            return {"stderr": text}
        found = self._stderr_ids.get(text)
        if found is None:
            found = self._stderr_ids[text] = len(self._stderr_ids)
        return {"stderr_ref": found}

    def stderr_texts(self) -> list[str]:
        """The repeated stderr texts as JSON, in the order first referred to."""
        return list(self._stderr_ids)

    def ref(self, command: str, nonce: str) -> int:
        """The index of `command`'s template, added when new."""
        key = template_of(command, nonce)
        found = self._ids.get(key)
        if found is None:
            found = self._ids[key] = len(self._ids)
        return found

    def texts(self) -> list[list[str]]:
        """The table as JSON: each template a list of strings."""
        return [list(t) for t in self._ids]


@dataclass(frozen=True, slots=True)
class RunTexts:
    """A run file's tables as read: `command_texts` and `stderr_texts`."""

    commands: tuple[tuple[str, ...], ...] = ()
    stderrs: tuple[str, ...] = ()


NO_TEXTS = RunTexts()  # a host's records written out (results between processes, run/1)


def read_texts(run: dict[str, Any]) -> RunTexts:
    """A run document's `command_texts` and `stderr_texts` (each absent in older schemas);
    ValueError when one is not a list of (non-empty lists of) strings."""
    commands, stderrs = run.get("command_texts"), run.get("stderr_texts")
    if commands is not None and (not isinstance(commands, list) or not all(
            isinstance(t, list) and t and all(isinstance(s, str) for s in t) for t in commands)):
        raise ValueError("command_texts must be a list of non-empty lists of strings")
    if stderrs is not None and (not isinstance(stderrs, list)
                                or not all(isinstance(s, str) for s in stderrs)):
        raise ValueError("stderr_texts must be a list of strings")
    return RunTexts(tuple(tuple(t) for t in commands or ()), tuple(stderrs or ()))


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


def stderr_text(data: dict[str, Any], texts: RunTexts) -> str:
    """The stderr of one record: written out, or by reference (`fleetcheck.run/3`)."""
    if "stderr_ref" in data:
        return str(_entry(data, "stderr_ref", texts.stderrs, "stderr_texts"))
    return str(data.get("stderr", ""))
