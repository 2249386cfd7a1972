"""A host of the run JSON written directly as text: exactly what `pretty` writes of
`HostResult.to_dict(table)` with `rows`, without building the dicts first.

A run's JSON is mostly its hosts' listener and finding records; building each as a dict
and encoding it costs several times what one f-string does. Only the common shapes are
written here: a listener or finding with anything else (a container, a namespace, an
unusual key), and any value not of a plain JSON type, is written from its `to_dict`, so the
text never differs (tests/render/test_jsonhost.py compares them on every run shape).
"""

from __future__ import annotations

from typing import Any

from fleetcheck.model import Finding, HostResult, JudgedListener
from fleetcheck.model.commands import CommandTable
from fleetcheck.model.container import HOST
from fleetcheck.render import pretty

_T = pretty.SCALAR_TEXT
# A StrEnum member (a verdict, a status, a kind) is a str whose text is its value.
_S = pretty.string
# What `JudgedListener.to_dict` adds after a plain listener's keys.
_NO_USER = ', "user": null'
_PLAIN = f', "container": null, "exposure": {pretty.string(HOST)}, '
_NO_DEVICE = '"iface": null, '  # a tool that does not show device bindings


def _opt(key: str, value: Any) -> str:
    """', "key": value' when `Listener.to_dict` writes the optional key, else ''."""
    if value is None or value is False or value == ():
        return ""
    return f', "{key}": {_T[type(value)](value)}'


def _listener(jl: JudgedListener) -> str:
    """`jl.to_dict()` as a row."""
    li = jl.listener
    if (li.container is not None or li.exposure != HOST or li.other_processes != ()
            or li.iface is not None or li.dual_stack is not False or li.truncated is not False
            or li.port_name is not None or li.service is not None or li.owner_note is not None
            or li.netns is not None or li.published_port is not None
            or li.route_localnet != ()):
        return pretty.text(jl.to_dict(), item=True)
    try:
        user = _opt("user", li.user)
        return (f'{{"proto": {_T[type(li.proto)](li.proto)}, '
                f'"family": {_T[type(li.family)](li.family)}, '
                f'"address": {_T[type(li.address)](li.address)}, '
                f'"port": {_T[type(li.port)](li.port)}, '
                f'"process": {_T[type(li.process)](li.process)}, '
                f'"pid": {_T[type(li.pid)](li.pid)}'
                f'{user}{_opt("uid", li.uid)}{_opt("inode", li.inode)}{"" if user else _NO_USER}'
                f'{_PLAIN}{"" if li.device_shown else _NO_DEVICE}"verdict": {_S(jl.verdict)}, '
                f'"rule": {_T[type(jl.rule)](jl.rule)}}}')
    except KeyError:  # a value of another type (read from a hand-made file): as JSON has it
        return pretty.text(jl.to_dict(), item=True)


def _finding(f: Finding) -> str:
    """`f.to_dict()` as a row."""
    if f.netns is not None or f.container is not None or f.iface is not None:
        return pretty.text(f.to_dict(), item=True)
    try:
        text = (f'{{"id": {_T[type(f.id)](f.id)}, '
                f'"kind": {_S(f.kind)}, '
                f'"severity": {_T[type(f.severity.label)](f.severity.label)}, '
                f'"proto": {_T[type(f.proto)](f.proto)}, '
                f'"port": {_T[type(f.port)](f.port)}, '
                f'"address": {_T[type(f.address)](f.address)}, '
                f'"process": {_T[type(f.process)](f.process)}, '
                f'"rule": {_T[type(f.rule)](f.rule)}, '
                f'"message": {_T[type(f.message)](f.message)}, '
                f'"waived": {_T[type(f.waived)](f.waived)}, '
                f'"waiver": {_T[type(f.waiver)](f.waiver)}, '
                f'"pid": {_T[type(f.pid)](f.pid)}, '
                f'"family": {_T[type(f.family)](f.family)}, '
                f'"below_threshold": {_T[type(f.below_threshold)](f.below_threshold)}')
        if f.first_seen is None and f.change is None:
            return text + "}"
        return (f'{text}, "first_seen": {_T[type(f.first_seen)](f.first_seen)}, '
                f'"age_days": {_T[type(f.age_days)](f.age_days)}, '
                f'"change": {_S(f.change) if f.change else "null"}'
                + (f', "flaps": {_T[type(f.flaps)](f.flaps)}}}' if f.flaps else "}"))
    except KeyError:
        return pretty.text(f.to_dict(), item=True)


