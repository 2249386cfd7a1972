"""The HTML report without a browser: self-contained, escaped, pinned by its policy, complete."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import re
from html.parser import HTMLParser

import pytest

from fleetcheck.engine.summary import summarize
from fleetcheck.errors import ErrorKind
from fleetcheck.evidence.scope import run_digest
from fleetcheck.model import FindingKind, RunResult, Severity
from fleetcheck.render import RenderOptions, html
from tests.render import builders
from tests.render.synthetic import synthetic_run


class Page(HTMLParser):
    """Every start tag with its attributes, and the text of each <style> and <script>."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.raw: dict[str, list[str]] = {"style": [], "script": []}
        self._in: str | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._in = tag if tag in self.raw else None

    def handle_endtag(self, tag: str) -> None:
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in:
            self.raw[self._in].append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        """Attributes of every `tag` whose attributes include `attrs`."""
        return [a for t, a in self.tags if t == tag
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def _csp_hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def test_self_contained_and_pinned_by_its_content_security_policy(composite: RunResult) -> None:
    text = html.render(composite)
    page = Page(text)
    for _tag, attrs in page.tags:
        for name in ("src", "srcset", "action", "data", "poster"):
            assert name not in attrs, f"{_tag} loads {attrs[name]}"
        href = attrs.get("href")
        assert href is None or href.startswith("#"), f"link leaves the page: {href}"
    assert not re.search(r"url\(|@import|https?://(?!json-schema)", "".join(page.raw["style"]))
    assert len(page.raw["script"]) == 1 and len(page.raw["style"]) == 1
    (csp,) = [a["content"] for a in page.find("meta", http_equiv="Content-Security-Policy")]
    assert csp is not None and csp.startswith("default-src 'none'")
    assert f"script-src {_csp_hash(page.raw['script'][0])}" in csp
    assert f"style-src {_csp_hash(page.raw['style'][0])}" in csp
    assert page.find("meta", name="viewport")


def test_text_from_hosts_is_escaped_never_markup(composite: RunResult) -> None:
    text = html.render(composite)
    assert builders.XSS not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<b>(publickey)</b>" not in text and "&lt;b&gt;(publickey)&lt;/b&gt;" in text
    assert text.count("<script") == 1


@pytest.mark.parametrize("lazy", [None, 1])
def test_names_are_shown_as_a_terminal_shows_them(composite: RunResult, lazy: int | None,
                                                  ) -> None:
    """A right-to-left override in a process name would show `xsshd` for what is
    `x\u202edhss`, and a host name's ESC would vanish: both are shown as escapes, in the
    host sections written out and in those the script builds from data alike. The run
    record's digest is still the record's own."""
    host = composite.hosts[0]
    judged = host.listeners[0]
    listener = dataclasses.replace(judged, listener=dataclasses.replace(
        judged.listener, process="x\u202edhss"))
    odd = dataclasses.replace(host, name="web\x1b]0;t\x07-01", listeners=(listener,
                              *host.listeners[1:]))
    run = dataclasses.replace(composite, hosts=(odd, *composite.hosts[1:]))
    text = html.render(run, RenderOptions(rendered_at="then", lazy_hosts_from=lazy))
    assert not {"\u202e", "\x1b", "\x07"} & set(text)
    assert "x\\u202edhss" in text and "web\\x1b]0;t\\x07-01" in text
    assert f"sha256 {run_digest(run)}" in text


def test_1923_is_a_red_finding_first_and_a_red_fleet_row(composite: RunResult) -> None:
    page = Page(html.render(composite))
    findings = [a for a in page.find("tr") if "finding" in (a.get("class") or "").split()]
    assert "red" in (findings[0].get("class") or "").split()
    assert "kind-forbidden" in (findings[0].get("class") or "")
    (port,) = page.find("tr", id="port-tcp-1923")
    assert "red" in (port.get("class") or "").split()


def test_every_fact_of_every_section(composite: RunResult) -> None:
    text = html.render(composite, RenderOptions(rendered_at="2030-01-01T00:00:00Z"))
    page = Page(text)
    assert '<h1>NONCOMPLIANT</h1>' in text
    for warning in composite.meta["warnings"]:
        assert warning in text
    for i in composite.inputs:
        assert i.sha256 in text and i.path in text
    (expired,) = page.find("tr", id="waiver-W-200")
    assert "expired" in (expired.get("class") or "").split()
    assert re.search(r'id="unused-waivers".*W-300', text)
    assert 'data-status="unreachable"' in text and "connect_timeout" in text
    assert '<span id="rendered-at">2030-01-01T00:00:00Z</span>' in text
    assert "fleetcheck scan -i inventory/prod.ini" in text
    for h in composite.hosts:
        for c in h.commands:
            assert f"exit code <strong>{'none' if c.exit_code is None else c.exit_code}" in text


def test_every_error_kind_is_shown_as_itself() -> None:
    hosts = [builders.failed_host(f"h-{k.value}", k, f"failed: {k.value}") for k in ErrorKind]
    run = dataclasses.replace(builders.composite_run(), hosts=tuple(hosts), waivers=(),
                              summary=summarize(hosts, Severity.LOW, complete=False))
    text = html.render(run)
    assert "<h1>INCOMPLETE</h1>" in text  # the interruption outranks the unchecked hosts
    assert "interrupted" in text
    for k in ErrorKind:  # one row per cause, named as itself, with its host
        assert f'<td data-label="Cause" class="mono">{k.value}</td>' in text
        assert f'<span class="who">h-{k.value}</span>: failed: {k.value}' in text


def test_the_composite_covers_every_finding_kind(composite: RunResult) -> None:
    kinds = {f.kind for h in composite.hosts for f in h.findings}
    assert kinds == set(FindingKind)
    assert {w.status for w in composite.waivers} == {"active", "expired", "unused"}
    assert {h.status.value for h in composite.hosts} == {"compliant", "noncompliant",
                                                         "unreachable", "error"}


@pytest.mark.parametrize(("hosts", "opened"), [(5, 4), (300, 0)])
def test_problem_hosts_open_only_in_small_runs(hosts: int, opened: int) -> None:
    run = builders.composite_run() if hosts == 5 else synthetic_run(hosts)
    text = html.render(run)
    page = Page(text)
    details = [a for a in page.find("details") if "host" in (a.get("class") or "").split()]
    assert len(details) == len(run.hosts)
    assert sum(1 for a in details if "open" in a) == opened
    assert text.index('id="findings"') < text.index('id="hosts"')


def test_compliant_and_empty_runs_say_so() -> None:
    base = builders.composite_run()
    (db1,) = [h for h in base.hosts if h.name == "db1"]
    ok = dataclasses.replace(base, hosts=(db1,), waivers=(),
                             summary=summarize([db1], Severity.LOW, complete=True))
    assert "<h1>COMPLIANT</h1>" in html.render(ok)
    empty = dataclasses.replace(base, hosts=(), waivers=(),
                                summary=summarize([], Severity.LOW, complete=True))
    text = html.render(empty)
    assert "<h1>NOTHING CHECKED</h1>" in text and "No open findings." in text
