"""Every output of a hostile run read by a strict real consumer: what each must hold.

- text and the terminal summary: no character a terminal acts on, no line a hostile
  text started;
- Markdown: rendered by cmark-gfm (GitHub's own renderer, with its extensions): no link,
  image or raw HTML element, every table row as wide as its header;
- JUnit: parsed by expat (strict XML 1.0) and valid against tests/render/junit.xsd;
- CSV, grouped CSV and register: Python's csv reads rows as wide as the header, no cell a
  spreadsheet would run;
- JSON: strict JSON that round-trips through the run model unchanged;
- OSCAL: strict JSON that compliance-trestle's models load;
- HTML (statically; `browser_problems` in Chromium): no element, attribute or link a
  text made.
Each function returns its problems, one line each ([] when the output is as it must be).
"""

from __future__ import annotations

import csv
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import cmarkgfm
import xmlschema
from cmarkgfm.cmark import Options

from fleetcheck.model import RunResult
from fleetcheck.sanitize import one_line, printable
from tests.outputs.xformat_read import runs_as_formula

XSD = Path(__file__).parent.parent / "render" / "junit.xsd"
# What a terminal acts on or hides (sanitize's set) and raw surrogates: never in text for
# people.
_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028\u2029"
                       "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ud800-\udfff]")
_TAG = re.compile(r"T\d{3}Z")
_LINE_END = re.compile("\r\n|[\n\r\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
# Elements the Markdown summary's own markup makes (headings, tables, bold, <sub>, quotes).
_MD_TAGS = {"h2", "h3", "p", "strong", "table", "thead", "tbody", "tr", "th", "td",
            "blockquote", "sub", "br"}


def _line_breaks(stand_ins: list[str], shown: Callable[[str], str]) -> list[re.Pattern[str]]:
    """For each line end inside a hostile text, the text around it as `shown` shows it with
    a real line end between (a wrapped cell breaks at a space, never there): what no
    output may hold, since it would be a line a host began."""
    out = []
    for s in stand_ins:
        for m in _LINE_END.finditer(s):
            before, after = shown(s[:m.start()])[-12:], shown(s[m.end():])[:12]
            if before.strip() and after.strip():
                out.append(re.compile(re.escape(before) + r"\r?\n *" + re.escape(after)))
    return out


def check_text(name: str, text: str, stand_ins: list[str]) -> list[str]:
    """A report for a terminal or a text file: inert, and no line begun by a host."""
    out = [f"{name}: {m.group()!r} at {m.start()}: {text[max(0, m.start() - 30):m.start()]!r}"
           for m in list(_TERMINAL.finditer(text))[:3]]
    for broken in _line_breaks(stand_ins, printable):
        hit = broken.search(text)
        if hit is not None:
            out.append(f"{name}: a line begun by hostile text: {hit.group()!r}")
    return out


class _Elements(HTMLParser):
    """Tags, attributes and comments of an HTML text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.comments: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_comment(self, data: str) -> None:
        self.comments.append(data)

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def text_content(self) -> str:
        """The text of the document, as a browser shows it (markup and comments aside)."""
        return "".join(self.text)


def elements(html: str) -> _Elements:
    """`html` parsed into its tags, comments and text."""
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser


def check_markdown(name: str, text: str, stand_ins: list[str]) -> list[str]:
    """The Markdown summary as GitHub renders it (cmark-gfm, raw HTML let through so that
    any shows): only the summary's own elements, no link, no image, every text shown."""
    out = check_text(name, text.replace("<!-- -->", ""), stand_ins)
    rendered = cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE)
    parsed = elements(rendered)
    extra = [(t, a) for t, a in parsed.tags if t not in _MD_TAGS
             or [k for k, _ in a if not (k == "align" and t in ("th", "td"))]]
    out += [f"{name}: <{t} {a}> in the rendered Markdown" for t, a in extra[:3]]
    out += [f"{name}: comment {c!r}" for c in parsed.comments if c.strip()][:3]
    # A cell that split where a text held '|' would push what follows out of the table,
    # where GitHub drops it: every tagged text the source holds must be shown.
    shown = parsed.text_content()
    lost = [t for t in dict.fromkeys(_TAG.findall(text)) if t not in shown]
    if lost:
        out.append(f"{name}: not shown once rendered: {lost[:5]}")
    return out


def check_csv(name: str, text: str) -> list[str]:
    """RFC 4180 as Python reads it: every row as wide as the header, no formula cell."""
    rows = list(csv.reader(io.StringIO(text, newline=""), strict=True))
    out = [f"{name}: row {n} has {len(r)} cells, the header {len(rows[0])}"
           for n, r in enumerate(rows) if len(r) != len(rows[0])][:3]
    out += [f"{name}: cell a spreadsheet runs: {c[:40]!r}" for r in rows[1:] for c in r
            if runs_as_formula(c)][:3]
    return out


@cache
def _junit_schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def check_junit(name: str, text: str) -> list[str]:
    """Strict XML 1.0 (expat), valid against the JUnit schema."""
    try:
        ET.fromstring(text.encode("utf-8"))  # noqa: S314 -- our own output, under test
    except ET.ParseError as exc:
        return [f"{name}: not XML: {exc}"]
    errors = list(_junit_schema().iter_errors(text))
    return [f"{name}: schema: {e.reason}" for e in errors[:3]]


