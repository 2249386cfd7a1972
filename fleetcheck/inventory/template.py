"""Jinja2 in inventory values (`ansible_host: "{{ inventory_hostname }}.mgmt"`), sandboxed.

Only the variables fleetcheck uses are rendered, with the host's variables and
Ansible's per-host names (inventory_hostname, inventory_hostname_short,
group_names). Of Ansible's own filters and tests only the common few in
`ansible_filters` exist here, and no lookups: a template that needs another is an
error naming the variable, never a silently wrong value.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from fleetcheck.inventory.hostpattern import is_host_list
from fleetcheck.inventory.values import UnsafeText, VaultValue

if TYPE_CHECKING:
    from fleetcheck.inventory.jinjabound import BoundedEnvironment

_MAX_DEPTH = 20
# Names Ansible defines while a play runs and fleetcheck does not have: a template using one
# is an error, even behind `default()` or `is defined` (which would hide the difference and
# give a value Ansible does not).
RUNTIME_NAMES = frozenset({
    "ansible_check_mode", "ansible_collection_name", "ansible_config_file",
    "ansible_dependent_role_names", "ansible_diff_mode", "ansible_facts", "ansible_forks",
    "ansible_index_var", "ansible_inventory_sources", "ansible_limit", "ansible_local",
    "ansible_loop", "ansible_loop_var", "ansible_parent_role_names", "ansible_parent_role_paths",
    "ansible_play_batch", "ansible_play_hosts", "ansible_play_hosts_all", "ansible_play_name",
    "ansible_play_role_names", "ansible_playbook_python", "ansible_role_name",
    "ansible_role_names", "ansible_run_tags", "ansible_search_path", "ansible_skip_tags",
    "ansible_verbosity", "ansible_version", "environment", "groups", "hostvars",
    "inventory_dir", "inventory_file", "lookup", "now", "omit", "play_hosts", "playbook_dir",
    "q", "query", "role_name", "role_names", "role_path", "undef", "vars",
})
_IPV4 = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")


@cache
def environment() -> BoundedEnvironment:
    """Sandboxed, and bounded in the size of every value and the steps of every rendering.

    Made (and Jinja2 loaded) on the first template only: most inventories have none, and
    loading it was a tenth of the CLI's start-up."""
    from fleetcheck.inventory.ansible_filters import FILTERS, TESTS
    from fleetcheck.inventory.jinjabound import (
        BoundedEnvironment,
        ChainedUndefined,
        bounded_filter,
    )

    # finalize: a null among text is written as nothing, as ansible-core writes it
    env = BoundedEnvironment(undefined=ChainedUndefined, autoescape=False,
                             keep_trailing_newline=True, finalize=_none_as_empty)
    env.filters.update({name: bounded_filter(name, f) for name, f in FILTERS.items()})
    env.tests.update(TESTS)
    return env


def _none_as_empty(value: Any) -> Any:
    return "" if value is None else value


class TemplateProblem(ValueError):
    """A value that cannot be rendered (`undefined`: because a variable it uses is not)."""

    def __init__(self, message: str, *, undefined: bool = False) -> None:
        super().__init__(message)
        self.undefined = undefined


def is_template(value: Any) -> bool:
    """True for text Ansible would template (not `!unsafe`, with `{{`, `{%` or `{#`)."""
    return (isinstance(value, str) and not isinstance(value, UnsafeText)
            and any(m in value for m in ("{{", "{%", "{#")))


def magic_vars(name: str, groups: tuple[str, ...], source: str | None = None
               ) -> dict[str, Any]:
    """The per-host names Ansible adds for templating; with `source` (the -i source that
    first named the host) also `inventory_file` and `inventory_dir`."""
    short = name if _IPV4.match(name) or ":" in name else name.split(".", maxsplit=1)[0]
    names = {"inventory_hostname": name, "inventory_hostname_short": short,
             "group_names": sorted(groups)}
    return names if source is None else {**names, **source_vars(source)}


