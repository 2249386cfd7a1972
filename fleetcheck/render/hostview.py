"""One host's details as the HTML report shows them, arranged once for both ways it is shown.

Small runs render every host's details into the page (the template reads `HostDetail`);
large runs embed the same details as compact JSON that the page's script turns into the
same elements when a host is opened (`lazy_data`). Both read what this module arranged, so
a host reads the same either way; strings repeated across hosts (the probe script, a
common stderr line) are stored once in the JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fleetcheck.model import HostResult, JudgedListener, RunResult, Severity
from fleetcheck.render import nsview, view
from fleetcheck.render.waived import Standing

# Tone of a listener row: its class in the page.
_ROW_CLASS = {"waived": "waived", "below": "below", "red": "red", "": ""}


@dataclass(frozen=True, slots=True)
class ListenerCells:
    """One listener row: its class and cells, as displayed."""

    cls: str  # "red" | "waived" | "below" | ""
    proto: str
    port: int
    service: str
    bind: str
    process: str
    pid: str
    user: str
    verdict: str
    verdict_cls: str  # "v-stray" etc. when the verdict stands as is, else ""
    rule: str
    notes: str
    exposure: str = ""  # 'container-only', 'published on host port 8080', 'host' (containers)
    place: int = 0  # index into HostDetail.places, on a host with containers

    def row(self) -> list[Any]:
        """The row as the JSON carries it (cells in column order)."""
        return [self.cls, self.proto, self.port, self.service, self.bind, self.process,
                self.pid, self.user, self.verdict, self.verdict_cls, self.rule, self.notes,
                self.exposure, self.place]


@dataclass(frozen=True, slots=True)
class Place:
    """A network namespace or hostNetwork container whose listeners share one table."""

    title: str
    detail: str


@dataclass(frozen=True, slots=True)
class HostDetail:
    """Everything inside one host's section."""

    facts: list[tuple[str, str]]
    error: tuple[str, str] | None
    notes: list[str]
    checked: bool
    listeners: list[ListenerCells]
    missing: list[tuple[str, str]]  # (kind, sentence) of findings no listener row shows
    places: list[Place]  # empty unless the host has listeners in containers (one table each)
    places_note: str = ""  # '5 listeners in 3 places; 2 container network namespaces read'


def _cells(host: HostResult, jl: JudgedListener, standing: Standing | None,
           exposure: str = "", place: int = 0) -> ListenerCells:
    """One listener row of `host`."""
    li, v = jl.listener, jl.verdict.value
    cls = ("waived" if standing and standing.waiver else "below" if standing
           else "red" if view.is_red(jl, standing) else "")
    return ListenerCells(
        cls, li.proto, li.port, view.service_name(li.port, li.proto), view.bind_address(li),
        li.process or "?", "" if li.pid is None else str(li.pid), li.user or "",
        view.verdict_words(jl, standing), "" if standing else f"v-{v}",
        jl.rule or ("(default)" if v == "allowed" else ""),
        "; ".join(x for x in (view.owner_unknown_why(host, li), view.listener_notes(li)) if x),
        exposure, place)


def listener_cells(host: HostResult, threshold: Severity) -> tuple[list[ListenerCells],
                                                                    list[Place]]:
    """A host's listener rows in report order, and the places they are grouped by (none
    on a host without containers: one table, as it always was)."""
    if not nsview.has_containers(host):
        return [_cells(host, jl, st) for jl, st in view.listener_rows(host, threshold)], []
    rows, places = [], []
    for k, group in enumerate(nsview.groups(host, threshold)):
        places.append(Place(group.title, group.detail))
        rows += [_cells(host, jl, st, nsview.exposure_words(jl), k) for jl, st in group.rows]
    return rows, places


def detail(host: HostResult, threshold: Severity) -> HostDetail:
    """The section of `host`."""
    facts = [("Address", host.address), ("OS", view.os_words(host) or "unknown"),
             ("Collector", host.collector or "-"), ("Groups", ", ".join(host.groups) or "-"),
             ("Policies", ", ".join(host.policies) or "-"),
             ("Privileged", view.yes_no(host.privileged)),
             ("Duration", view.seconds(host.duration))]
    missing = [(f.kind.value, f.message + (f" (waived by {f.waiver})" if f.waived else ""))
               for f in host.findings if not f.address]
    rows, places = listener_cells(host, threshold) if host.checked else ([], [])
    read = host.namespaces.read if host.namespaces is not None else 0
    note = (f"{view.plural(len(rows), 'listener')} in {view.plural(len(places), 'place')}; "
            f"{view.plural(read, 'container network namespace')} read") if places else ""
    return HostDetail(facts, (host.error.kind, host.error.message) if host.error else None,
                      list(host.notes), host.checked, rows, missing if host.checked else [],
                      places, note)


class _Strings:
    """A table of distinct strings, each stored once and referred to by its index."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._index: dict[str, int] = {}

    def ref(self, text: str) -> int:
        index = self._index.get(text)
        if index is None:
            index = self._index[text] = len(self.items)
            self.items.append(text)
        return index

    def parts(self, text: str, nonce: str) -> list[int]:
        """`text` split at `nonce` as indexes (the page joins them with it): the probe, the
        same on every host but for its nonce, is stored once."""
        return [self.ref(p) for p in text.split(nonce)] if nonce else [self.ref(text)]


def lazy_data(run: RunResult, hosts: list[HostResult]) -> str:
    """Every host's details as one compact JSON document, safe inside a <script> element.

    hosts[i] = [facts, error, notes, checked, listener rows, missing, commands, places,
    places note] (places: [title, detail] of each table on a host with containers), a command
    being [command, preview, exit code, seconds, stdout, stdout lines, stderr, stderr lines,
    nonce] with stderr an index into `strings`, the command and its preview lists of indexes
    whose strings joined with the nonce make the text.
    """
    threshold = view.fail_on(run)
    strings = _Strings()
    rows = []
    for h in hosts:
        d = detail(h, threshold)
        commands = [[strings.parts(c.command, c.nonce),
                     strings.parts(view.command_preview(c.command, "under Exact command"),
                                   c.nonce),
                     c.exit_code, view.seconds(c.duration), c.stdout, view.line_count(c.stdout),
                     strings.ref(c.stderr), view.line_count(c.stderr), c.nonce]
                    for c in h.commands]
        rows.append([[v for _, v in d.facts], list(d.error) if d.error else None, d.notes,
                     d.checked, [c.row() for c in d.listeners], [list(m) for m in d.missing],
                     commands, [[p.title, p.detail] for p in d.places], d.places_note])
    text = json.dumps({"labels": [label for label, _ in detail(hosts[0], threshold).facts]
                       if hosts else [], "strings": strings.items, "hosts": rows},
                      ensure_ascii=False, separators=(",", ":"))
    # Inside <script> only '</' (and '<!--') could end or bend the element: escape every
    # '<' (and '>' and '&' for good measure) as JSON's own \u escapes.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
