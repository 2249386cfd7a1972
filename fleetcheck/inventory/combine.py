"""Layering variables as ansible-core's `combine_vars` does, for either `hash_behaviour`.

`replace` (Ansible's default): a later value replaces an earlier one whole. `merge`
(ansible.cfg `[defaults] hash_behaviour = merge`, ANSIBLE_HASH_BEHAVIOUR): where both
values are mappings they are merged key by key, recursively; anything else (lists
included) is replaced, as ansible-core's `merge_hash` does with its default list rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

HASH_BEHAVIOURS = ("replace", "merge")


def merge_hash(low: Mapping[Any, Any], high: Mapping[Any, Any]) -> dict[Any, Any]:
    """`high` over `low`, mappings in both merged recursively (neither is changed)."""
    out = dict(low)
    layer(out, high, merge=True)
    return out


def layer(into: dict[Any, Any], high: Mapping[Any, Any], merge: bool) -> None:
    """Put `high` over `into`, in place: replacing whole values, or merging mappings."""
    if not merge:
        into.update(high)
        return
    for key, value in high.items():
        old = into.get(key)
        if key in into and isinstance(old, Mapping) and isinstance(value, Mapping):
            into[key] = merge_hash(old, value)
        else:
            into[key] = value
