"""Jinja2 in inventory values (`ansible_host: "{{ inventory_hostname }}.mgmt"`), sandboxed.

Only the variables fleetcheck uses are rendered, with the host's variables and
Ansible's per-host names (inventory_hostname, inventory_hostname_short,
group_names). Of Ansible's own filters and tests only the common few in
`ansible_filters` exist here, and no lookups: a template that needs another is an
error naming the variable, never a silently wrong value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from fleetcheck.inventory.values import UnsafeText, VaultValue

if TYPE_CHECKING:
    from fleetcheck.inventory.jinjabound import BoundedEnvironment

_MAX_DEPTH = 20
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@cache
def environment() -> BoundedEnvironment:
    """Sandboxed, and bounded in the size of every value and the steps of every rendering.

    Made (and Jinja2 loaded) on the first template only: most inventories have none, and
    loading it was a tenth of the CLI's start-up."""
    from jinja2 import StrictUndefined

    from fleetcheck.inventory.ansible_filters import FILTERS, TESTS
    from fleetcheck.inventory.jinjabound import BoundedEnvironment, bounded_filter

    env = BoundedEnvironment(undefined=StrictUndefined, autoescape=False,
                             keep_trailing_newline=True)
    env.filters.update({name: bounded_filter(name, f) for name, f in FILTERS.items()})
    env.tests.update(TESTS)
    return env


class TemplateProblem(ValueError):
    """A value that cannot be rendered."""


def is_template(value: Any) -> bool:
    """True for text Ansible would template (not `!unsafe`, with `{{`, `{%` or `{#`)."""
    return (isinstance(value, str) and not isinstance(value, UnsafeText)
            and any(m in value for m in ("{{", "{%", "{#")))


def magic_vars(name: str, groups: tuple[str, ...]) -> dict[str, Any]:
    """The per-host names Ansible adds for templating."""
    short = name if _IPV4.match(name) or ":" in name else name.split(".", maxsplit=1)[0]
    return {"inventory_hostname": name, "inventory_hostname_short": short,
            "group_names": sorted(groups)}


class Renderer:
    """Renders one host's values, resolving the variables a template refers to on demand."""

    def __init__(self, variables: Mapping[str, Any],
                 reveal: Callable[[str, VaultValue], str]) -> None:
        self._vars = variables
        self._reveal = reveal
        self._done: dict[str, Any] = {}

    def has(self, name: str) -> bool:
        """True when `name` is one of the host's variables."""
        return name in self._vars

    def names(self) -> list[str]:
        """The names of the host's variables."""
        return list(self._vars)

    def raw(self, name: str) -> Any:
        """Variable `name` as written (not rendered, not decrypted)."""
        return self._vars[name]

    def value(self, name: str, depth: int = 0) -> Any:
        """Variable `name`, vault-decrypted and rendered."""
        if name in self._done:
            return self._done[name]
        raw = self._vars[name]
        if isinstance(raw, VaultValue):
            raw = self._reveal(name, raw)
        out = self.render(raw, depth) if is_template(raw) else raw
        self._done[name] = out
        return out

    def render(self, text: str, depth: int = 0) -> Any:
        """The rendered text; TemplateProblem when it cannot be rendered."""
        if depth > _MAX_DEPTH:
            raise TemplateProblem("templates refer to each other in a loop")
        from jinja2 import TemplateError, meta

        from fleetcheck.inventory.jinjabound import step_budget

        env = environment()
        try:
            tree = env.parse(text)
            names = meta.find_undeclared_variables(tree)
            context = {n: self.value(n, depth + 1) for n in names if n in self._vars}
            template = env.from_string(tree)
            with step_budget():
                return template.render(context)
        except TemplateError as exc:
            raise TemplateProblem(f"cannot render {text!r}: {exc.message or exc}") from None
        except (ArithmeticError, ValueError, MemoryError, RecursionError) as exc:
            # What Python itself refuses (an integer too long to print, ...): never a crash.
            raise TemplateProblem(f"cannot render {text!r}: {type(exc).__name__}: {exc}") \
                from None
