"""The command line as a run records it: no secret given on it reaches a report.

`-e ansible_become_password=...` is how many people pass a password to Ansible in CI;
a run records its command line in every report, so such values are masked there: every
secret known for the run's hosts (the redactor's) and the value of each secret variable
the `-e` arguments give (as the run read them: key=value words, YAML or JSON), used by a
host or not.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fleetcheck.plan.variables import SECRET_VARIABLES
from fleetcheck.redact import Redactor

# Secret by its name, as Ansible's own and people's variables are named.
_SECRET_NAME = re.compile(r"pass(word|wd|phrase)?$|_pass_|secret|token", re.IGNORECASE)


def recorded_argv(argv: Sequence[str], extra_vars: Mapping[str, Any],
                  redactor: Redactor) -> list[str]:
    """`argv` with the secrets in it masked (`extra_vars`: the -e values the run read)."""
    given = Redactor(_secret_values(extra_vars))
    return [given.text(redactor.text(word)) for word in argv]


def _secret(key: object) -> bool:
    return isinstance(key, str) and (key in SECRET_VARIABLES or bool(_SECRET_NAME.search(key)))


def _secret_values(data: Any, secret: bool = False) -> Iterator[str]:
    """The text of every value under a secret variable's name, however deep."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            yield from _secret_values(value, secret or _secret(key))
    elif isinstance(data, list | tuple):
        for value in data:
            yield from _secret_values(value, secret)
    elif secret and data is not None and data != "":
        yield str(data)
