"""Whether the installed PyYAML resolves merge keys as the merge type says.

PyYAML 6.0.4 changed how `<<` is flattened (a fix for merge-key blow-ups) and with it the
precedence: of several merged mappings the later wins for keys longer than one character,
and a mapping merged from an anchor loses its own overrides of what it merged in turn
(yaml/pyyaml#953, open when this was written). The merge type
(yaml.org/type/merge.html) and PyYAML up to 6.0.3 let the earlier mapping and a mapping's
own keys win, and so does fleetcheck. ansible-core reads inventories with PyYAML, so its
answer follows whichever is installed.
"""

from __future__ import annotations

from functools import cache

import yaml

_PROBE = "a: &a {kk: 1}\nb: &b {kk: 2}\nc: {<<: [*a, *b]}\n"


@cache
def pyyaml_merges_follow_the_spec() -> bool:
    """True when the installed PyYAML lets the earlier of two merged mappings win."""
    return bool(yaml.safe_load(_PROBE)["c"]["kk"] == 1)
