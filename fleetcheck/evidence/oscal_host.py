"""The OSCAL document's bulk, each host's inventory item, observations and findings, written
whole as text (`pretty.Block`): what `pretty.dumps(item, rows=True)` would write, made
without building and walking a dict per item. What repeats from host to host (a prop such
as a rule or a verdict, a host's subject, a finding kind's target) is written once per run.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from fleetcheck.model import Finding, HostResult, JudgedListener, RunResult
from fleetcheck.policy.judge import describe
from fleetcheck.render import pretty, view

NS = "urn:fleetcheck"  # the namespace of fleetcheck's own property names
# The namespace every run's ids descend from (a UUID; the uuid module is not loaded for it).
ROOT = "6f1c2a52-9d3e-5b4e-8a0c-1f2e3d4c5b6a"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_STRING = pretty.string
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}  # a hex digit's 10xx form


def text(value: object) -> str:
    """One line OSCAL accepts as a property value or title: control characters escaped,
    no whitespace at either end, never empty."""
    found = str(value)
    if not found.isprintable():  # only then can there be a control character
        found = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", found)
    return found.strip() or "-"


def uuid5(namespace: str, name: str) -> str:
    """`str(uuid.uuid5(UUID(namespace), name))`, computed as RFC 4122 says."""
    sha = hashlib.sha1(bytes.fromhex(namespace.replace("-", "")), usedforsecurity=False)
    sha.update(name.encode())
    return _as_uuid5(sha.hexdigest())


def _as_uuid5(x: str) -> str:
    """A SHA-1 digest's hex as a version-5 UUID."""
    # Digit 12 is the version (5); digit 16's top two bits are the RFC 4122 variant.
    return f"{x[:8]}-{x[8:12]}-5{x[13:16]}-{_VARIANT[x[16]]}{x[17:20]}-{x[20:32]}"


class Ids:
    """Version-5 UUIDs derived from the run and a name, so re-rendering gives the same ids."""

    def __init__(self, run: RunResult) -> None:
        seed = f"{run.started_at}|{run.finished_at}|{run.meta.get('hostname', '')}"
        self.base = uuid5(ROOT, seed)
        self._hash = hashlib.sha1(bytes.fromhex(self.base.replace("-", "")),
                                  usedforsecurity=False)
        self._hosts: dict[str, str] = {}

    def __call__(self, *parts: object) -> str:
        """`uuid5(self.base, name)` of the parts joined (a document has thousands: the
        namespace is hashed once)."""
        sha = self._hash.copy()
        sha.update("\x1f".join(map(str, parts)).encode())
        return _as_uuid5(sha.hexdigest())

    def host(self, name: str) -> str:
        """The id of host `name` (its inventory item), which each of its parts names."""
        found = self._hosts.get(name)
        if found is None:
            found = self._hosts[name] = self("host", name)
        return found


_NS = f', "ns": {_STRING(NS)}}}'


def prop(name: str, value: object, ns: bool = True) -> str:
    """{"name": name, "value": value (`text`), "ns": NS} (no "ns": `ns` false), written."""
    return (f'{{"name": {_STRING(name)}, "value": {_STRING(text(value))}'
            + (_NS if ns else "}"))


def record(key: str, value: str) -> str:
    """{key: value}, written."""
    return f"{{{_STRING(key)}: {_STRING(value)}}}"


def rows(key: str, items: list[str]) -> str:
    """The member `key` of an object written at no indent: an array of written rows."""
    if not items:
        return f"{_STRING(key)}: []"
    return f"{_STRING(key)}: [\n    " + ",\n    ".join(items) + "\n  ]"


def block(members: list[str]) -> pretty.Block:
    """An object of written members ('"key": value'), as `pretty.Block`."""
    return pretty.Block("{\n  " + ",\n  ".join(members) + "\n}")