@cache  # once a source, not once a host: telling a host list from a path asks the disk
def source_vars(source: str) -> Mapping[str, str]:
    """`inventory_file` and `inventory_dir` as ansible-core sets them on a host: a file's
    absolute path (symlinks kept) and its directory; a `host1,host2,` list as written, and
    for its directory the text 'None' (ansible-core's basedir of a path that is not one)."""
    if is_host_list(source):
        return MappingProxyType({"inventory_file": source, "inventory_dir": "None"})
    path = os.path.normpath(os.path.abspath(source))
    return MappingProxyType({"inventory_file": path, "inventory_dir": os.path.dirname(path)})


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

    def _context(self, names: set[str], depth: int, deferred: list[TemplateProblem]
                 ) -> dict[str, Any]:
        """The values of the variables `names` a template uses. One whose own template uses
        an undefined variable is left undefined, as ansible-core leaves it (`default()` and
        `is defined` see it so), its problem put in `deferred` to be told if it is used."""
        context = {}
        for name in names:
            if name in self._vars:
                try:
                    context[name] = self.value(name, depth + 1)
                except TemplateProblem as exc:
                    if not exc.undefined:
                        raise
                    deferred.append(exc)
        return context

    def render(self, text: str, depth: int = 0) -> Any:
        """The rendered value; TemplateProblem when it cannot be rendered.

        A template that is one `{{ expression }}` and nothing else gives the expression's
        own value (a number, a boolean, a list), as ansible-core 2.19 renders it; any other
        gives text."""
        if depth > _MAX_DEPTH:
            raise TemplateProblem("templates refer to each other in a loop")
        from jinja2 import TemplateError, UndefinedError, meta

        from fleetcheck.inventory.jinjabound import step_budget

        env = environment()
        deferred: list[TemplateProblem] = []
        try:
            tree = env.parse(text)
            names = meta.find_undeclared_variables(tree)
            runtime = sorted(n for n in names if n in RUNTIME_NAMES and n not in self._vars)
            if runtime:
                raise TemplateProblem(
                    f"cannot render {text!r}: {runtime[0]!r} is set by Ansible while a play "
                    "runs, and fleetcheck has no value for it")
            context = self._context(names, depth, deferred)
            inner = _single_expression(text, tree)
            if inner is not None:
                expression = env.compile_expression(inner, undefined_to_none=False)
                with step_budget():
                    return _defined(expression(context))
            template = env.from_string(tree)
            with step_budget():
                return template.render(context)
        except TemplateProblem:
            raise  # said already (a name Ansible alone has, a variable it refers to)
        except UndefinedError as exc:
            if deferred:  # a variable left undefined was used: its own template says why
                raise deferred[0] from None
            raise TemplateProblem(f"cannot render {text!r}: {exc.message or exc}",
                                  undefined=True) from None
        except TemplateError as exc:
            raise TemplateProblem(f"cannot render {text!r}: {exc.message or exc}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError, MemoryError,
                RecursionError) as exc:
            # What Python itself refuses (an integer too long to print, ...): never a crash.
            raise TemplateProblem(f"cannot render {text!r}: {type(exc).__name__}: {exc}") \
                from None


_WHOLE = re.compile(r"^\{\{[-+]?(.*?)[-+]?\}\}$", re.DOTALL)


def _single_expression(text: str, tree: Any) -> str | None:
    """The expression of a template that is `{{ expression }}` alone (None for any other)."""
    from jinja2 import nodes

    whole = _WHOLE.match(text)
    if whole is None or len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    output = tree.body[0].nodes
    if len(output) != 1 or isinstance(output[0], nodes.TemplateData):
        return None
    return whole.group(1)


def _defined(value: Any) -> Any:
    """`value`, checked to be no Undefined (which only fails once it is used) and, as a
    number, one Python can write out (a longer one is refused here, not where it is used)."""
    from jinja2 import Undefined

    from fleetcheck.inventory.jinjabound import sized

    if isinstance(value, Undefined | int):
        str(value)  # StrictUndefined raises the UndefinedError naming the variable
    return sized(value)
