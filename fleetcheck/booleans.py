"""Ansible's boolean words, as ansible-core's `boolean()` reads them ('yes', 'off', 1, ...)."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = frozenset(("y", "yes", "on", "1", "true", "t"))
FALSE_WORDS = frozenset(("n", "no", "off", "0", "false", "f"))


def ansible_boolean(value: Any) -> bool | None:
    """True or False as ansible-core reads `value`; None for a value that is neither."""
    if value is True or value is False:
        return bool(value)
    if isinstance(value, int | float):  # the numbers 1 and 1.0, 0 and 0.0 (not the text '1.0')
        return True if value == 1 else False if value == 0 else None
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
