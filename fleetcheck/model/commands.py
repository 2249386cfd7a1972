"""The run's table of command texts: each distinct command stored once per run (`fleetcheck.run/2`).

Every host runs the same probe (~6 KB) except for its nonce, the random word fencing its
output. A run file keeps each command once, split at its nonce (`command_texts`: a list of
lists of strings); a host's command record names its entry (`command_ref`) and its nonce,
and the command is `nonce.join(parts)`, exactly what ran.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def template_of(command: str, nonce: str) -> tuple[str, ...]:
    """`command` split at `nonce` (whole when there is none): `nonce.join` gives it back."""
    return tuple(command.split(nonce)) if nonce else (command,)


class CommandTable:
    """Distinct command templates in first-seen order, for writing one run."""

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: dict[tuple[str, ...], int] = {}

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


def read_texts(data: Any) -> tuple[tuple[str, ...], ...]:
    """A run file's `command_texts`; ValueError when it is not a list of lists of strings."""
    if data is None:
        return ()
    if not isinstance(data, list) or not all(
            isinstance(t, list) and t and all(isinstance(s, str) for s in t) for t in data):
        raise ValueError("command_texts must be a list of non-empty lists of strings")
    return tuple(tuple(t) for t in data)


def command_text(data: dict[str, Any], texts: Sequence[tuple[str, ...]]) -> str:
    """The command of one record: written out (`fleetcheck.run/1`) or by reference."""
    if "command" in data:
        return str(data["command"])
    ref = data["command_ref"]
    if type(ref) is not int or not 0 <= ref < len(texts):
        raise ValueError(f"command_ref {ref!r} names no entry of command_texts")
    nonce = str(data.get("nonce") or "")
    parts = texts[ref]
    if len(parts) > 1 and not nonce:
        raise ValueError(f"command_ref {ref} needs a nonce")
    return nonce.join(parts)
