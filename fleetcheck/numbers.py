"""What counts as a number in text a host, an inventory or a user wrote: ASCII digits only."""

from __future__ import annotations


def is_number(text: str) -> bool:
    """True when `text` is one or more ASCII digits, the only digits int() is given here.

    str.isdigit() also accepts '²' (which int() rejects) and other scripts' digits (which
    int() reads as a number a reader would not): hostile output must not turn into a crash
    or into a port nobody saw.
    """
    return text.isascii() and text.isdigit()
