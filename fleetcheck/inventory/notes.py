"""Inventory warnings: where ansible-core warns and goes on, fleetcheck does the same.

Each warning is located where possible and worded as Ansible words it, so an
Ansible user recognises it. With --strict-inventory a warning is a located
error instead (exit 2), for CI that wants clean inventories.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.inventory.values import Origin

STRICT_HINT = " (an error under --strict-inventory)"


@frozen
class InventoryWarning:
    """One warning: what, and where it was written (when known)."""

    message: str
    origin: Origin | None = None

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}" if self.origin is not None else self.message

    def located(self, suffix: str = "") -> InputError:
        """The warning as a located InputError (its message followed by `suffix`)."""
        if self.origin is None:
            return InputError(self.message + suffix)
        return self.origin.error(self.message + suffix)

    def as_error(self) -> InputError:
        """The located error --strict-inventory makes of it."""
        return self.located(STRICT_HINT)


@dataclass
class Notes:
    """Collects the warnings of one inventory, each once; `check` raises them when strict."""

    strict: bool = False
    items: list[InventoryWarning] = field(default_factory=list)
    # a host pattern term matching nothing: ansible-core's host_pattern_mismatch
    mismatch: str = "warning"  # "warning", "error" (raised at once) or "ignore" (silent)
    shown: int = 0  # how many of `items` have been printed already
    _seen: set[InventoryWarning] = field(default_factory=set, repr=False)

    def warn(self, message: str, origin: Origin | None = None) -> None:
        """Record a warning (strictness is applied by `check`, once a reader has finished)."""
        warning = InventoryWarning(message, origin)
        if warning not in self._seen:
            self._seen.add(warning)
            self.items.append(warning)

    def check(self) -> None:
        """When strict, raise the first warning as a located error."""
        if self.strict and self.items:
            raise self.items[0].as_error()

    def mark(self) -> int:
        """A point to roll back to (before trying a reader that may decline the file)."""
        return len(self.items)

    def rollback(self, mark: int) -> None:
        """Forget the warnings recorded since `mark` (the reader that made them failed)."""
        for warning in self.items[mark:]:
            self._seen.discard(warning)
        del self.items[mark:]
        self.shown = min(self.shown, mark)

    def unshown(self) -> list[InventoryWarning]:
        """The warnings not printed yet (and mark them printed)."""
        new = self.items[self.shown:]
        self.shown = len(self.items)
        return new
