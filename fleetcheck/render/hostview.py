"""One host's details as the HTML report shows them, arranged once for both ways it is shown.

Small runs render every host's details into the page (the template reads `HostDetail`);
large runs embed the same details as compact JSON that the page's script turns into the
same elements when a host is opened (`lazy_data`). Both read what this module arranged, so
a host reads the same either way; strings repeated across hosts (the probe script, a
common stderr line) are stored once in the JSON.
"""

from __future__ import annotations

import json
from typing import Any

from fleetcheck.frozen import frozen
from fleetcheck.model import CommandRecord, HostResult, JudgedListener, RunResult, Severity
from fleetcheck.render import nsview, view
from fleetcheck.render.shared import NONCE_MARK, Shared, number, shared_commands
from fleetcheck.render.waived import Standing

# Tone of a listener row: its class in the page.
_ROW_CLASS = {"waived": "waived", "below": "below", "red": "red", "": ""}


@frozen
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


@frozen
class Place:
    """A network namespace or hostNetwork container whose listeners share one table."""

    title: str
    detail: str


@frozen
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
           exposure: str = "", place: int = 0) -> list[Any]:
    """One listener row of `host`: the fields of ListenerCells in order, as the JSON carries
    them (the page built from JSON makes no ListenerCells: a thousand hosts' worth costs)."""
    li, v = jl.listener, jl.verdict.value
    cls = ("waived" if standing and standing.waiver else "below" if standing
           else "red" if view.is_red(jl, standing) else "")
    return [
        cls, li.proto, li.port, view.service_name(li.port, li.proto), view.bind_address(li),
        li.process or "?", "" if li.pid is None else str(li.pid), li.user or "",
        view.verdict_words(jl, standing), "" if standing else f"v-{v}",
        jl.rule or ("(default)" if v == "allowed" else ""),
        "; ".join(x for x in (view.owner_unknown_why(host, li), view.listener_notes(li)) if x),
        exposure, place]


def listener_cells(host: HostResult, threshold: Severity) -> tuple[list[ListenerCells],
                                                                    list[Place]]:
    """A host's listener rows in report order, and the places they are grouped by (none
    on a host without containers: one table, as it always was)."""
    rows, places = _listener_rows(host, threshold)
    return [ListenerCells(*row) for row in rows], places


def _listener_rows(host: HostResult, threshold: Severity) -> tuple[list[list[Any]],
                                                                   list[Place]]:
    """`listener_cells` as the JSON carries each row."""
    if not nsview.has_containers(host):
        return [_cells(host, jl, st) for jl, st in view.listener_rows(host, threshold)], []
    rows, places = [], []
    for k, group in enumerate(nsview.groups(host, threshold)):
        places.append(Place(group.title, group.detail))
        rows += [_cells(host, jl, st, nsview.exposure_words(jl), k) for jl, st in group.rows]
    return rows, places


# The facts of a host's section, in order (the JSON names them once, in `labels`).
FACT_LABELS = ("Address", "OS", "Collector", "Groups", "Policies", "Privileged", "Duration")


def _facts(host: HostResult) -> list[str]:
    """The values of FACT_LABELS for `host`."""
    return [host.address, view.os_words(host) or "unknown", host.collector or "-",
            ", ".join(host.groups) or "-", ", ".join(host.policies) or "-",
            view.yes_no(host.privileged), view.seconds(host.duration)]


def _missing(host: HostResult) -> list[tuple[str, str]]:
    """(kind, sentence) of the findings of a checked host that no listener row shows."""
    if not host.checked:
        return []
    return [(f.kind.value, f.message + (f" (waived by {f.waiver})" if f.waived else ""))
            for f in host.findings if not f.address]


def _places_note(host: HostResult, listeners: int, places: int) -> str:
    """'5 listeners in 3 places; 2 container network namespaces read' ('' without places)."""
    if not places:
        return ""
    read = host.namespaces.read if host.namespaces is not None else 0
    return (f"{view.plural(listeners, 'listener')} in {view.plural(places, 'place')}; "
            f"{view.plural(read, 'container network namespace')} read")


