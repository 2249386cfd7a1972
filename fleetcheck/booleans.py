"""Ansible's boolean words, as ansible-core's `boolean()` reads them ('yes', 'off', 1, ...)."""

from __future__ import annotations

from typing import Any

TRUE_WORDS = frozenset(("y", "yes", "on", "1", "true", "t", "1.0"))
FALSE_WORDS = frozenset(("n", "no", "off", "0", "false", "f", "0.0"))


def ansible_boolean(value: Any) -> bool | None:
    """True or False as ansible-core reads `value`; None for a value that is neither."""
    if value is True or value is False:
        return bool(value)
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    return None
