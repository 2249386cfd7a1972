"""One inventory host's variables as planning reads them: vault values decrypted, templates
rendered, each value checked for its type, errors located where the variable was set."""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Sequence
from typing import Any

from fleetcheck.booleans import ansible_boolean
from fleetcheck.errors import InputError
from fleetcheck.inventory import InventoryHost
from fleetcheck.inventory.datafile import kind_name
from fleetcheck.inventory.template import Renderer, TemplateProblem, is_template, magic_vars
from fleetcheck.inventory.values import VaultValue
from fleetcheck.plan.variables import SECRET_VARIABLES

_LOCATED = re.compile(r"^(.+?):(\d+)(?::(\d+))?$")


class HostVars:
    """One host's connection variables: vault-decrypted, templated, errors located."""

    def __init__(self, host: InventoryHost) -> None:
        self.host = host
        self._renderer: Renderer | None = None  # made only for vaulted or templated values
        self.revealed: list[str] = []  # every vault value decrypted for this host

    def error(self, key: str, message: str) -> InputError:
        """An InputError about variable `key` of this host, located where it was set."""
        origin = self.host.origins.get(key) or None
        where = _LOCATED.match(origin or "")
        path, line, column = where.groups() if where else (origin, None, None)
        return InputError(f"host {self.host.name!r}: {key} {message}", path,
                          int(line) if line else None, int(column) if column else None)

    def _reveal(self, key: str, value: VaultValue) -> str:
        plain = value.reveal(f"host {self.host.name!r}: variable {key}")
        self.revealed.append(plain)
        return plain

    def get(self, *keys: str, empty: bool = False) -> tuple[str, Any] | None:
        """(name, value) of the first of `keys` set to something other than null or ''
        (with `empty`, '' written or rendered counts as set)."""
        for key in keys:
            value = self.host.vars.get(key)
            if value is None or (value == "" and not empty):
                continue
            if not isinstance(value, VaultValue) and not is_template(value):
                return key, value
            if self._renderer is None:
                self._renderer = Renderer({**self.host.vars,
                                           **magic_vars(self.host.name,
                                                       tuple(self.host.group_names),
                                                       self.host.source)},
                                          self._reveal)
            try:
                rendered = self._renderer.value(key)
            except TemplateProblem as exc:
                if key in SECRET_VARIABLES:  # the message would quote the secret
                    raise self.error(key, "looks like a template and cannot be rendered (write "
                                          "it as !unsafe if the braces belong to it)") from None
                raise self.error(key, str(exc)) from None
            if rendered is not None and (rendered != "" or empty):  # else: as if not set
                return key, rendered
        return None

    def text(self, *keys: str, empty: bool = False) -> str | None:
        """The first of `keys` as text (`empty`: as `get`)."""
        found = self.get(*keys, empty=empty)
        if found is None:
            return None
        key, value = found
        if isinstance(value, dict | list):
            raise self.error(key, f"must be text, not a {kind_name(value)}")
        return str(value)

    def flag(self, key: str) -> bool | None:
        """Ansible's reading of a boolean (yes/no/true/false/on/off/1/0)."""
        found = self.get(key)
        if found is None:
            return None
        value = found[1]
        flag = ansible_boolean(value)
        if flag is None:
            raise self.error(key, f"must be a boolean (yes/no, true/false), not {value!r}")
        return flag

    def port(self, *keys: str) -> int | None:
        """A TCP port number (1-65535)."""
        number = self._number(keys, int, lambda n: 1 <= n <= 65535, "a port number (1-65535)")
        return int(number) if number is not None else None

    def seconds(self, *keys: str) -> float | None:
        """A positive number of seconds."""
        return self._number(keys, float, lambda n: 0 < n < 1e9, "a number of seconds")

    def _number(self, keys: Sequence[str], convert: Callable[[str], float],
                valid: Callable[[float], bool], what: str) -> float | None:
        """The first of `keys` as a number `valid` accepts (a located error otherwise)."""
        found = self.get(*keys)
        if found is None:
            return None
        key, value = found
        try:
            number = convert(str(value).strip()) if not isinstance(value, bool) else 0.0
        except ValueError:
            number = 0.0
        if not valid(number):
            raise self.error(key, f"must be {what}, not {value!r}")
        return number

    def words(self, *keys: str) -> list[str] | None:
        """The first of `keys` that is set (to '' too: no words), shell-split; None if none is."""
        for key in keys:
            if self.host.vars.get(key) == "":
                return []
            if self.get(key) is not None:
                return self.args(key)
        return None

    def args(self, *keys: str) -> list[str]:
        """Extra ssh arguments, shell-split."""
        out: list[str] = []
        for key in keys:
            text = self.text(key)
            if text:
                try:
                    out.extend(shlex.split(text))
                except ValueError as exc:
                    raise self.error(key, f"cannot be split into arguments: {exc}") from None
        return out