def detail(host: HostResult, threshold: Severity) -> HostDetail:
    """The section of `host`."""
    rows, places = listener_cells(host, threshold) if host.checked else ([], [])
    return HostDetail(list(zip(FACT_LABELS, _facts(host), strict=True)),
                      (host.error.kind, host.error.message) if host.error else None,
                      list(host.notes), host.checked, rows, _missing(host), places,
                      _places_note(host, len(rows), len(places)))


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


# Where the HTML's preview of a command sends the reader for the whole of it.
_WHOLE = "under Exact command"


class _Commands:
    """Hosts' commands as the JSON's lists. Every host runs the same probe (13 KB) but for
    its nonce: its parts are found in the table by comparing them with the last command's,
    not by hashing them again, and its preview's counts are worked out once per run."""

    def __init__(self, strings: _Strings, shared: Shared) -> None:
        self.strings = strings
        self.shared = shared
        self._last: tuple[list[str], list[int]] = ([], [])
        self._tails: dict[tuple[tuple[int, ...], int], str] = {}

    def row(self, c: CommandRecord) -> list[Any]:
        """[command, preview, exit code, seconds, stdout, stdout lines, stderr, stderr lines,
        nonce, shared command number] (see `lazy_data`)."""
        refs = self._parts(c.command, c.nonce)
        tail = None
        if c.nonce.isalnum():
            # A nonce without a line break (an alphanumeric one) leaves the length and line
            # count to the template's parts and the text's length: the same on every host.
            key = (tuple(refs), len(c.command))
            tail = self._tails.get(key)
            if tail is None:
                tail = self._tails[key] = view.preview_tail(c.command, _WHOLE)
        preview = view.command_preview(c.command, _WHOLE, tail=tail)
        shared = number(self.shared, c)
        return [[] if shared else refs, self.strings.parts(preview, c.nonce), c.exit_code,
                view.seconds(c.duration), c.stdout, view.line_count(c.stdout),
                self.strings.ref(c.stderr), view.line_count(c.stderr), c.nonce, shared]

    def _parts(self, text: str, nonce: str) -> list[int]:
        """`_Strings.parts`, with the last command's parts reused when they are the same."""
        if not nonce:
            return [self.strings.ref(text)]
        parts = text.split(nonce)
        if parts != self._last[0]:
            self._last = (parts, [self.strings.ref(p) for p in parts])
        return list(self._last[1])


def lazy_data(run: RunResult, hosts: list[HostResult], shared: Shared | None = None) -> str:
    """Every host's details as one compact JSON document, safe inside a <script> element.

    hosts[i] = [facts, error, notes, checked, listener rows, missing, commands, places,
    places note] (places: [title, detail] of each table on a host with containers), a command
    being [command, preview, exit code, seconds, stdout, stdout lines, stderr, stderr lines,
    nonce, shared] with stderr an index into `strings`, the command and its preview lists of
    indexes whose strings joined with the nonce make the text, and shared the number of the
    run's copy of a command several hosts ran (0: none; `shared_commands`), which the page
    names instead of writing the command out again.
    """
    threshold = view.fail_on(run)
    strings = _Strings()
    commands = _Commands(strings, shared_commands(hosts) if shared is None else shared)
    rows = []
    for h in hosts:  # what `detail` arranges, built straight into the JSON's lists
        listeners, places = _listener_rows(h, threshold) if h.checked else ([], [])
        rows.append([_facts(h), [h.error.kind, h.error.message] if h.error else None,
                     list(h.notes), h.checked, listeners, [list(m) for m in _missing(h)],
                     [commands.row(c) for c in h.commands], [[p.title, p.detail] for p in places],
                     _places_note(h, len(listeners), len(places))])
    text = json.dumps({"labels": list(FACT_LABELS) if hosts else [], "strings": strings.items,
                       "hosts": rows, "nonce_mark": NONCE_MARK},
                      ensure_ascii=False, separators=(",", ":"))
    # Inside <script> only '</' (and '<!--') could end or bend the element: escape every
    # '<' (and '>' and '&' for good measure) as JSON's own \u escapes.
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
