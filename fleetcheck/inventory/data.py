"""The inventory under construction: groups, hosts, membership and inline variables.

It keeps the rules ansible-core's inventory keeps, because host order, group
depth and the `all`/`ungrouped` bookkeeping decide what a pattern selects and
which variable wins: every group hangs under `all`, a host in no other group
lands in `ungrouped`, and a group's depth is its longest path from `all`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from fleetcheck.bounded import MAX_GROUPS, MAX_HOSTS
from fleetcheck.errors import InputError
from fleetcheck.inventory import hostpattern
from fleetcheck.inventory.combine import merge_hash
from fleetcheck.inventory.notes import Notes
from fleetcheck.inventory.values import Origin, check_depth

LOCALHOST_NAMES = ("127.0.0.1", "localhost", "::1")
_INVALID_GROUP_CHARS = re.compile(r"^[\d\W]|[^\w]")  # ansible-core's INVALID_VARIABLE_NAMES
# Names Jinja reserves, which ansible-core refuses as variable names.
_JINJA_KEYWORDS = frozenset({"true", "false", "none", "True", "False", "None", "not"})


class Group:
    """One group: its direct hosts and child groups in the order they were added."""

    __slots__ = ("child_set", "children", "depth", "hosts", "member_set", "name", "origin",
                 "origins", "parent_since", "parents", "priority", "priority_origin", "vars")

    def __init__(self, name: str, origin: Origin | None) -> None:
        self.name = name
        self.origin = origin
        self.hosts: list[Host] = []
        self.member_set: set[str] = set()
        self.children: list[Group] = []
        self.child_set: set[Group] = set()  # `children` as a set: a test per edge, not a walk
        self.parents: list[Group] = []
        self.parent_since: dict[Group, int] = {}  # when each parent edge was made (`changes`)
        self.vars: dict[str, Any] = {}
        self.origins: dict[str, Origin] = {}
        self.priority = 1
        self.priority_origin: Origin | None = None
        self.depth = 0

    def __repr__(self) -> str:
        return f"Group({self.name!r})"

    def ancestors(self) -> set[Group]:
        """Every group above this one."""
        seen: set[Group] = set()
        todo = list(self.parents)
        while todo:
            g = todo.pop()
            if g not in seen:
                seen.add(g)
                todo.extend(g.parents)
        return seen

    def descendants_in_order(self) -> list[Group]:
        """This group, its children, then each further level (Ansible's walk; sets kept ordered)."""
        ordered = [self, *self.children]
        seen: dict[Group, None] = {}
        level = dict.fromkeys(self.children)
        while level:
            seen.update(level)
            following: dict[Group, None] = {}
            for group in level:
                for kid in group.children:
                    following[kid] = None
                    if kid not in seen:
                        ordered.append(kid)
            level = {g: None for g in following if g not in seen}
        return ordered

    def all_hosts(self) -> list[Host]:
        """Hosts of this group and of every group below it, first occurrence first."""
        out: list[Host] = []
        seen: set[str] = set()
        for group in self.descendants_in_order():
            for host in group.hosts:
                if host.name not in seen:
                    seen.add(host.name)
                    if self.name == "all" and host.implicit:
                        continue
                    out.append(host)
        return out


_NO_GROUPS: frozenset[Group] = frozenset()  # one shared empty set (3.11 makes a new one a call)


class Host:
    """One host: its inline variables (last assignment wins) and the groups it was put in."""

    __slots__ = ("direct", "dropped", "implicit", "joined", "name", "origin", "origins",
                 "source", "vars")

    def __init__(self, name: str, origin: Origin | None, source: str | None) -> None:
        self.name = name
        self.origin = origin
        self.source = source
        self.vars: dict[str, Any] = {}
        self.origins: dict[str, Origin] = {}
        self.direct: list[Group] = []
        self.joined: dict[Group, int] = {}  # when it was put in each direct group (`changes`)
        # taken out of it, though a descendant's member (shared and empty for nearly all
        # hosts: a set each would cost a large fleet ~200 bytes a host)
        self.dropped: frozenset[Group] = _NO_GROUPS
        self.implicit = False

    def __repr__(self) -> str:
        return f"Host({self.name!r})"

    def groups_as_joined(self) -> list[Group]:
        """Its groups in the order ansible-core's Host lists them (`get_groups()`): a group
        it joins comes after that group's ancestors of the moment, and an ancestor a later
        edge makes comes when the edge is made (ties, which ansible-core takes from a set,
        by name)."""
        when: dict[Group, tuple[int, int, str]] = {}
        for group in self.direct:
            joined = self.joined.get(group, 0)
            when[group] = min(when.get(group, (joined, 1, group.name)), (joined, 1, group.name))
            todo = [(group, joined)]
            while todo:
                node, time = todo.pop()
                for parent in node.parents:
                    key = (max(time, node.parent_since.get(parent, 0)), 0, parent.name)
                    if parent not in when or key < when[parent]:
                        when[parent] = key
                        todo.append((parent, key[0]))
        return sorted((g for g in when if g not in self.dropped), key=when.__getitem__)

    def groups(self) -> set[Group]:
        """Every group this host belongs to, directly or through a child group, but those
        reconciling took it out of (`dropped`)."""
        out: set[Group] = set()
        for group in self.direct:
            if group not in out:
                out.add(group)
                out |= group.ancestors()
        return out - self.dropped


class InventoryData:
    """Groups and hosts in the order Ansible would hold them."""

    def __init__(self, notes: Notes | None = None) -> None:
        self.groups: dict[str, Group] = {}
        self.hosts: dict[str, Host] = {}
        self.localhost: Host | None = None
        self.current_source: str | None = None
        self.changes = 0  # bumped on every mutation, so a half-applied parse can be detected
        self.notes = notes if notes is not None else Notes()
        self.merge = False  # hash_behaviour = merge: mappings set twice are merged
        self._valid_names: set[str] = set()
        self.add_group("all")
        self.add_group("ungrouped")
        self.add_child("all", "ungrouped")

    def add_group(self, name: Any, origin: Origin | None = None) -> Group:
        """The group `name`, created if new."""
        _check_name("group", name, origin)
        group = self.groups.get(name)
        if group is None:
            if len(self.groups) >= MAX_GROUPS:
                raise _at(origin, f"more than {MAX_GROUPS:,} groups (the limit)")
            if _INVALID_GROUP_CHARS.search(name):
                self.notes.warn(f"invalid characters were found in group name {name!r} but not "
                                "replaced (Ansible keeps them, but they cannot be used as "
                                "variable names)", origin)
            group = self.groups[name] = Group(name, origin)
            self.changes += 1
        return group

    def add_host(self, name: Any, group: str | None = None, port: int | None = None,
                 origin: Origin | None = None) -> Host:
        """The host `name`, created if new, added to `group`; a port sets its ansible_port."""
        _check_name("host", name, origin)
        host = self.hosts.get(name)
        if host is None:
            if len(self.hosts) >= MAX_HOSTS:
                raise _at(origin, f"more than {MAX_HOSTS:,} hosts (the limit)")
            host = self.hosts[name] = Host(name, origin, self.current_source)
            self.changes += 1
            if port:  # only where the host is first seen, as Ansible does
                self.set_variable(host, "ansible_port", port, origin)
            if name in LOCALHOST_NAMES:
                if self.localhost is None:
                    self.localhost = host
                else:
                    self.notes.warn(f"a duplicate localhost-like entry was found ({name}); "
                                    f"first found localhost was {self.localhost.name}", origin)
        if group is not None:
            self._add_member(self.groups[group], host)
        return host

    def expand_entry(self, entry: str, origin: Origin | None) -> tuple[list[str], int | None]:
        """(host names, port) of a host entry; a range yielding none is a warning, as Ansible
        adds no host for it without a word."""
        pattern, port = hostpattern.split_entry(entry)
        try:
            names = hostpattern.expand(pattern)
        except hostpattern.RangeError as exc:
            raise _at(origin, str(exc)) from None
        if not names:
            self.notes.warn(f"host range {pattern!r} yields no hosts (Ansible skips it "
                            "silently)", origin)
        return names, port

    def _add_member(self, group: Group, host: Host) -> None:
        """Make `host` a direct member of `group` (once)."""
        if host.name not in group.member_set:
            group.member_set.add(host.name)
            group.hosts.append(host)
            host.direct.append(group)
            self.changes += 1
            host.joined[group] = self.changes

    def add_child(self, parent: str, child: str, origin: Origin | None = None) -> None:
        """Put group or host `child` into group `parent`; a cycle is an error."""
        pgroup = self.groups[parent]
        if child in self.groups:
            cgroup = self.groups[child]
            if cgroup is pgroup:
                raise _at(origin, f"group {child!r} cannot be a child of itself")
            if cgroup in pgroup.child_set:
                return
            if cgroup in pgroup.ancestors():
                raise _at(origin, f"making {child!r} a child of {parent!r} creates a cycle")
            pgroup.children.append(cgroup)
            pgroup.child_set.add(cgroup)
            if pgroup not in cgroup.parents:
                cgroup.parents.append(pgroup)
            self.changes += 1
            cgroup.parent_since.setdefault(pgroup, self.changes)
        elif child in self.hosts:
            self._add_member(pgroup, self.hosts[child])
        else:
            raise _at(origin, f"{child!r} is neither a known host nor a known group")

    def set_variable(self, entity: Group | Host, key: Any, value: Any,
                     origin: Origin | None) -> None:
        """Set an inline variable; `ansible_group_priority` on a group sets its priority."""
        # a fleet repeats a few names endlessly: each valid one is checked once
        if key not in self._valid_names and check_variable_name(key, origin, self.notes):
            self._valid_names.add(key)
        if isinstance(entity, Host) and entity.name in self.groups:
            # ansible-core looks an entity name up among the groups first
            self.notes.warn(f"variable {key!r} of host {entity.name!r} is set on group "
                            f"{entity.name!r} instead, as ansible-core does when a host and a "
                            "group share a name", origin)
            entity = self.groups[entity.name]
        self.changes += 1
        if isinstance(entity, Group) and key == "ansible_group_priority":
            try:  # ansible-core's int(): booleans, floats and numeric text are accepted
                entity.priority = int(value)
            except (TypeError, ValueError, OverflowError):
                raise _at(origin, f"ansible_group_priority of group {entity.name!r} must be "
                                  f"an integer, not {value!r}") from None
            entity.priority_origin = origin
            return
        check_depth(key, value, origin or Origin("<inventory>"))
        old = entity.vars.get(key)
        if self.merge and isinstance(old, Mapping) and isinstance(value, Mapping):
            value = merge_hash(old, value)
        entity.vars[key] = value
        if origin is not None:
            entity.origins[key] = origin

    def reconcile(self) -> None:
        """Hang parentless groups under `all`, fill `ungrouped`, compute depths; check names."""
        all_group, ungrouped = self.groups["all"], self.groups["ungrouped"]
        for group in list(self.groups.values()):
            if group is not all_group and not group.parents:
                self.add_child("all", group.name, group.origin)
        above = ungrouped.ancestors() - {all_group}  # empty unless `ungrouped` has a parent
        for host in self.hosts.values():
            names = {g.name for g in host.direct}
            if "ungrouped" in names:
                # ancestors count: a host of `ungrouped` made a child of `app` is in `app`
                # too (looked up only then: most hosts are in another group directly)
                if names - {"all", "ungrouped"} \
                        or {g.name for g in host.groups()} - {"all", "ungrouped"}:
                    forgotten = _forgotten(host, ungrouped, above) if above else {ungrouped}
                    ungrouped.hosts.remove(host)
                    ungrouped.member_set.discard(host.name)
                    host.direct.remove(ungrouped)
                    # ansible-core's Host forgets `ungrouped` even where a group below it
                    # still holds the host: its variables no longer reach the host
                    host.dropped = host.dropped | forgotten
            elif not host.implicit and names <= {"all"}:
                if host.name in self.groups:
                    # ansible-core files it with add_child, which looks the name up among
                    # the groups first: the group of that name joins `ungrouped`, not the host
                    try:
                        self.add_child("ungrouped", host.name, host.origin)
                    except InputError as exc:
                        raise _at(host.origin, f"host {host.name!r} is in no group but 'all' "
                                  "and shares its name with a group, which ansible-core puts "
                                  f"under 'ungrouped' instead: {exc.message}") from None
                else:
                    self._add_member(ungrouped, host)
        for name in self.hosts:
            if name in self.groups:
                origin = self.groups[name].origin
                # `all` and `ungrouped` are Ansible's own groups: no file defines them
                where = f"group defined at {origin}" if origin else \
                    f"'{name}' is Ansible's implicit group"
                self.notes.warn(f"found both group and host with same name: {name} ({where}; "
                                "a pattern naming it selects the host)",
                                self.hosts[name].origin)
        self.compute_depths()

    def compute_depths(self) -> None:
        """Depth = longest path from `all` (Ansible raises it as edges are added; same result)."""
        order: list[Group] = []
        state: dict[Group, int] = {}
        for root in self.groups.values():
            stack: list[tuple[Group, Iterator[Group]]] = [(root, iter(root.children))]
            if root in state:
                continue
            state[root] = 1
            while stack:
                node, kids = stack[-1]
                kid = next(kids, None)
                if kid is None:
                    stack.pop()
                    state[node] = 2
                    order.append(node)
                elif kid not in state:
                    state[kid] = 1
                    stack.append((kid, iter(kid.children)))
        for group in reversed(order):  # parents before children
            for kid in group.children:
                kid.depth = max(kid.depth, group.depth + 1)

    def deepen(self, parent: Group) -> None:
        """After an edge below `parent`: raise the depths under it (as compute_depths would
        from depths it left consistent; ansible-core raises them as edges are added). A
        whole compute_depths per new edge made a constructed source quadratic in hosts."""
        todo = [parent]
        while todo:
            group = todo.pop()
            for kid in group.children:
                if kid.depth < group.depth + 1:
                    kid.depth = group.depth + 1
                    todo.append(kid)

    def implicit_localhost(self, name: str) -> Host:
        """The inventory's localhost, or Ansible's implicit one (local connection)."""
        if self.localhost is not None:
            return self.localhost
        import sys

        host = Host(name, None, None)
        host.implicit = True
        host.vars["ansible_python_interpreter"] = sys.executable or "/usr/bin/python"
        host.vars["ansible_connection"] = "local"
        self.localhost = host
        return host


def check_variable_name(key: Any, origin: Origin | None, notes: Notes) -> bool:
    """True for a valid variable name; else warn, as Ansible does, and False."""
    if isinstance(key, str) and key.isidentifier() and key.isascii() \
            and key not in _JINJA_KEYWORDS:
        return True
    notes.warn(f"accepting inventory variable with invalid name {str(key)!r} (Ansible "
               "deprecates this; variable names start with a letter or underscore and hold "
               "only letters, digits and underscores)", origin)
    return False


def _forgotten(host: Host, ungrouped: Group, above: set[Group]) -> set[Group]:
    """The groups ansible-core's Host forgets when reconciling takes it out of `ungrouped`,
    whose ancestors (but `all`) are `above`: `ungrouped`, and each of those ancestors that
    no other group of the host lies below, even one the host was put in itself."""
    # Host.remove_group drops an ancestor of the group it removes unless it is an ancestor
    # of a group the host keeps, and repeats that for each ancestor it drops: what stays
    # is what lies above a group the host has outside `above`.
    kept = host.groups() - above - {ungrouped}
    held = set().union(*(g.ancestors() for g in kept))
    return {ungrouped} | (above - held)


def _check_name(kind: str, name: Any, origin: Origin | None) -> None:
    """InputError unless `name` is a non-empty string."""
    if not isinstance(name, str):
        raise _at(origin, f"{kind} name must be a string, not {type(name).__name__}: {name!r}")
    if not name:
        raise _at(origin, f"empty {kind} name")


def _at(origin: Origin | None, message: str) -> InputError:
    """An InputError at `origin` when known."""
    return origin.error(message) if origin is not None else InputError(message)
