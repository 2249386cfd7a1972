"""The HTML report: one self-contained, printable page an auditor can keep as evidence.

Jinja2 with autoescaping renders everything the run carries as text; the page's own style
and script are inline and pinned by hash in a Content-Security-Policy, so the file loads
nothing from anywhere and no text from a host can become markup or script.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator
from functools import cache
from importlib import resources
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, Template
from markupsafe import Markup

from fleetcheck import __version__
from fleetcheck.clock import now_iso
from fleetcheck.model import HostResult, RunResult
from fleetcheck.render import changes_view, evidence_view, nsview, view
from fleetcheck.render.groups import compact_hosts, count_hosts
from fleetcheck.render.hints import causes
from fleetcheck.render.hostview import detail, lazy_data
from fleetcheck.render.jinja_cache import compile_settings, template_cache
from fleetcheck.render.lastrun import scrubbed
from fleetcheck.render.options import RenderOptions
from fleetcheck.render.overview import allowed_by_policy, percent, run_overview, waived_groups
from fleetcheck.render.shared import NONCE_MARK, commands_of, number
from fleetcheck.render.waived import expiring_waivers

# Up to this many hosts, sections of hosts with problems start open; beyond it every host
# section starts collapsed so the page opens on the verdict and the findings.
OPEN_HOSTS_UP_TO = 20
# A host list (finding group, cause, fleet-view port) names up to this many hosts or ranges
# inline; longer lists show the first few and the whole list one click away.
HOSTS_INLINE = 8
# From this many hosts on, host details are embedded as JSON and built when a host is
# opened: the page stays small and its first screen fast (docs/reports.md).
LAZY_HOSTS_FROM = 500
GROUP_ROWS = 12  # inventory groups in the compliance table before the rest collapse
_UNSAFE_ID = re.compile(r"[^A-Za-z0-9._-]")
CSS_FILES = ("report.css", "evidence.css")  # inlined in this order


@cache
def _template() -> Template:
    """The report template, loaded once from the package."""
    env = Environment(loader=PackageLoader("fleetcheck.render", "templates"), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True)
    env.bytecode_cache = template_cache(compile_settings(env))
    return env.get_template("report.html.j2")


def _csp_hash(text: str) -> str:
    """The CSP source expression that allows exactly `text` inline."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def _assets() -> tuple[Markup, Markup, str]:
    """The inline style and script (our own files, trusted) and the policy that pins them."""
    files = resources.files("fleetcheck.render").joinpath("templates")
    css = "".join(files.joinpath(name).read_text("utf-8") for name in CSS_FILES)
    js = files.joinpath("report.js").read_text("utf-8")
    csp = (f"default-src 'none'; style-src {_csp_hash(css)}; script-src {_csp_hash(js)}; "
           "base-uri 'none'; form-action 'none'")
    # Markup: these are fleetcheck's own shipped files, never text from a run.
    return Markup(css), Markup(js), csp  # noqa: S704


def anchor(kind: str, name: str) -> str:
    """An element id for a host, waiver or port that any name maps to without collisions."""
    return f"{kind}-" + _UNSAFE_ID.sub(lambda m: f"_{ord(m.group()):x}_", name)


def _search(host: HostResult) -> str:
    """The words the host filter matches: identity, status, error, ports and processes."""
    words = [host.name, host.address, host.status.value, host.os or "", host.collector or "",
             *host.groups, host.error.kind if host.error else "",
             host.error.message if host.error else ""]
    for jl in host.listeners:
        li = jl.listener
        words += [f"{li.proto}/{li.port}", str(li.port), li.process or "", jl.verdict.value]
        if li.container is not None:  # containers are found by name, image and pod too
            c = li.container
            words += [c.name or "", c.image or "", c.pod or "", c.k8s_namespace or ""]
    return " ".join(dict.fromkeys(w for w in words if w))


