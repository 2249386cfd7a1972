"""The command line as a run records it: no secret given on it reaches a report.

`-e ansible_become_password=...` is how many people pass a password to Ansible in CI;
a run records its command line in every report, so such values are masked there: every
secret known for the run's hosts (the redactor's) and the value of each secret variable
an `-e` names (key=value words, YAML or JSON), used by a host or not.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Sequence
from typing import Any

import yaml

from fleetcheck.plan import SECRET_VARIABLES
from fleetcheck.redact import MASK, Redactor

# Secret by its name, as Ansible's own and people's variables are named.
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?$|_pass_|secret|token", re.IGNORECASE)


def recorded_argv(argv: Sequence[str], extra_vars: Sequence[str] | None,
                  redactor: Redactor) -> list[str]:
    """`argv` with the secrets in it masked (`extra_vars`: the -e values as parsed)."""
    masked = {value: _masked(value) for value in extra_vars or () if not value.startswith("@")}
    return [redactor.text(_one(word, masked)) for word in argv]


def _one(word: str, masked: dict[str, str]) -> str:
    """`word` with the -e value it ends with (-e V, -eV, --extra-vars=V) masked."""
    for value, safe in masked.items():
        if value != safe and word.endswith(value):
            return word[:len(word) - len(value)] + safe
    return word


def _secret(key: object) -> bool:
    return isinstance(key, str) and (key in SECRET_VARIABLES or bool(_SECRET_NAME.search(key)))


def _masked(value: str) -> str:
    """One -e value with the values of its secret variables masked."""
    if value.lstrip()[:1] in ("{", "["):
        try:
            data = yaml.safe_load(value)
        except yaml.YAMLError:
            return MASK  # not read by the run either (it stopped with exit 2): keep nothing
        return json.dumps(_masked_data(data), separators=(",", ":"))
    try:
        words = shlex.split(value)
    except ValueError:
        return MASK
    return " ".join(f"{k}={MASK}" if sep and _secret(k) else shlex.quote(w)
                    for w in words for k, sep, _ in (w.partition("="),))


def _masked_data(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: MASK if _secret(k) else _masked_data(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_masked_data(v) for v in data]
    return data