def _strict_json(text: str) -> Any:
    def refuse(word: str) -> Any:
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


def check_json(name: str, text: str, run: RunResult) -> list[str]:
    """Strict JSON; read back as a run and written again, the same document."""
    try:
        doc = _strict_json(text)
    except ValueError as exc:
        return [f"{name}: {exc}"]
    again = RunResult.from_dict(doc).to_dict()
    out = [] if again == RunResult.from_dict(run.to_dict()).to_dict() else \
        [f"{name}: the report is not the run"]
    return out + ([] if _strict_json(json.dumps(again)) == again else
                  [f"{name}: does not round-trip"])


def check_oscal(name: str, path: Path) -> list[str]:
    """Strict JSON that compliance-trestle's OSCAL models load (extra fields fail)."""
    from trestle.oscal.assessment_results import AssessmentResults

    try:
        _strict_json(path.read_text("utf-8"))
        AssessmentResults.oscal_read(path)
    except Exception as exc:  # any refusal is the finding
        return [f"{name}: {type(exc).__name__}: {str(exc)[:200]}"]
    return []


_HTML_TAGS_MAX = {"script": 2, "style": 1, "meta": 5, "link": 0, "img": 0, "iframe": 0,
                  "object": 0, "embed": 0, "form": 0, "base": 0, "frame": 0}


def check_html(name: str, text: str) -> list[str]:
    """The page's elements as an HTML parser reads them: no element a text made (scripts,
    images, frames, forms), no event attribute, every link within the page."""
    parsed = elements(text)
    out = []
    counts: dict[str, int] = {}
    for tag, attrs in parsed.tags:
        counts[tag] = counts.get(tag, 0) + 1
        for key, value in attrs:
            if key.startswith("on") or key in ("src", "srcdoc", "formaction", "action"):
                out.append(f"{name}: <{tag} {key}={value!r}>")
            if key == "href" and not (value or "").startswith("#"):
                out.append(f"{name}: <{tag} href={value!r}>")
    out += [f"{name}: {counts[t]} <{t}>" for t, most in _HTML_TAGS_MAX.items()
            if counts.get(t, 0) > most]
    return out[:5]


# In the page, after every host's section was opened (a large report builds each from its
# data then): what no hostile text may have made, and each host's name as shown.
_OPEN_JS = """new Promise(done => {
  const start = performance.now();
  let opened = false;
  (function wait() {
    if (!opened && document.documentElement.getAttribute('data-script') === 'ready') {
      // Closed first: a section open from the start may have toggled before the script
      // listened (only this test's small pages build their sections from data).
      document.querySelectorAll('details').forEach(d => { d.open = false; });
      setTimeout(() => document.querySelectorAll('details').forEach(d => { d.open = true; }));
      opened = true;
    }
    const left = document.querySelectorAll('details.host[data-i]:not([data-built])').length;
    if ((opened && !left) || performance.now() - start > 20000) { done(left); }
    else { setTimeout(wait, 20); }
  })(); })"""
_PAGE_JS = """(() => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  const bad = [];
  for (const el of document.querySelectorAll('*')) {
    for (const a of el.attributes) {
      if (a.name.startsWith('on') || ['src', 'srcdoc', 'action', 'formaction'].includes(a.name))
        bad.push(el.tagName + ' ' + a.name);
      if (a.name === 'href' && !a.value.startsWith('#')) bad.push(el.tagName + ' href ' + a.value);
    }
  }
  const made = document.querySelectorAll(
    'img, iframe, object, embed, form, base, frame, link, meta[http-equiv=refresh], svg script,'
    + ' foreignObject, script[src], script:not(#host-data) ~ script').length;
  return {bad: bad.slice(0, 5), made: made, scripts: document.scripts.length,
          names: Array.from(document.querySelectorAll('details.host > summary strong'))
                 .map(e => e.textContent),
          built: document.querySelectorAll('details.host[data-i]:not([data-built])').length};
})()"""


def browser_problems(page: Any, url: str, run: RunResult) -> list[str]:
    """The page in Chromium under its own CSP: nothing ran, nothing was fetched, no element,
    attribute or link was made of a text, every host named as its name."""
    page.open(url)
    # Once the script is ready (it listens for a section's opening, and builds it then).
    page.js(_OPEN_JS)
    got = page.js(_PAGE_JS)
    out = [f"html: {x}" for x in got["bad"]]
    out += [f"html: {got['made']} elements made" for _ in [0] if got["made"]]
    out += [f"html: console: {e[:160]}" for e in page.console_errors()[:3]]
    out += [f"html: dialog {d!r}" for d in page.dialogs()]
    own = url.split("#", maxsplit=1)[0]
    out += [f"html: request {u[:80]}" for u in page.requests() if u.split("#")[0] != own][:3]
    if got["built"]:
        out.append(f"html: {got['built']} host sections not built")
    want = sorted(one_line(h.name) for h in run.hosts)  # as a terminal shows them
    if sorted(got["names"]) != want:
        wrong = sorted(set(got["names"]) ^ set(want))[:2]
        out.append(f"html: host names shown differ: {wrong!r}")
    return out
