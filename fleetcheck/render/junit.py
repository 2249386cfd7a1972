"""The JUnit XML report: a testsuite per host, a testcase per finding and per deciding rule.

A host that could not be checked is a testsuite with one erroring testcase, so CI never shows
it green. Violations (unwaived, at or above --fail-on) are failures; waived findings are
skipped; findings below --fail-on pass, as they do not fail the run.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator

from fleetcheck.engine.summary import is_violation
from fleetcheck.model import Finding, HostResult, RunResult, Severity, WaiverRecord
from fleetcheck.render import changes_view, view
from fleetcheck.render.options import RenderOptions

# Characters XML 1.0 cannot carry at all; raw tool output may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EVIDENCE_LIMIT = 4000  # characters of raw output quoted in an <error>; all of it is in JSON


def _x(text: object) -> str:
    """Text XML can carry: control characters become visible \\xNN escapes."""
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", "" if text is None else str(text))


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    """A child element whose attributes and text XML can carry."""
    el = ET.SubElement(parent, tag, {k: _x(v) for k, v in attrs.items()})
    if text is not None:
        el.text = _x(text)
    return el


def _timestamp(run: RunResult) -> str:
    """The run's start as the JUnit timestamp (UTC, no zone suffix, as the schema wants)."""
    t = view.parse_time(run.started_at)
    return t.strftime("%Y-%m-%dT%H:%M:%S") if t else run.started_at


def _classname(host: HostResult) -> str:
    """The testcase classname for a host's cases."""
    # CI servers split classnames at dots into package and class: keep a host one class.
    return "fleetcheck." + host.name.replace(".", "_")


def case_name(f: Finding) -> str:
    """A testcase name stable across runs (no pid): 'forbidden tcp/1923 on 0.0.0.0 [rule]'."""
    port = "any" if f.port is None else str(f.port)
    where = f" on {f.address}" if f.address else ""
    return f"{f.kind.value} {f.proto}/{port}{where}" + (f" [{f.rule}]" if f.rule else "")


def _finding_text(host: HostResult, f: Finding, service: str) -> str:
    """The body of a failure: the sentence, then every fact of the finding."""
    port = "" if f.port is None else f" {f.port}"
    lines = [f.message, "", f"host: {host.name} ({host.address})",
             f"severity: {f.severity.label}", f"kind: {f.kind.value}",
             f"listener: {f.proto}{port}" + (f" ({service})" if service else "")
             + (f" on {f.address}" if f.address else ""),
             f"process: {view.owner(f.process, f.pid) or 'unknown'}",
             f"rule: {f.rule or 'none (no rule allows it)'}", f"finding id: {f.id}"]
    age = changes_view.age_words(f)
    if age:
        lines.append(f"age: {age}")
    return "\n".join(lines)


def _waiver_text(f: Finding, waivers: dict[str, WaiverRecord]) -> str:
    """Why a finding is skipped: the waiver, its owner, ticket and expiry."""
    w = waivers.get(f.waiver or "")
    if w is None:
        return f"waived by {f.waiver or 'a waiver'}"
    extra = ", ".join(x for x in (f"owner {w.owner}", f"ticket {w.ticket}" if w.ticket else "",
                                  f"expires {w.expires}" if w.expires else "") if x)
    return f"waived by {w.id} ({extra}): {w.reason}"


def _counts(host: HostResult, fail_on: Severity) -> tuple[int, int, int, int]:
    """(tests, failures, errors, skipped) of `host`'s testsuite."""
    waived = sum(1 for f in host.findings if f.waived)
    failures = sum(1 for f in host.findings if not f.waived and is_violation(f, fail_on))
    rules = {jl.rule or "" for jl in view.host_listeners(host) if jl.verdict.value == "allowed"}
    return (1 + len(host.findings) + len(rules), failures, 0 if host.checked else 1, waived)


