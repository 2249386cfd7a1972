"""What counts as a number in text a host, an inventory or a user wrote: ASCII digits only."""

from __future__ import annotations

# int() refuses text of more digits than sys.get_int_max_str_digits() (4,300 unless set
# lower, never below 640): a longer run of digits is no number fleetcheck reads anywhere.
MAX_DIGITS = 640


def is_number(text: str) -> bool:
    """True when `text` is one to MAX_DIGITS ASCII digits, the only digits int() is given here.

    str.isdigit() also accepts '²' (which int() rejects) and other scripts' digits (which
    int() reads as a number a reader would not): hostile output must not turn into a crash
    or into a port nobody saw. Nor may 5,000 digits, which int() refuses with a ValueError.
    """
    return len(text) <= MAX_DIGITS and text.isascii() and text.isdigit()
