"""Every report format of one run read back with a real parser, and what each says compared
with the run record (the JSON report): the differential of `test_xformat.py`."""

from __future__ import annotations

import csv
import html
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from ansible.plugins.inventory import detect_range, expand_hostname_range

from fleetcheck.sanitize import one_line, printable

# (host, proto, port, address, process, severity, kind): one finding as every format names it
Key = tuple[str, str, int | None, str | None, str | None, str, str]
# What some spreadsheet runs as a formula: these signs (and their full-width forms), a tab
# or a line end first, also behind leading blanks, which some trim before looking.
_FORMULA = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")


def runs_as_formula(cell: str) -> bool:
    """Whether some spreadsheet would run this CSV cell as a formula."""
    return cell.startswith(_FORMULA) or cell.lstrip().startswith(_FORMULA)
_VOID = {"meta", "link", "br", "hr", "img", "input", "col", "wbr", "source", "area", "base"}


def finding_key(host: str, f: dict[str, Any]) -> Key:
    """A JSON finding as the tuple every format must agree on."""
    return (host, f["proto"], f["port"], f["address"], f["process"], f["severity"], f["kind"])


class Truth:
    """What the JSON report says: open violations, below-threshold and waived findings per
    host, the unchecked hosts with their error kinds, the verdict."""

    def __init__(self, path: Path) -> None:
        self.doc: dict[str, Any] = json.loads(path.read_text("utf-8"))
        self.violations: Counter[Key] = Counter()
        self.below: Counter[Key] = Counter()
        self.waived: Counter[tuple[Key, str]] = Counter()
        self.unchecked: dict[str, str] = {}
        self.status: dict[str, str] = {}
        for h in self.doc["hosts"]:
            self.status[h["name"]] = h["status"]
            if h["error"]:
                self.unchecked[h["name"]] = h["error"]["kind"]
            for f in h["findings"]:
                key = finding_key(h["name"], f)
                if f["waived"]:
                    self.waived[(key, f["waiver"])] += 1
                elif f["below_threshold"]:
                    self.below[key] += 1
                else:
                    self.violations[key] += 1
        s = self.doc["summary"]
        self.summary: dict[str, Any] = s
        unchecked = s["unreachable"] + s["errors"]
        self.word = ("NONCOMPLIANT" if s["violations"] else "INCOMPLETE" if not s["complete"]
                     else "NOT VERIFIED" if unchecked else "NOTHING CHECKED" if not s["hosts"]
                     else "COMPLIANT")


def defused(cell: str) -> str:
    """A CSV cell as written before the spreadsheet guard; the guard itself is checked."""
    assert not runs_as_formula(cell), f"CSV cell a spreadsheet would run: {cell!r}"
    return cell[1:] if cell.startswith("'") and runs_as_formula(cell[1:]) else cell


def _none(cell: str) -> str | None:
    return cell or None