def _suite(root: ET.Element, run: RunResult, host: HostResult, index: int,
           waivers: dict[str, WaiverRecord], fail_on: Severity, warnings: list[str]) -> None:
    """Append `host`'s testsuite to `root`."""
    tests, failures, errors, skipped = map(str, _counts(host, fail_on))
    suite = _sub(root, "testsuite", name=host.name, tests=tests, failures=failures,
                 errors=errors, skipped=skipped, time=f"{round(host.duration, 3):.3f}",
                 timestamp=_timestamp(run), hostname=host.address, id=str(index),
                 package="fleetcheck")
    props = _sub(suite, "properties")
    privileged = None if host.privileged is None else view.yes_no(host.privileged)
    for key, value in (("status", host.status.value), ("address", host.address),
                       ("os", host.os), ("collector", host.collector),
                       ("groups", ",".join(host.groups)), ("policies", ",".join(host.policies)),
                       ("privileged", privileged),
                       ("error_kind", host.error.kind if host.error else None),
                       *(("trusted_key", k.sentence()) for k in host.trusted_keys),
                       *(("warning", w) for w in warnings),
                       *(("note", n) for n in host.notes)):
        if value:
            _sub(props, "property", name=key, value=value)
    cls = _classname(host)
    collect = _sub(suite, "testcase", name="collect listeners", classname=cls,
                   time=f"{round(sum(c.duration for c in host.commands), 3):.3f}")
    if not host.checked:
        err = host.error
        evidence = [f"{err.kind}: {err.message}" if err else host.status.value]
        for c in host.commands:
            evidence += ["", f"$ {_preview(c.command)}", f"exit code: {c.exit_code}",
                         "stderr:", c.stderr[-_EVIDENCE_LIMIT:], "stdout:",
                         c.stdout[-_EVIDENCE_LIMIT:]]
        _sub(collect, "error", "\n".join(evidence), message=evidence[0],
             type=err.kind if err else host.status.value)
    out: list[str] = []
    for f in sorted(host.findings, key=Finding.sort_key):
        case = _sub(suite, "testcase", name=case_name(f), classname=cls, time="0.000")
        service = view.service_name(f.port, f.proto)
        if f.waived:
            _sub(case, "skipped", message=_waiver_text(f, waivers))
        elif is_violation(f, fail_on):
            _sub(case, "failure", _finding_text(host, f, service),
                 message=f"{f.severity.label}: {f.message}", type=f.kind.value)
        else:
            out.append(f"below --fail-on {fail_on.label}: {f.severity.label}: {f.message}")
    by_rule: dict[str, list[str]] = defaultdict(list)
    for jl in view.host_listeners(host):
        li = jl.listener
        line = (f"{li.proto} {li.port} on {view.bind_address(li)} "
                f"{view.owner(li.process, li.pid) or '(owner unknown)'}: {jl.verdict.value}")
        out.append(line + (f" [{jl.rule}]" if jl.rule else ""))
        if jl.verdict.value == "allowed":
            by_rule[jl.rule or ""].append(line)
    for rule in sorted(by_rule):
        _sub(suite, "testcase", name=f"rule {rule}" if rule else "default allow",
             classname=cls, time="0.000")
    _sub(suite, "system-out", "\n".join(out))
    _sub(suite, "system-err", "\n".join([
        *(f"WARNING: {w}" for w in warnings),
        *(f"$ {_preview(c.command)}\nexit code: {c.exit_code}\n{c.stderr}"
          for c in host.commands)]))


def _preview(command: str) -> str:
    """A command as a CI page shows it: its start, and where the whole of it is.

    The probe is some 12 KB of shell, the same on every host but for its nonce: written
    whole into every suite it was four fifths of the report, and no CI page reads it."""
    return view.command_preview(command, "in the JSON and HTML reports")


def _start_tag(root: ET.Element) -> str:
    """`root`'s start tag as ElementTree writes it (attributes quoted the same way)."""
    root.text = "\x01"  # no XML text holds it (_x escapes it): where the children go
    return ET.tostring(root, encoding="unicode").split("\x01", 1)[0]


def render_chunks(run: RunResult, options: RenderOptions | None = None) -> Iterator[str]:
    """`render(run)` in pieces, a testsuite at a time: the whole tree is never in memory.

    The totals go on the opening tag, so a first pass counts each host's testcases.
    """
    del options
    waivers = {w.id: w for w in run.waivers}
    fail_on = view.fail_on(run)
    # What the run warns about (trust, waivers, inputs), in every suite: CI shows a suite alone.
    warnings = view.warnings(run)
    hosts = view.sorted_hosts(run)
    totals = [0, 0, 0, 0]
    for host in hosts:
        for n, count in enumerate(_counts(host, fail_on)):
            totals[n] += count
    tests, failures, errors, _skipped = totals
    elapsed = view.run_seconds(run)
    root = ET.Element("testsuites", {"name": "fleetcheck", "tests": str(tests),
                                     "failures": str(failures), "errors": str(errors),
                                     "time": f"{elapsed or 0.0:.3f}"})
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not hosts:
        yield ET.tostring(root, encoding="unicode") + "\n"
        return
    yield _start_tag(root)
    for i, host in enumerate(hosts):
        holder = ET.Element("testsuites")
        _suite(holder, run, host, i, waivers, fail_on, warnings)
        suite = holder[0]
        ET.indent(suite, "  ", level=1)
        suite.tail = None
        yield "\n  " + ET.tostring(suite, encoding="unicode")
    yield "\n</testsuites>\n"


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The run as JUnit XML (UTF-8, with declaration), deterministic for the same run."""
    return "".join(render_chunks(run, options))