def props(pairs: Iterable[tuple[str, object]]) -> list[str]:
    """The props of (name, value) `pairs`, None and "" left out, written."""
    return [prop(name, value) for name, value in pairs if value is not None and value != ""]


class Props:
    """`props`, for groups of props whose values repeat across hosts (a listener's socket
    and process, a finding's kind and rule): each group written once per run."""

    def __init__(self) -> None:
        # (names, values, their types) -> written: values that compare equal but are written
        # differently (1, 1.0 and True in a hand-edited run file) are told apart by type.
        self._seen: dict[tuple[object, ...], list[str]] = {}

    def __call__(self, names: tuple[str, ...], values: tuple[object, ...]) -> list[str]:
        """`props(zip(names, values))`, remembered."""
        key = (names, values, *map(type, values))
        found = self._seen.get(key)
        if found is None:
            found = self._seen[key] = props(zip(names, values, strict=True))
        return found


# The groups of props that repeat from host to host.
_SOCKET = ("proto", "port", "address", "family", "process")  # a listener's, before its pid
_JUDGED = ("user", "verdict", "rule")  # a listener's, after its pid
# A finding's, after its id; below-threshold: under --fail-on, so no violation of the run.
_FINDING = ("kind", "severity", "rule", "waived", "below-threshold", "waiver")
INVENTORY = ("status", "collector", "groups", "policies")  # an inventory item's own props


@dataclass(slots=True)
class _Host:
    """What every part of one host repeats, written once."""

    subject: str  # its "subjects" member
    discovery: str  # the members a listener observation ends with
    finding: str  # the members a finding observation ends with


