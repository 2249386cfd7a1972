"""Variable values as inventories carry them: where they came from, vaulted and unsafe text."""

from __future__ import annotations

from dataclasses import field
from typing import TYPE_CHECKING

from fleetcheck.bounded import check_nesting
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen

if TYPE_CHECKING:
    from fleetcheck.inventory.vault import Keyring


@frozen
class Origin:
    """A 1-based position in an inventory file (line 0 when only the file is known)."""

    path: str
    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        if not self.line:
            return self.path
        return f"{self.path}:{self.line}" + (f":{self.column}" if self.column else "")

    def error(self, message: str) -> InputError:
        """An InputError located here."""
        return InputError(message, self.path, self.line or None, self.column or None)


class UnsafeText(str):
    """Text Ansible must never template (`!unsafe`, `__ansible_unsafe`); plain text otherwise."""

    __slots__ = ()


@frozen
class VaultValue:
    """A `!vault` value: its ciphertext, where it was written, and the keys that may open it."""

    ciphertext: str = field(repr=False)
    origin: Origin | None = None
    keyring: Keyring | None = field(default=None, repr=False, compare=False)

    def reveal(self, what: str = "value") -> str:
        """The plaintext; InputError at the value's origin (naming `what`) when unreadable."""
        where = self.origin or Origin("<vault value>")
        if self.keyring is None or not self.keyring.secrets:
            raise where.error(f"{what} is vault-encrypted and no vault password was given "
                              "(use --vault-password-file)")
        try:
            return self.keyring.decrypt_text(self.ciphertext, where)
        except InputError as exc:
            raise InputError(f"{what}: {exc.message}", exc.path, exc.line, exc.column) from None

    def __str__(self) -> str:
        return "<vault-encrypted>"


def check_depth(name: object, value: object, origin: Origin) -> None:
    """InputError when variable `name`'s value nests lists and mappings past MAX_NESTING
    (ansible-core fails to parse such a source), at the first one past it if located."""
    if isinstance(value, (dict, list)):
        check_nesting(value, origin, f"the value of {name!r} is")