def _heads(hosts: list[HostResult]) -> list[tuple[HostResult, str, str, str | None]]:
    """What each host's collapsed section shows: (host, status, element id, '3 listeners ·
    1 open finding' or the error's kind or None). Arranged here, not by template calls
    per host and field: those were most of the page's cost at fleet scale."""
    return [(h, h.status.value, anchor("host", h.name),
             f"{view.plural(len(h.listeners), 'listener')} · "
             f"{view.plural(view.open_findings(h), 'open finding')}" if h.checked
             else h.error.kind if h.error else None) for h in hosts]


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The report page; `options.rendered_at` (default: now) is its only varying text."""
    return _template().render(**_context(run, options))


# Pieces of about this many characters (the template yields thousands of small ones): big
# enough to write in few calls, small enough that a page of one host comes in several.
_PIECE = 1 << 14


def render_chunks(run: RunResult, options: RenderOptions | None = None) -> Iterator[str]:
    """`render`'s page in pieces of about 16 KiB, for a file: a fleet's page (tens of
    megabytes) and its encoded bytes are never whole in memory at once."""
    batch: list[str] = []
    size = 0
    for piece in _template().generate(**_context(run, options)):
        batch.append(piece)
        size += len(piece)
        if size >= _PIECE:
            yield "".join(batch)
            batch, size = [], 0
    if batch:
        yield "".join(batch)


def _context(run: RunResult, options: RenderOptions | None) -> dict[str, Any]:
    """What the report template is rendered with."""
    # What a host or an inventory wrote is shown as the terminal shows it: a bidi override
    # in a process name would otherwise reorder what an auditor reads (the JSON keeps it
    # exactly), and a name stays on one line. The run record's digest is the record's own.
    recorded, run = run, scrubbed(run)
    opts = options or RenderOptions()
    rendered_at = opts.rendered_at or now_iso()
    css, js, csp = _assets()
    open_rows, waived_rows = view.finding_rows(run)
    overview = run_overview(run)
    groups, waived = overview.groups, waived_groups(run)
    hosts = view.sorted_hosts(run)
    waivers = view.sorted_waivers(run.waivers)
    open_hosts = {h.name for h in hosts if h.status.value != "compliant"} \
        if len(hosts) <= OPEN_HOSTS_UP_TO else set()
    lazy_from = opts.lazy_hosts_from if opts.lazy_hosts_from is not None else LAZY_HOSTS_FROM
    shared = commands_of(run)  # of `hosts`: the report's order, as `sorted_hosts`
    lazy = Markup(lazy_data(run, hosts, shared)) if len(hosts) >= lazy_from else ""  # noqa: S704
    unchecked = view.unchecked_hosts(run)
    threshold = view.fail_on(run)
    group_ids = {id(g): f"group-{n}" for n, g in enumerate(groups, 1)}
    group_ids.update({id(g): f"waived-group-{n}" for n, g in enumerate(waived, 1)})
    return dict(  # noqa: C408 - keywords, as the template names them
        run=run, head=view.headline(run), kicker=" · ".join(view.run_line(run)),
        counts=view.status_counts(run), severities=view.severity_counts(run),
        facts=view.run_facts(run), overview=overview, allowed=allowed_by_policy(run),
        group_rows=GROUP_ROWS, percent=percent,
        warnings=view.warnings(run), inputs=view.input_rows(run),
        open_count=len(open_rows), waived_count=len(waived_rows), groups=groups,
        waived_groups=waived, grouped_history=any(g.changes for g in groups),
        group_id=lambda g, waived=False: group_ids[id(g)],
        causes=causes(unchecked), unchecked_count=len(unchecked), waivers=waivers,
        expiring={w.id: days for w, days in expiring_waivers(run)},
        unused=[w for w in waivers if w.status == "unused"], fleet=view.fleet_rows(run),
        inline=HOSTS_INLINE, compact=compact_hosts, count=count_hosts, hosts=hosts,
        heads=_heads(hosts),
        open_hosts=open_hosts, lazy=lazy, detail=lambda h: detail(h, threshold),
        rendered_at=rendered_at, version=__version__, css=css, js=js, csp=csp,
        anchor=anchor, search=_search, seconds=view.seconds,
        command_preview=view.command_preview, line_count=view.line_count,
        shared=list(shared.values()), shared_number=lambda c: number(shared, c),
        nonce_mark=NONCE_MARK,
        open_findings=view.open_findings, scope=view.waiver_scope, source=view.waiver_source,
        yes_no=view.yes_no, notes=view.listener_notes, plural=view.plural,
        fail_on=view.fail_on(run), verdict_words=view.verdict_words, is_red=view.is_red,
        ev=evidence_view.evidence(run, recorded), count_word=evidence_view.count_word,
        images=nsview.image_rows(run), history=changes_view.html_context(run), owner=view.owner,
    )