def expand(parts: list[str]) -> list[str]:
    """Host ranges as Ansible expands them."""
    out: list[str] = []
    for part in parts:
        out += expand_hostname_range(part) if detect_range(part) else [part]
    return out


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV report, each cell with its spreadsheet guard checked and removed."""
    with path.open(newline="", encoding="utf-8") as f:
        return [{k: defused(v) for k, v in row.items()} for row in csv.DictReader(f)]


def check_csv(truth: Truth, path: Path) -> list[str]:
    """The flat CSV: one row per finding, one per unchecked host."""
    viol: Counter[Key] = Counter()
    below: Counter[Key] = Counter()
    waived: Counter[tuple[Key, str]] = Counter()
    unchecked: dict[str, str] = {}
    out = []
    for r in read_csv(path):
        if r["kind"] == "unchecked":
            unchecked[r["host"]] = r["message"].split(":", 1)[0]
            continue
        if not r["severity"]:
            continue  # warnings, trust and input rows
        key: Key = (r["host"], r["proto"], int(r["port"]) if r["port"] else None,
                    _none(r["address"]), _none(r["process"]), r["severity"], r["kind"])
        if r["host_status"] != truth.status.get(r["host"]):
            out.append(f"csv: {r['host']} status {r['host_status']!r}")
        if r["waived"] == "yes":
            waived[(key, r["waiver"])] += 1
        elif r["violation"] == "yes":
            viol[key] += 1
        else:
            below[key] += 1
    out += _diff("csv violations", truth.violations, viol)
    out += _diff("csv below fail-on", truth.below, below)
    out += _diff("csv waived", truth.waived, waived)
    if unchecked != truth.unchecked:
        out.append(f"csv unchecked: {unchecked} != {truth.unchecked}")
    return out


def _diff(what: str, want: Counter[Any], got: Counter[Any]) -> list[str]:
    if want == got:
        return []
    return [f"{what}: missing {sorted((want - got).elements(), key=repr)[:4]}, "
            f"extra {sorted((got - want).elements(), key=repr)[:4]}"]


def _grouped(truth: Truth, html: bool = False, line: bool = False,
             ) -> tuple[Counter[tuple[Any, ...]], Counter[tuple[Any, ...]]]:
    """What a grouped report can say of each finding: (host, kind, proto, port, process,
    severity, violation) for open ones, with the waiver for waived ones; `html`: text as a
    shows it (one line, controls as escapes, as on a terminal); `line`: as one printable
    line with its whitespace folded."""
    def p(v: str | None) -> str | None:
        if line and v:
            return printable(" ".join(v.split()))
        return one_line(v) if html and v else v

    open_: Counter[tuple[Any, ...]] = Counter()
    for key, n in truth.violations.items():
        open_[(key[0], key[6], key[1], key[2], p(key[4]), key[5], True)] += n
    for key, n in truth.below.items():
        open_[(key[0], key[6], key[1], key[2], p(key[4]), key[5], False)] += n
    waived: Counter[tuple[Any, ...]] = Counter()
    for (key, waiver), n in truth.waived.items():
        waived[(key[0], key[6], key[1], key[2], p(key[4]), key[5], waiver)] += n
    return open_, waived


def check_groups_csv(truth: Truth, path: Path) -> list[str]:
    """The grouped CSV: every finding in a group of its own facts, the hosts all named."""
    open_: Counter[tuple[Any, ...]] = Counter()
    waived: Counter[tuple[Any, ...]] = Counter()
    out = []
    for r in read_csv(path):
        hosts = expand(r["host_list"].split())
        if len(hosts) != int(r["hosts"]):
            out.append(f"groups csv: {r['hosts']} hosts but {r['host_list']!r}")
        port = int(r["port"]) if r["port"] else None
        for h in dict.fromkeys(hosts):
            if r["waived"] == "yes":
                waived[(h, r["kind"], r["proto"], port, _none(r["process"]), r["severity"],
                        r["waivers"])] += 1
            else:
                open_[(h, r["kind"], r["proto"], port, _none(r["process"]), r["severity"],
                       r["violation"] == "yes")] += 1
    want_open, want_waived = _grouped(truth)
    out += _diff("groups csv open", Counter(set(want_open)), open_)
    out += _diff("groups csv waived", Counter(set(want_waived)), waived)
    return out


def check_junit(truth: Truth, path: Path) -> list[str]:
    """JUnit: a suite per host; a failure per violation, skipped per waived finding, an
    error per unchecked host; counts that add up."""
    root = ET.parse(path).getroot()  # noqa: S314 -- our own output
    out = []
    failures: Counter[tuple[str, str, str]] = Counter()
    skipped: Counter[tuple[str, str]] = Counter()
    errors: dict[str, str] = {}
    suites = root.findall("testsuite")
    names = [s.get("name", "") for s in suites]
    if sorted(names) != sorted(truth.status):
        out.append(f"junit suites {names} != hosts {sorted(truth.status)}")
    for s in suites:
        host = s.get("name", "")
        props = {p.get("name"): p.get("value") for p in s.iter("property")}
        if props.get("status") != truth.status.get(host):
            out.append(f"junit {host}: status {props.get('status')!r}")
        for case in s.findall("testcase"):
            for fail in case.findall("failure"):
                body = fail.text or ""
                sev = re.search(r"^severity: (\w+)$", body, re.M)
                failures[(host, fail.get("type", ""), sev.group(1) if sev else "?")] += 1
            for skip in case.findall("skipped"):
                m = re.match(r"waived by (.*?) \(owner", skip.get("message", ""))
                skipped[(host, m.group(1) if m else "?")] += 1
            for err in case.findall("error"):
                errors[host] = err.get("type", "")
        counts = (len(s.findall("testcase/failure")), len(s.findall("testcase/skipped")),
                  len(s.findall("testcase/error")))
        said = (int(s.get("failures", "-1")), int(s.get("skipped", "-1")),
                int(s.get("errors", "-1")))
        if counts != said:
            out.append(f"junit {host}: failures/skipped/errors {said} but cases say {counts}")
    want_f = Counter({(k[0], k[6], k[5]): 0 for k in truth.violations})
    for k, n in truth.violations.items():
        want_f[(k[0], k[6], k[5])] += n
    want_s: Counter[tuple[str, str]] = Counter()
    for (k, w), n in truth.waived.items():
        want_s[(k[0], w)] += n
    out += _diff("junit failures", +want_f, failures)
    out += _diff("junit skipped", want_s, skipped)
    if errors != truth.unchecked:
        out.append(f"junit errors {errors} != {truth.unchecked}")
    return out


class Node:
    """An element of an HTML page: tag, attributes, children and text."""

    def __init__(self, tag: str, attrs: dict[str, str | None]) -> None:
        self.tag, self.attrs = tag, attrs
        self.children: list[Node | str] = []

    def text(self) -> str:
        """Its text, as a browser shows it (whitespace kept)."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None) -> list[Node]:
        """It and every element under it, in document order."""
        found = [self] if tag is None or self.tag == tag else []
        for c in self.children:
            if isinstance(c, Node):
                found += c.iter(tag)
        return found

    def by_id(self, ident: str) -> Node | None:
        """The element with this id."""
        return next((n for n in self.iter() if n.attrs.get("id") == ident), None)

    def cell(self, label: str) -> str:
        """The text of the <td data-label=LABEL> of a row."""
        return next((n.text() for n in self.iter("td") if n.attrs.get("data-label") == label),
                    "")