@dataclass(slots=True)
class HostParts:
    """Writes each host's observations, and gathers its findings and which observations
    each waiver's findings point to, for the document's later sections."""

    ids: Ids
    run: RunResult
    findings: list[pretty.Block] = field(default_factory=list)
    waived: dict[str, list[str]] = field(default_factory=dict)  # waiver id -> observations
    shared: Props = field(default_factory=Props)
    _targets: dict[tuple[str, str, str], str] = field(default_factory=dict)

    def observations(self) -> Iterator[pretty.Block]:
        """Every host's observations in report order (findings and waivers gathered)."""
        self.findings.clear()
        self.waived.clear()
        for h in view.sorted_hosts(self.run):
            yield from self._host(h)

    def _shared(self, h: HostResult) -> _Host:
        collected = f'"collected": {_STRING(self.run.finished_at)}'
        subject = rows("subjects", [f'{{"subject-uuid": "{self.ids.host(h.name)}", "type": '
                                    f'"inventory-item", "title": {_STRING(text(h.name))}}}'])
        evidence = rows("relevant-evidence", [record(
            "description", f"The output of {h.collector or 'the probe'} on {h.name}, kept in "
            "the fleetcheck run record.")])
        return _Host(subject, ",\n  ".join(['"methods": ["TEST"]', '"types": ["discovery"]',
                                            subject, evidence, collected]),
                     ",\n  ".join(['"methods": ["TEST"]', '"types": ["finding"]', subject,
                                   collected]))

    def _host(self, h: HostResult) -> Iterator[pretty.Block]:
        """`h`'s observations; its findings and waived observations gathered."""
        shared = self._shared(h)
        ids = self.ids
        # The observation of the first listener of each socket, as a finding names it.
        seen: dict[tuple[str, int | None, str | None, str | None], str] = {}
        by_id: dict[int, str] = {}
        for jl in view.host_listeners(h):
            li = jl.listener
            # the device only where there is one: 0.0.0.0%eth0 and %eth1 of one process
            # are two sockets, and a socket bound to none keeps the uuid it always had
            obs = ids("listener", h.name, li.proto, li.family, li.address, li.port, li.pid,
                      *((li.iface,) if li.iface else ()))
            by_id[id(jl)] = obs
            yield self._listener(h, jl, obs, shared)
        for jl in h.listeners:  # a finding names the first of its socket, as listed
            seen.setdefault((jl.listener.proto, jl.listener.port, jl.listener.address,
                             jl.listener.iface), by_id[id(jl)])
        if h.error is not None:
            obs = ids("unchecked", h.name)
            description = (f"{h.name} could not be checked ({h.error.kind}): "
                           f"{h.error.message}. Nothing is known about its listeners.")
            yield block([f'"uuid": "{obs}"',
                         f'"title": {_STRING(text(f"{h.name} not checked"))}',
                         f'"description": {_STRING(description)}', shared.finding])
            self.findings.append(block([
                f'"uuid": "{ids("finding", h.name, "unchecked")}"',
                f'"title": {_STRING(text(f"{h.name} could not be checked"))}',
                f'"description": {_STRING(description)}',
                rows("props", props([("error-kind", h.error.kind),
                                     ("status", h.status.value)])),
                self._target("checked", "fleetcheck host checked", "other"),
                rows("related-observations", [record("observation-uuid", obs)])]))
        for f in sorted(h.findings, key=Finding.sort_key):
            found = seen.get((f.proto, f.port, f.address, f.iface)) \
                if f.address is not None else None
            if found is None:
                found = ids("observation", h.name, f.id)
                yield block([f'"uuid": "{found}"',
                             f'"title": {_STRING(text(f"{f.kind.value} on {h.name}"))}',
                             f'"description": {_STRING(f.message)}', shared.finding])
            risk = None
            if f.waived and f.waiver:
                self.waived.setdefault(f.waiver, []).append(found)
                risk = ids("risk", f.waiver)
            self.findings.append(self._finding(h, f, found, risk))

    def _listener(self, h: HostResult, jl: JudgedListener, obs: str, shared: _Host,
                  ) -> pretty.Block:
        li = jl.listener
        verdict = jl.verdict.value
        title = text(f"{li.proto}/{li.port} on {view.bind_address(li)} ({h.name})")
        description = f"{h.name}: {describe(li)}: {verdict}" + (
            f" by {jl.rule}." if jl.rule else ".")
        written = [*self.shared(_SOCKET, (li.proto, li.port, li.address, li.family, li.process)),
                   *props([("pid", li.pid)]), *self.shared(_JUDGED, (li.user, verdict, jl.rule))]
        return block([f'"uuid": "{obs}"', f'"title": {_STRING(title)}',
                      f'"description": {_STRING(description)}', rows("props", written),
                      shared.discovery])

    def _finding(self, h: HostResult, f: Finding, observation: str,
                 risk: str | None) -> pretty.Block:
        kind = f.kind.value
        port = "any" if f.port is None else f.port
        members = [
            f'"uuid": "{self.ids("finding", h.name, f.id)}"',
            f'"title": {_STRING(text(f"{kind} {f.proto}/{port} on {h.name}"))}',
            f'"description": {_STRING(f.message)}',
            rows("props", [*props([("finding-id", f.id)]), *self.shared(_FINDING, (
                kind, f.severity.label, f.rule, "true" if f.waived else "false",
                "true" if f.below_threshold else "false", f.waiver))]),
            self._target(kind, text(f"fleetcheck {kind.replace('_', ' ')} check"), "fail"),
            rows("related-observations", [record("observation-uuid", observation)])]
        if risk is not None:
            members.append(rows("related-risks", [record("risk-uuid", risk)]))
        return block(members)

    def _target(self, objective: str, title: str, reason: str) -> str:
        """The "target" member for an objective ('fleetcheck-<objective>'), written once."""
        key = (objective, title, reason)
        found = self._targets.get(key)
        if found is None:
            found = self._targets[key] = (
                '"target": {\n    "type": "objective-id",\n'
                f'    "target-id": {_STRING("fleetcheck-" + objective)},\n'
                f'    "title": {_STRING(title)},\n'
                f'    "status": {{"state": "not-satisfied", "reason": {_STRING(reason)}}}\n  }}')
        return found
