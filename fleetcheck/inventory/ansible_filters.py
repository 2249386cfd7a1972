"""The few Ansible filters and tests inventories commonly use, as ansible-core defines them.

`bool`, `ternary`, `regex_replace` and `regex_search`; the tests `match`, `search` and
`regex`. Any other Ansible filter or test is unknown to the sandbox: a template that needs
one is refused by name, never rendered differently from Ansible.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

_TRUE = ("yes", "on", "1", "true", 1)


def _compiled(name: str, pattern: str, ignorecase: bool, multiline: bool) -> re.Pattern[str]:
    """`pattern` compiled; ValueError naming the filter or test where it is no expression
    (the template's own error, as for any bad argument, not a crash of the run)."""
    flags = (re.IGNORECASE if ignorecase else 0) | (re.MULTILINE if multiline else 0)
    try:
        return re.compile(pattern, flags)
    except re.error as exc:
        raise ValueError(f"{name}: {pattern!r} is no regular expression ({exc})") from None


def to_bool(value: Any) -> bool:
    """Ansible's `bool`: True for true, 'yes', 'on', 'true', '1' and 1; else False."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        value = value.lower()
    return value in _TRUE


def ternary(value: Any, true_val: Any, false_val: Any, none_val: Any = None) -> Any:
    """`true_val` when `value` is truthy, `false_val` when not (`none_val` for None if given)."""
    if value is None and none_val is not None:
        return none_val
    return true_val if value else false_val


def regex_replace(value: Any = "", pattern: str = "", replacement: str = "",
                  ignorecase: bool = False, multiline: bool = False, count: int = 0) -> str:
    """Every match of `pattern` in `value` (up to `count`, 0: all) replaced."""
    compiled = _compiled("regex_replace", pattern, ignorecase, multiline)
    try:
        return compiled.sub(replacement, str(value), count=count)
    except re.error as exc:  # the replacement names a group the pattern lacks
        raise ValueError(f"regex_replace: replacement {replacement!r} cannot be used "
                         f"({exc})") from None


def regex_search(value: Any, pattern: str, *groups: str, ignorecase: bool = False,
                 multiline: bool = False) -> Any:
    """The first match of `pattern` (None without one); with '\\\\N' or '\\\\g<name>'
    arguments, the list of those groups."""
    match = _compiled("regex_search", pattern, ignorecase, multiline).search(str(value))
    if match is None:
        return None
    if not groups:
        return match.group()
    picked: list[Any] = []
    for group in groups:
        named = re.fullmatch(r"\\g<(\w+)>", group)
        number = re.fullmatch(r"\\([0-9]{1,9})", group)
        if named is not None:
            picked.append(match.group(named.group(1)))
        elif number is not None:
            picked.append(match.group(int(number.group(1))))
        else:
            raise ValueError(f"regex_search: unknown argument {group!r}")
    return picked


def _regex(value: Any, pattern: str = "", ignorecase: bool = False, multiline: bool = False,
           match_type: str = "search", *, test: str = "regex") -> bool:
    """Ansible's `regex` test: `pattern` found in `value` (at its start for 'match')."""
    if match_type not in ("match", "search", "fullmatch"):
        raise ValueError(f"regex: match_type must be match, search or fullmatch, "
                         f"not {match_type!r}")
    compiled = _compiled(test, pattern, ignorecase, multiline)
    return bool(getattr(compiled, match_type)(str(value)))


def match(value: Any, pattern: str = "", ignorecase: bool = False,
          multiline: bool = False) -> bool:
    """Ansible's `match` test: `pattern` matches at the start of `value`."""
    return _regex(value, pattern, ignorecase, multiline, "match", test="match")


def search(value: Any, pattern: str = "", ignorecase: bool = False,
           multiline: bool = False) -> bool:
    """Ansible's `search` test: `pattern` is found in `value`."""
    return _regex(value, pattern, ignorecase, multiline, "search", test="search")


FILTERS: dict[str, Callable[..., Any]] = {
    "bool": to_bool, "ternary": ternary, "regex_replace": regex_replace,
    "regex_search": regex_search}
TESTS: dict[str, Callable[..., Any]] = {"match": match, "search": search, "regex": _regex}