class Tree(HTMLParser):
    """A page parsed into `Node`s (the report's markup is well nested)."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _html_groups(table: Node | None, waived: bool) -> Counter[tuple[Any, ...]]:
    out: Counter[tuple[Any, ...]] = Counter()
    if table is None:
        return out
    for row in table.iter("tr"):
        if "group" not in (row.attrs.get("class") or ""):
            continue
        sev_cell = row.cell("Severity")
        severity = sev_cell.split()[0]
        proto, _, port = row.cell("Proto/port").partition("/")
        which = [n for n in row.iter() if n.attrs.get("class") == "hostlist"]
        hosts_text = which[0].text() if which else row.cell("Which hosts")
        hosts = expand([p.strip() for p in hosts_text.split(",") if p.strip()])
        if len(hosts) != int(row.cell("Hosts").replace(",", "")):
            out[("count", row.cell("Hosts"), hosts_text)] += 1
        process = row.cell("Process") or None
        for h in dict.fromkeys(hosts):
            last: object = row.cell("Waiver") if waived else "(below fail-on)" not in sev_cell
            out[(h, row.cell("Kind"), proto, None if port == "any" else int(port), process,
                 severity, last)] += 1
    return out


def check_html(truth: Truth, path: Path) -> list[str]:
    """HTML: the verdict, grouped findings, host sections and unchecked causes; nothing a
    host supplied became an element."""
    text = path.read_text("utf-8")
    page = Tree(text).root
    out = []
    tags = Counter(n.tag for n in page.iter())
    if tags["script"] > 2 or tags["img"] or tags["iframe"] or tags["svg"] > 40:
        out.append(f"html: elements made from data? {dict(tags)}")
    verdict = page.by_id("verdict")
    if verdict is None or truth.word not in verdict.text():
        out.append(f"html verdict: {verdict.text()[:120] if verdict else None!r} "
                   f"(want {truth.word})")
    want_open, want_waived = _grouped(truth, html=True)
    out += _diff("html open groups", Counter(set(want_open)),
                 _html_groups(page.by_id("findings-table"), False))
    out += _diff("html waived groups", Counter(set(want_waived)),
                 _html_groups(page.by_id("waived-table"), True))
    for d in page.iter("details"):
        if "host" not in (d.attrs.get("class") or "").split():
            continue
        summary = d.iter("summary")[0]
        name = summary.iter("strong")[0].text()
        if name not in truth.status:
            out.append(f"html: host section {name!r} not in the run")
        elif d.attrs.get("data-status") != truth.status[name]:
            out.append(f"html {name}: status {d.attrs.get('data-status')!r}")
    unchecked: dict[str, str] = {}
    table = page.by_id("unchecked-table")
    for row in table.iter("tr") if table else []:
        if "cause" in (row.attrs.get("class") or ""):
            which = [n for n in row.iter() if n.attrs.get("class") == "hostlist"]
            hosts_text = which[0].text() if which else row.cell("Which hosts")
            for h in expand([p.strip() for p in hosts_text.split(",") if p.strip()]):
                unchecked[h] = row.cell("Cause").split()[0]
    if unchecked != truth.unchecked:
        out.append(f"html unchecked {unchecked} != {truth.unchecked}")
    return out


def check_all(truth: Truth, files: dict[str, Path], run: object) -> list[str]:
    """Every format's disagreements with the run record, one line each."""
    del run
    checks = {"csv": check_csv, "groups.csv": check_groups_csv, "xml": check_junit,
              "html": check_html, "txt": check_text, "md": check_markdown,
              "oscal.json": check_oscal, "register.csv": check_register}
    out = []
    for ext, check in checks.items():
        out += check(truth, files[ext])
    return out


