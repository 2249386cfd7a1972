"""Which entries of an inventory directory ansible-core skips, as its settings say.

Hidden names and the vars directories always; names ending in one of
`inventory_ignore_extensions` (ANSIBLE_INVENTORY_IGNORE) and names one of
`inventory_ignore_patterns` (ANSIBLE_INVENTORY_IGNORE_REGEX) finds, searched anywhere in
the name. Only a directory's entries: a file named with `-i` is read whatever its name.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from functools import cache

# ansible-core's default INVENTORY_IGNORE_EXTS: its REJECT_EXTS and .orig, .cfg, .retry
IGNORED_EXTENSIONS = (".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst",
                      ".orig", ".cfg", ".retry")
_ALWAYS = (r"^\.", "^host_vars$", "^group_vars$", "^vars_plugins$")


@cache
def directory_filter(extensions: Sequence[str] = IGNORED_EXTENSIONS,
                     patterns: Sequence[str] = ()) -> Callable[[str], bool]:
    """A test that is true for the directory entries ansible-core skips; ValueError naming
    the pattern when one is no regular expression."""
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"{pattern!r} is no regular expression: {exc}") from None
    rule = re.compile("|".join([*_ALWAYS, *patterns, *(re.escape(e) + "$" for e in extensions)]))
    return lambda name: rule.search(name) is not None


ignored = directory_filter()  # ansible-core's rule with its default settings
