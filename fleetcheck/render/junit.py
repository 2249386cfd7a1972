"""The JUnit XML report: a testsuite per host, a testcase per finding and per deciding rule.

A host that could not be checked is a testsuite with one erroring testcase, so CI never shows
it green. Violations (unwaived, at or above --fail-on) are failures; waived findings are
skipped; findings below --fail-on pass, as they do not fail the run.

The XML is written as text, exactly as ElementTree writes and indents the same elements (a
test reads it back and has ElementTree write it again), at a fraction of the cost of
building the tree.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterator, Mapping, Sequence

from fleetcheck.addresses import bind_text
from fleetcheck.engine.summary import is_violation
from fleetcheck.frozen import frozen
from fleetcheck.model import Finding, HostResult, RunResult, Severity, WaiverRecord
from fleetcheck.render import changes_view, view
from fleetcheck.render.options import RenderOptions

# Characters XML 1.0 cannot carry at all; raw tool output may hold them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_EVIDENCE_LIMIT = 4000  # characters of raw output quoted in an <error>; all of it is in JSON


def _x(text: object) -> str:
    """Text XML can carry: control characters become visible \\xNN escapes."""
    text = "" if text is None else str(text)
    if text.isprintable() or _NOT_XML.search(text) is None:  # most text: nothing to escape
        return text
    return _NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _text(text: str) -> str:
    """Character data as ElementTree escapes it."""
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    return text.replace(">", "&gt;") if ">" in text else text


# What an attribute value needs beyond `_text`: a line end or tab would be read back as a
# space.
_ATTR_MORE = (('"', "&quot;"), ("\r", "&#13;"), ("\n", "&#10;"), ("\t", "&#09;"))


def _attr(value: str) -> str:
    """An attribute value as ElementTree escapes it."""
    value = _text(value)
    for char, entity in _ATTR_MORE:
        if char in value:
            value = value.replace(char, entity)
    return value


# Any character of an attribute value that `_x` or `_attr` changes.
_ATTR_WORK = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff&<>"\r\n\t]')


def _tag(tag: str, attrs: Mapping[str, str | None]) -> str:
    """`<tag a="v" ...`, without its end: each value XML can carry, escaped."""
    return "<" + tag + "".join([
        f' {k}="{v}"' if v and _ATTR_WORK.search(v) is None else f' {k}="{_attr(_x(v))}"'
        for k, v in attrs.items()])


def _leaf(tag: str, text: str | None = None, **attrs: str | None) -> str:
    """An element without children, as ElementTree writes it (`<tag ... />` when empty)."""
    if not text:
        return _tag(tag, attrs) + " />"
    return f"{_tag(tag, attrs)}>{_text(_x(text))}</{tag}>"


def _parent(tag: str, attrs: Mapping[str, str | None], children: list[str], level: int) -> str:
    """An element holding `children`, indented as `ElementTree.indent` does at `level`."""
    if not children:
        return _tag(tag, attrs) + " />"
    inner = "\n" + "  " * (level + 1)
    return (f"{_tag(tag, attrs)}>{inner}{inner.join(children)}\n{'  ' * level}</{tag}>")


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
    where = f" on {bind_text(f.address, f.iface)}" if f.address else ""
    return f"{f.kind.value} {f.proto}/{port}{where}" + (f" [{f.rule}]" if f.rule else "")


def case_names(findings: Sequence[Finding]) -> list[str]:
    """Each finding's testcase name; findings on one socket that would share a name (two
    processes holding it) are told apart by their process, so CI counts each one."""
    names = [case_name(f) for f in findings]
    twice = {n for n, count in Counter(names).items() if count > 1}
    return [f"{n} ({f.process or 'owner unknown'})" if n in twice else n
            for n, f in zip(names, findings, strict=True)]


def _finding_text(host: HostResult, f: Finding, service: str) -> str:
    """The body of a failure: the sentence, then every fact of the finding."""
    port = "" if f.port is None else f" {f.port}"
    lines = [f.message, "", f"host: {host.name} ({host.address})",
             f"severity: {f.severity.label}", f"kind: {f.kind.value}",
             f"listener: {f.proto}{port}" + (f" ({service})" if service else "")
             + (f" on {bind_text(f.address, f.iface)}" if f.address else ""),
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


@frozen
class _Run:
    """What every testsuite of a run shares."""

    waivers: dict[str, WaiverRecord]
    fail_on: Severity
    warnings: list[str]  # what the run warns about, in every suite: CI shows a suite alone
    timestamp: str


def _suite(ctx: _Run, host: HostResult, index: int, counts: tuple[int, int, int, int]) -> str:
    """`host`'s testsuite (`counts`: its `_counts`), indented as the second level of the
    report."""
    waivers, fail_on, warnings = ctx.waivers, ctx.fail_on, ctx.warnings
    tests, failures, errors, skipped = map(str, counts)
    privileged = None if host.privileged is None else view.yes_no(host.privileged)
    props = [_leaf("property", name=key, value=value) for key, value in (
        ("status", host.status.value), ("address", host.address), ("os", host.os),
        ("distribution", host.distribution), ("collector", host.collector),
        ("groups", ",".join(host.groups)),
        ("policies", ",".join(host.policies)), ("privileged", privileged),
        ("error_kind", host.error.kind if host.error else None),
        *(("trusted_key", k.sentence()) for k in host.trusted_keys),
        *(("warning", w) for w in warnings), *(("note", n) for n in host.notes)) if value]
    cls = _classname(host)
    collect = {"name": "collect listeners", "classname": cls,
               "time": f"{round(sum(c.duration for c in host.commands), 3):.3f}"}
    cases = [_leaf("testcase", **collect)]
    if not host.checked:
        err = host.error
        evidence = [f"{err.kind}: {err.message}" if err else host.status.value]
        for c in host.commands:
            evidence += ["", f"$ {_preview(c.command)}", f"exit code: {c.exit_code}",
                         "stderr:", c.stderr[-_EVIDENCE_LIMIT:], "stdout:",
                         c.stdout[-_EVIDENCE_LIMIT:]]
        cases[0] = _parent("testcase", collect, [_leaf(
            "error", "\n".join(evidence), message=evidence[0],
            type=err.kind if err else host.status.value)], 2)
    out: list[str] = []
    findings = sorted(host.findings, key=Finding.sort_key)
    for f, name in zip(findings, case_names(findings), strict=True):
        case = {"name": name, "classname": cls, "time": "0.000"}
        service = view.service_name(f.port, f.proto)
        if f.waived:
            cases.append(_parent("testcase", case, [
                _leaf("skipped", message=_waiver_text(f, waivers))], 2))
        elif is_violation(f, fail_on):
            cases.append(_parent("testcase", case, [_leaf(
                "failure", _finding_text(host, f, service),
                message=f"{f.severity.label}: {f.message}", type=f.kind.value)], 2))
        else:
            cases.append(_leaf("testcase", **case))
            out.append(f"below --fail-on {fail_on.label}: {f.severity.label}: {f.message}")
    by_rule: dict[str, list[str]] = defaultdict(list)
    for jl in view.host_listeners(host):
        li = jl.listener
        # the other holders, as the text and HTML reports' notes and the JSON list them
        shared = f", also held by {', '.join(li.other_processes)}" if li.other_processes \
            else ""
        line = (f"{li.proto} {li.port} on {view.bind_address(li)} "
                f"{view.owner(li.process, li.pid) or '(owner unknown)'}{shared}: "
                f"{jl.verdict.value}")
        out.append(line + (f" [{jl.rule}]" if jl.rule else ""))
        if jl.verdict.value == "allowed":
            by_rule[jl.rule or ""].append(line)
    cases += [_leaf("testcase", name=f"rule {rule}" if rule else "default allow",
                    classname=cls, time="0.000") for rule in sorted(by_rule)]
    err_text = "\n".join([*(f"WARNING: {w}" for w in warnings),
                          *(f"$ {_preview(c.command)}\nexit code: {c.exit_code}\n{c.stderr}"
                            for c in host.commands)])
    attrs: dict[str, str | None] = {
        "name": host.name, "tests": tests, "failures": failures, "errors": errors,
        "skipped": skipped, "time": f"{round(host.duration, 3):.3f}",
        "timestamp": ctx.timestamp, "hostname": host.address, "id": str(index),
        "package": "fleetcheck"}
    return _parent("testsuite", attrs, [
        _parent("properties", {}, props, 2), *cases, _leaf("system-out", "\n".join(out)),
        _leaf("system-err", err_text)], 1)


def _preview(command: str) -> str:
    """A command as a CI page shows it: its start, and where the whole of it is.

    The probe is some 12 KB of shell, the same on every host but for its nonce: written
    whole into every suite it was four fifths of the report, and no CI page reads it."""
    return view.command_preview(command, "in the JSON and HTML reports")


def render_chunks(run: RunResult, options: RenderOptions | None = None) -> Iterator[str]:
    """`render(run)` in pieces, a testsuite at a time: the whole tree is never in memory.

    The totals go on the opening tag, so a first pass counts each host's testcases.
    """
    del options
    ctx = _Run({w.id: w for w in run.waivers}, view.fail_on(run), view.warnings(run),
               _timestamp(run))
    hosts = view.sorted_hosts(run)
    counts = [_counts(host, ctx.fail_on) for host in hosts]
    tests, failures, errors = (sum(c[n] for c in counts) for n in range(3))
    elapsed = view.run_seconds(run)
    root = _tag("testsuites", {"name": "fleetcheck", "tests": str(tests),
                               "failures": str(failures), "errors": str(errors),
                               "time": f"{elapsed or 0.0:.3f}"})
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    if not hosts:
        yield root + " />\n"
        return
    yield root + ">"
    for i, host in enumerate(hosts):
        yield "\n  " + _suite(ctx, host, i, counts[i])
    yield "\n</testsuites>\n"


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """The run as JUnit XML (UTF-8, with declaration), deterministic for the same run."""
    return "".join(render_chunks(run, options))