def _text_table(lines: list[str], title: str) -> list[list[str]]:
    """The rows of the text report's table under `title` (columns apart by 2+ spaces)."""
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith(title))
    except StopIteration:
        return []
    body = lines[start + 4:]  # title, underline, header, dashes
    rows = []
    for line in body:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.rstrip()))
    return rows

def _verdict_and_counts(truth: Truth, lines: list[str], verdict: str, what: str) -> list[str]:
    """The text report's and the summary's shared head: the verdict line and the counts."""
    out = []
    if not verdict.startswith(truth.word + ":"):
        out.append(f"{what} verdict: {verdict!r} (want {truth.word})")
    s = truth.summary
    counts = (f"hosts {s['hosts']} · compliant {s['compliant']} · noncompliant "
              f"{s['noncompliant']} · unreachable {s['unreachable']} · errors {s['errors']}")
    if not any(line.startswith(counts) for line in lines):
        out.append(f"{what}: no counts line {counts!r}")
    return out


def check_text(truth: Truth, path: Path) -> list[str]:
    """The text report by its documented layout: verdict line, counts, the hosts' index
    (status, error kind, open findings), each host's section title, the unchecked hosts."""
    lines = path.read_text("utf-8").splitlines()
    out = _verdict_and_counts(truth, lines, lines[1], "text")
    hosts = {h["name"]: h for h in truth.doc["hosts"]}
    index = {r[0]: r for r in _text_table(lines, f"HOSTS ({len(hosts)})")}
    if sorted(index) != sorted(hosts):
        out.append(f"text hosts index {sorted(index)} != {sorted(hosts)}")
    for name, row in index.items():
        h = hosts.get(name)
        if h is None:
            continue
        status = h["status"] + (f" ({h['error']['kind']})" if h["error"] else "")
        opened = sum(1 for f in h["findings"] if not f["waived"])
        want = [name, status] + ([str(len(h["listeners"])), str(opened)] if not h["error"]
                                 else [])
        if row[:len(want)] != want:
            out.append(f"text index row {row} != {want}")
        title = f"--- {name} ({h['address']}): {h['status'].upper()}"
        if not any(line.startswith(title) for line in lines):
            out.append(f"text: no section {title!r}")
    unchecked: dict[str, str] = {}
    cause = ""
    for line in lines[next((i for i, x in enumerate(lines) if x.startswith("NOT CHECKED (")),
                           len(lines)):]:
        if line.startswith(("WAIVERS", "FLEET VIEW", "RUN", "HOSTS")):
            break
        if line and not line.startswith(" ") and not line.startswith(("CAUSE", "-", "NOT",
                                                                       "=")):
            cause = line.split()[0]
        elif line.startswith("    hosts: "):
            for name in expand(line[len("    hosts: "):].split(", ")):
                unchecked[name] = cause
    if unchecked != truth.unchecked:
        out.append(f"text unchecked {unchecked} != {truth.unchecked}")
    return out


def _md_cells(line: str) -> list[str]:
    """A Markdown table row's cells, unescaped as a Markdown reader would."""
    cells = re.split(r"(?<!\\)\|", line.strip())[1:-1]
    return [html.unescape(re.sub(r"\\(.)", r"\1", c.strip().replace("<!-- -->", "")))
            for c in cells]


