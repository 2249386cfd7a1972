"""Variable names Ansible reserves, and its warning for a variable so named."""

from __future__ import annotations

from collections.abc import Sequence

from fleetcheck.inventory import InventoryHost
from fleetcheck.inventory.notes import Notes
from fleetcheck.inventory.values import Origin

# Names ansible-core reserves (ansible.vars.reserved, 2.19: the play, role, block and task
# keywords, and the names its templating defines); a variable so named gets its warning.
RESERVED_NAMES = frozenset({
    "action", "always", "any_errors_fatal", "args", "async", "async_val", "become",
    "become_exe", "become_flags", "become_method", "become_user", "block", "changed_when",
    "check_mode", "collections", "connection", "cycler", "debugger", "delay", "delegate_facts",
    "delegate_to", "dict", "diff", "environment", "fact_path", "failed_when", "force_handlers",
    "gather_facts", "gather_timeout", "handlers", "hosts", "ignore_errors",
    "ignore_unreachable", "joiner", "lipsum", "local_action", "lookup", "loop", "loop_control",
    "loop_with", "max_fail_percentage", "module_defaults", "name", "namespace", "no_log",
    "notify", "now", "omit", "order", "poll", "port", "post_tasks", "pre_tasks", "q", "query",
    "range", "register", "remote_user", "rescue", "retries", "roles", "run_once", "serial",
    "strategy", "tags", "tasks", "throttle", "timeout", "undef", "until", "vars_files",
    "vars_prompt", "when", "with_",
})  # `vars` too, which Ansible sets itself and does not warn about


def warn_reserved(hosts: Sequence[InventoryHost], notes: Notes) -> None:
    """Ansible's warning for each variable named as one it reserves, where it is written;
    as Ansible, where hosts' variables are worked out (a play, --list, --host), not where
    only names are (--export, --list-hosts). Written in many places (`port=` on every host
    line), a name is said once, with how many places more: a fleet's report stays read."""
    places: dict[str, list[str | None]] = {}
    for host in hosts:
        for name in host.vars:
            if name in RESERVED_NAMES:
                where = host.origins.get(name)
                seen = places.setdefault(name, [])
                if where not in seen:
                    seen.append(where)
    for name, wheres in places.items():
        more = f" (and in {len(wheres) - 1} more places)" if len(wheres) > 1 else ""
        notes.warn(f"found variable using reserved name {name!r}{more}",
                   Origin(wheres[0]) if wheres[0] else None)
    notes.check()  # --strict-inventory makes the first an error
