"""Real runs in the lab: every format written, `report` reproduces them, runs diff cleanly."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions
from fleetcheck.render.write import LATEST_STEM, report_stem, write_reports
from tests.conftest import run_cli, run_files
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.lab.prereq import require_netns
from tests.render import lab

pytestmark = pytest.mark.lab
RENDERED_AT = re.compile(r'<span id="rendered-at">[^<]*</span>')
EXTENSIONS = {FORMATS[f].extension for f in FORMATS}


def _files(directory: Path) -> dict[str, bytes]:
    """A run's report files by extension ('groups.csv', 'register.csv' and 'csv' apart);
    the latest names left out."""
    return {p.name.split(".", 1)[1]: p.read_bytes() for p in sorted(directory.iterdir())
            if not p.name.startswith((LATEST_STEM, "fleetcheck-history."))}


def _same_apart_from_render_time(a: dict[str, bytes], b: dict[str, bytes]) -> None:
    assert a.keys() == b.keys() == EXTENSIONS
    for ext, data in a.items():
        left, right = data.decode(), b[ext].decode()
        if ext == "html":
            assert len(RENDERED_AT.findall(left)) == 1
            left, right = RENDERED_AT.sub("", left), RENDERED_AT.sub("", right)
        assert left == right, f"{ext} differs"


def test_report_reproduces_what_a_real_run_wrote(tmp_path: Path) -> None:
    require_netns()
    group, socks = lab.LAB_HOSTS["web1"]
    code, out = lab.scan_host(tmp_path / "scan", "web1", group, socks, ghost=True)
    assert code == 1
    written = _files(out)
    (saved,) = run_files(out)  # the run record, not the .oscal.json
    again = tmp_path / "again"
    res = run_cli(["report", str(saved), "--format", lab.ALL_FORMATS, "-o", str(again)],
                  cwd=tmp_path)
    assert res.code == 0, res.err
    assert res.err.count("report: ") == len(FORMATS)
    _same_apart_from_render_time(written, _files(again))
    assert {p.name.split(".", 1)[0] for p in again.iterdir()} == {saved.stem}
    run = lab.saved_run(out)
    statuses = {h.name: h.status.value for h in run.hosts}
    assert statuses["web1"] == "noncompliant"
    assert statuses[lab.GHOST] in ("unreachable", "error")  # never compliant
    assert "tcp/1923" in written["txt"].decode() and "spiced" in written["csv"].decode()


def test_lab_fleet_in_every_format_with_every_kind_of_fact(lab_run: RunResult,
                                                           tmp_path: Path) -> None:
    paths = write_reports(lab_run, list(FORMATS), tmp_path / "fleet").paths
    assert {p.name.split(".", 1)[1] for p in paths} == EXTENSIONS
    files = _files(tmp_path / "fleet")
    saved = tmp_path / "fleet" / f"{report_stem(lab_run)}.json"
    res = run_cli(["report", str(saved), "--format", "all", "-o", str(tmp_path / "again")],
                  cwd=tmp_path)
    assert res.code == 0, res.err
    _same_apart_from_render_time(files, _files(tmp_path / "again"))
    status = {h.name: h.status.value for h in lab_run.hosts}
    assert status["web1"] == "noncompliant" and status["db1"] == "compliant"
    assert status["legacy1"] == "unreachable"
    page = files["html"].decode()
    assert "FORBIDDEN" in files["txt"].decode()
    assert 'class="group finding kind-forbidden sev-row-critical red' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert 'id="waiver-W-200"' in page and "W-100" in page
    rows = list(csv.DictReader(io.StringIO(files["csv"].decode(), newline="")))
    assert {(r["port"], r["kind"]) for r in rows} >= {("1923", "forbidden"), ("5353", "stray"),
                                                       ("8443", "stray"), ("", "unchecked")}


def _flat(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        return {k: v for key, item in value.items() for k, v in _flat(item, f"{prefix}/{key}")
                .items()}
    if isinstance(value, list):
        return {k: v for i, item in enumerate(value) for k, v in _flat(item, f"{prefix}/{i}")
                .items()}
    return {prefix: value}


# What may differ between two runs over the same state: which run it was, when, how it was
# invoked, how long things took, and the probe's per-run nonce in the command evidence.
VOLATILE = re.compile(r"^/(run_id|started_at|finished_at|meta/command_line/\d+|hosts/\d+/duration|"
                      r"hosts/\d+/commands/\d+/(nonce|stdout|duration))$")


def _without_metadata(run: RunResult) -> RunResult:
    hosts = tuple(dataclasses.replace(h, duration=0.0, commands=()) for h in run.hosts)
    return dataclasses.replace(run, run_id="", started_at="2000-01-01T00:00:00Z",
                               finished_at="2000-01-01T00:00:00Z", meta={}, hosts=hosts)


def test_two_runs_over_the_same_state_differ_only_in_metadata(netns: Namespace,
                                                              holders: SocketHolders,
                                                              tmp_path: Path) -> None:
    holders.hold([Sock("tcp", "0.0.0.0", 1923, process="spiced"),
                  Sock("udp", "0.0.0.0", 5353, process="mdnsd"),
                  Sock("tcp", "::", 8080, process="webd"), Sock("tcp", "0.0.0.0", 22,
                                                                process="sshd")])
    inv = lab.inventory(tmp_path / "inv.yml", "web1", "web", ghost=True)
    runs = []
    for n in (1, 2):
        with in_netns(netns.name):
            res = run_cli(["scan", "-i", str(inv), "-p", str(lab.WEB), "-o",
                           str(tmp_path / f"run{n}"), "--format", "json", "--no-history"],
                          cwd=tmp_path)
        assert res.code == 1, res.err
        runs.append(lab.saved_run(tmp_path / f"run{n}"))
    first, second = (_flat(r.to_dict()) for r in runs)
    assert first.keys() == second.keys()
    differing = sorted(k for k in first if first[k] != second[k])
    assert all(VOLATILE.match(k) for k in differing), differing
    for fmt in FORMATS:
        a, b = (FORMATS[fmt].render(_without_metadata(r), RenderOptions(rendered_at="x"))
                for r in runs)
        assert a == b, f"{fmt} differs beyond metadata"


def test_scan_writes_the_default_formats_and_pipes_a_single_one(tmp_path: Path) -> None:
    out = tmp_path / "reports"
    res = run_cli(["scan", "-o", str(out)], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    assert sorted(p.suffix for p in out.glob("fleetcheck-2*")) == [".html", ".json", ".txt",
                                                                   ".xml"]
    for p in out.glob("fleetcheck-2*"):  # each also under its stable name, the same file
        assert (out / f"{LATEST_STEM}{p.suffix}").read_bytes() == p.read_bytes()
    text = next(out.glob("fleetcheck-2*.txt")).read_text()
    assert res.out.splitlines()[0] == text.splitlines()[1]  # not a terminal: the summary
    for fmt, start in (("junit", "<?xml"), ("csv", "severity,kind,host")):
        res = run_cli(["scan", "-o", str(tmp_path / fmt), "--format", fmt], cwd=tmp_path)
        assert res.out.startswith(start), res.out[:200]
        (written,) = [p for p in (tmp_path / fmt).glob("fleetcheck-2*")
                      if p.name.split(".", 1)[1] == FORMATS[fmt].extension]
        assert written.read_bytes().decode() == res.out


@pytest.mark.parametrize(("argv", "stdin", "message"), [
    (["report", "missing.json"], "", "missing.json: cannot read run"),
    (["report", "-"], "{\n  \"schema\": ", "<stdin>:2:13: not valid JSON"),
    (["report", "-"], "[]", "not a fleetcheck.run/3 document"),
    (["report", "-"], '{"schema": "fleetcheck.run/1"}', "missing key 'tool_version'"),
    (["report", "-", "--format", "text,html"], "{}", "several formats need -o DIR"),
    (["report", "-"], '{"schema": "fleetcheck.run/1", "tool_version": "1", "started_at": '
     '"2030-06-01T02:00:00Z", "finished_at": "2030-06-01T02:00:09Z", "hosts": [], '
     '"summary": {"hosts": 0, "compliant": 0, '
     '"noncompliant": 0, "unreachable": 0, "errors": 0, "findings": 0, "waived": 0, '
     '"violations": 0, "fail_on": "worst"}}', "unknown severity 'worst'"),
    (["report", "-"], '{"schema": "fleetcheck.run/1", "tool_version": "1", "started_at": "x", '
     '"finished_at": "x", "hosts": [], "summary": {}}', "$.started_at: 'x' is not a time"),
    (["report", "-"], '{"schema": "fleetcheck.run/1", "tool_version": "1", "started_at": '
     '"2030-06-01T02:00:00Z", "finished_at": "2030-06-01T02:00:09Z", "summary": {}, '
     '"hosts": [{"name": "a", "address": "a", '
     '"status": "fine"}]}', "'fine' is not a valid Status"),
    (["report", "-", "--format", "pdf"], "{}", "unknown format 'pdf'"),
])
def test_report_input_errors_exit_2(tmp_path: Path, argv: list[str], stdin: str,
                                    message: str) -> None:
    res = run_cli(argv, cwd=tmp_path, stdin=stdin)
    assert res.code == 2
    assert message in res.err and res.err.count("\n") == 1
    assert res.out == ""


def test_report_prints_one_format_to_stdout(tmp_path: Path, composite: RunResult) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(composite.to_dict()))
    for fmt in FORMATS:
        res = run_cli(["report", str(saved), "--format", fmt], cwd=tmp_path)
        assert res.code == 0, res.err
        expected = FORMATS[fmt].render(composite, RenderOptions(rendered_at="x"))
        if fmt == "html":
            res.out, expected = RENDERED_AT.sub("", res.out), RENDERED_AT.sub("", expected)
        assert res.out == expected


def test_an_unusable_report_directory_is_bad_input_before_any_scan(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    res = run_cli(["scan", "-o", str(blocker / "reports")], cwd=tmp_path)
    assert res.code == 2
    assert res.err == f"fleetcheck: error: {blocker / 'reports'}: cannot create the report " \
        "directory: Not a directory\n"
    assert res.out == ""