def check_markdown(truth: Truth, path: Path) -> list[str]:
    """Markdown: verdict heading, the counts table, the open groups and unchecked hosts."""
    lines = path.read_text("utf-8").splitlines()
    out = []
    if not lines[0].endswith(f"fleetcheck: {truth.word}"):
        out.append(f"markdown verdict: {lines[0]!r} (want {truth.word})")
    s = truth.summary
    want = [str(s[k]) for k in ("hosts", "compliant", "noncompliant", "unreachable", "errors",
                                "violations", "waived")]
    if _md_cells(lines[6]) != want:
        out.append(f"markdown counts {lines[6]!r} != {want}")
    want_open, _ = _grouped(truth, line=True)
    got: Counter[tuple[Any, ...]] = Counter()
    cut = False
    unchecked: dict[str, str] = {}
    section = ""
    for line in lines:
        if line.startswith("### "):
            section = line
        cut = cut or (section.startswith("### Open") and line.startswith("… and "))
        if not line.startswith("| ") or line.startswith(("| Severity", "| Cause", "| hosts",
                                                         "| Waiver")):
            continue
        c = _md_cells(line)
        if section.startswith("### Open findings"):
            sev, below = c[0].split()[0], "(below fail-on)" in c[0]
            proto, _, port = c[2].split()[0].partition("/")
            if " more" in c[7]:
                cut = True
                continue
            for h in expand(c[7].split(", ")):
                got[(h, c[1].strip("*"), proto, None if port == "any" else int(port),
                     c[4] or None, sev, not below)] += 1
        elif section.startswith("### Not checked") and " more" not in c[2]:
            for h in expand(c[2].split(", ")):
                unchecked[h] = c[0].split()[0]
    if not cut:
        out += _diff("markdown open groups", Counter(set(want_open)), got)
    elif not set(got) <= set(want_open):
        out.append(f"markdown open groups not in the run: {set(got) - set(want_open)}")
    if not set(unchecked.items()) <= set(truth.unchecked.items()):
        out.append(f"markdown unchecked {unchecked} not in {truth.unchecked}")
    return out


def check_oscal(truth: Truth, path: Path) -> list[str]:
    """OSCAL: a finding per finding of each host (kind, severity, waived, below the
    threshold), one per unchecked host with its error kind."""
    doc = json.loads(path.read_text("utf-8"))
    (result,) = doc["assessment-results"]["results"]
    got: Counter[tuple[Any, ...]] = Counter()
    unchecked: dict[str, str] = {}
    for f in result.get("findings", []):
        props = {p["name"]: p["value"] for p in f.get("props", [])}
        if "error-kind" in props:
            unchecked[f["title"].removesuffix(" could not be checked")] = props["error-kind"]
            continue
        host = f["title"].split(" on ", 1)[1]
        got[(host, props["kind"], props["severity"], props["waived"] == "true",
             props["below-threshold"] == "true" and props["waived"] != "true",
             props.get("waiver"))] += 1
    want: Counter[tuple[Any, ...]] = Counter()
    for below, counts in ((False, truth.violations), (True, truth.below)):
        for k, n in counts.items():
            want[(k[0], k[6], k[5], False, below, None)] += n
    for (k, w), n in truth.waived.items():
        want[(k[0], k[6], k[5], True, False, w)] += n
    out = _diff("oscal findings", want, got)
    return out + ([f"oscal unchecked {unchecked} != {truth.unchecked}"]
                  if unchecked != truth.unchecked else [])


def check_register(truth: Truth, path: Path) -> list[str]:
    """The register: each waiver's status as the run has it, and the findings it waived."""
    waived: Counter[str] = Counter()
    for (_, w), n in truth.waived.items():
        waived[w] += n
    out = []
    statuses = {w["id"]: w["status"] for w in truth.doc["waivers"]}
    for r in read_csv(path):
        if r["type"] != "waiver":
            continue
        if r["status"] != statuses.get(r["id"]):
            out.append(f"register {r['id']}: status {r['status']!r}")
        if r["status"] != "expired" and int(r["allowed_in_run"] or 0) != waived[r["id"]]:
            out.append(f"register {r['id']}: waived {r['allowed_in_run']} in the run, "
                       f"the findings say {waived[r['id']]}")
    return out


def check_summary(truth: Truth, text: str) -> list[str]:
    """The terminal summary: its verdict line, its counts, the unchecked hosts' causes."""
    lines = text.splitlines()
    out = _verdict_and_counts(truth, lines, lines[0], "summary")
    for kind in set(truth.unchecked.values()):
        if not any(kind in line for line in lines):
            out.append(f"summary: unchecked cause {kind} not named")
    return out


def check_json(truth: Truth, model: dict[str, Any]) -> list[str]:
    """The JSON report holds the model's findings, statuses and summary."""
    out = []
    if truth.doc["summary"] != model["summary"]:
        out.append("json summary differs from the run's")
    for h, m in zip(truth.doc["hosts"], model["hosts"], strict=True):
        if (h["name"], h["status"], h["error"], h["findings"]) != \
                (m["name"], m["status"], m["error"], m["findings"]):
            out.append(f"json host {h['name']} differs from the run's")
    return out