def _command(record: dict[str, Any]) -> str:
    """A command record (`CommandRecord.to_dict(table)`) as a row: plain values and the
    non-empty list of a stdout's parts; anything else as the general writer has it."""
    try:
        return "{" + ", ".join([f"{_S(k)}: " + (_scalars(v) if type(v) is list and v
                                                  else _T[type(v)](v))
                                for k, v in record.items()]) + "}"
    except KeyError:  # an empty list (it would not be a row) or an unusual value
        return pretty.text(record, item=True)


def _records(key: str, items: list[str]) -> str:
    """The member `key`: an array of items written at no indent."""
    if not items:
        return f'"{key}": []'
    # Every line of the items (their own and those between them) 4 spaces in.
    return f'"{key}": [' + ("\n" + ",\n".join(items)).replace("\n", "\n    ") + "\n  ]"


def _member(key: str, value: Any) -> str:
    """The member `key` of any value."""
    return f"{pretty.string(key)}: " + pretty.text(value).replace("\n", "\n  ")


def _scalars(values: tuple[Any, ...] | list[Any]) -> str:
    """A tuple of plain scalars as its list is written (KeyError for another type)."""
    return "[" + ", ".join([_T[type(v)](v) for v in values]) + "]" if values else "[]"


def _head(h: HostResult) -> list[str]:
    """The members before the listeners (KeyError for a value of another type)."""
    e = h.error
    error = "null" if e is None else (f'{{"kind": {_T[type(e.kind)](e.kind)}, '
                                      f'"message": {_T[type(e.message)](e.message)}}}')
    duration = round(h.duration, 3)
    return [f'"name": {_T[type(h.name)](h.name)}',
            f'"address": {_T[type(h.address)](h.address)}',
            f'"groups": {_scalars(h.groups)}',
            f'"status": {_S(h.status)}',
            f'"os": {_T[type(h.os)](h.os)}',
            f'"collector": {_T[type(h.collector)](h.collector)}',
            f'"error": {error}',
            f'"privileged": {_T[type(h.privileged)](h.privileged)}',
            f'"policies": {_scalars(h.policies)}',
            f'"duration": {_T[type(duration)](duration)}',
            f'"notes": {_scalars(h.notes)}',
            f'"waivers": {_scalars(h.waivers)}']


def host(h: HostResult, table: CommandTable) -> pretty.Block:
    """`h.to_dict(table)` written (the table's references made in the same order)."""
    try:
        members = _head(h)
    except KeyError:  # nothing asked of the table yet: the host as its dict has it
        return pretty.Block(pretty.text(h.to_dict(table), item=True))
    members += [
        _records("listeners", [_listener(jl) for jl in h.listeners]),
        _records("findings", [_finding(f) for f in h.findings]),
        _records("commands", [_command(c.to_dict(table)) for c in h.commands])]
    if h.trusted_keys:
        members.append(_records("trusted_keys",
                                [pretty.text(k.to_dict(), item=True) for k in h.trusted_keys]))
    if h.distribution:
        members.append(f'"distribution": {_S(h.distribution)}' if type(h.distribution) is str
                       else _member("distribution", h.distribution))
    if h.namespaces:
        members.append(_member("namespaces", h.namespaces.to_dict()))
    return pretty.Block("{\n  " + ",\n  ".join(members) + "\n}")
