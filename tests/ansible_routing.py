"""ansible.builtin's routing table parsed once in a process that forks ansible-core CLI runs.

Every ansible-core CLI run parses ansible/config/ansible_builtin_runtime.yml (some 370 kB of
YAML) when it first loads a plugin: a third to a half of an `ansible-inventory` or
`ansible-config dump` run. The oracle servers (tests/inventory/oracle_server.py,
tests/config/dump_batch.py) call `cache()` before they fork: it parses the table once through
ansible-core's own `_meta_yml_to_dict` (the hook its collection loader names for tools to
replace, handing it a content id so that they may cache) and installs a replacement that
gives each call for those exact bytes a fresh copy of the result. Any other collection's
table, or other bytes, is parsed as before. Nothing here reads ansible's configuration.
"""

from __future__ import annotations

import copy
import os
from typing import Any

import ansible
from ansible.utils.collection_loader import _collection_finder

_BUILTIN_ID = ("ansible.builtin", "runtime.yml")


def _builtin_bytes() -> bytes:
    """The bytes ansible-core's collection loader reads as ansible.builtin's routing table."""
    path = os.path.join(os.path.dirname(ansible.__file__), "config",
                        "ansible_builtin_runtime.yml")
    with open(path, "rb") as fd:
        return fd.read()


def cache() -> None:
    """Parse the builtin table now; later parses of the same bytes get a copy of this one."""
    parse = _collection_finder._meta_yml_to_dict
    raw = _builtin_bytes()
    parsed = parse(raw, _BUILTIN_ID)

    def cached(yaml_string_data: bytes | str, content_id: Any) -> Any:
        if content_id == _BUILTIN_ID and yaml_string_data == raw:
            return copy.deepcopy(parsed)
        return parse(yaml_string_data, content_id)

    _collection_finder._meta_yml_to_dict = cached
