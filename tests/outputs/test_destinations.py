"""Where reports go: --report FORMAT=DEST, -o DIR (never a file), latest names, the grouped CSV,
the Markdown summary on stdout and appended to $GITHUB_STEP_SUMMARY. Real local scans."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import threading
from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, view
from tests.conftest import run_cli


def test_report_destinations_per_format(tmp_path: Path) -> None:
    res = run_cli(["scan", "--report", "html=out/fleet.html", "--report", "json=-",
                   "--report", "markdown=out/summary.md"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    run = RunResult.from_dict(json.loads(res.out))  # stdout is the JSON report, nothing else
    html = (tmp_path / "out" / "fleet.html").read_text()
    assert run.run_id and f"<h1>{view.headline(run).word}</h1>" in html  # the same run
    assert (tmp_path / "out" / "summary.md").read_text().startswith("## ")
    assert not (tmp_path / "reports").exists()  # --report without --format: no directory
    assert "report: " in res.err and "out/fleet.html" in res.err
    again = run_cli(["scan", "--report", "html=out/fleet.html", "-q"], cwd=tmp_path)
    assert again.code == res.code and len(again.out.splitlines()) == 1  # summary, quietly
    assert (tmp_path / "out" / "fleet.html").read_text() != html  # replaced: a new run


def test_named_reports_written_in_pieces_are_the_run_rendered(tmp_path: Path) -> None:
    res = run_cli(["scan", "--report", "json=run.json", "--report", "junit=out/run.xml",
                   "--report", "oscal=out/run.oscal.json"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    run = RunResult.from_dict(json.loads((tmp_path / "run.json").read_text()))
    for name, path in (("junit", "out/run.xml"), ("oscal", "out/run.oscal.json")):
        assert FORMATS[name].chunks is not None  # written piece by piece
        assert (tmp_path / path).read_bytes() == FORMATS[name].render(run).encode("utf-8")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["run.oscal.json",
                                                                    "run.xml"]  # no temp


def test_report_with_format_still_writes_the_directory(tmp_path: Path) -> None:
    res = run_cli(["scan", "--format", "json", "-o", "dir", "--report", "text=run.txt"],
                  cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    assert (tmp_path / "run.txt").read_text().startswith("fleetcheck report · ")
    assert len(list((tmp_path / "dir").glob("fleetcheck-2*.json"))) == 1
    assert res.out.startswith(("COMPLIANT", "NONCOMPLIANT", "NOT VERIFIED"))  # the summary


@pytest.mark.parametrize(("argv", "message"), [
    (["-o", "out/fleet.html"], "use --report html=out/fleet.html"),
    (["-o", "existing.txt"], "-o takes a directory"),
    (["--report", "json=-", "--report", "csv=-"], "only one format can go to stdout"),
    (["-o", "-", "--format", "json", "--report", "csv=-"], "both ask for stdout"),
    (["--report", "html"], "write FORMAT=DEST"),
    (["--report", "html=adir"], "names a file to write, not a directory"),
])
def test_bad_destinations_are_bad_input(tmp_path: Path, argv: list[str], message: str) -> None:
    (tmp_path / "existing.txt").write_text("keep me\n")
    (tmp_path / "adir").mkdir()
    res = run_cli(["scan", *argv], cwd=tmp_path)
    assert res.code == 2 and message in res.err, res.err
    assert not (tmp_path / "out").exists() and not (tmp_path / "reports").exists()
    assert (tmp_path / "existing.txt").read_text() == "keep me\n"


def test_latest_names_follow_the_newest_run(tmp_path: Path) -> None:
    runs = []
    for _ in range(2):
        res = run_cli(["scan", "--format", "json,html,csv", "-o", "r"], cwd=tmp_path)
        assert res.code in (0, 1, 3), res.err
        runs.append(res)
    out = tmp_path / "r"
    stamped = sorted(out.glob("fleetcheck-2*.json"))
    assert len(stamped) == 2
    latest = json.loads((out / "fleetcheck-latest.json").read_text())
    (second,) = [line.strip() for line in runs[1].out.splitlines() if line.endswith(".json")]
    newest = json.loads((tmp_path / second).read_text())  # what the second run wrote
    assert latest["run_id"] == newest["run_id"] and latest == newest
    for ext in ("json", "html", "csv", "groups.csv"):
        link = out / f"fleetcheck-latest.{ext}"
        (twin,) = list(out.glob(f"fleetcheck-{newest['run_id']}.{ext}"))
        assert link.stat().st_ino == twin.stat().st_ino  # the same file, replaced atomically
    assert not list(out.glob(".*.tmp"))  # no temporary file left behind
    assert "fleetcheck-latest" not in runs[1].out  # the summary names the run's own files


def test_csv_comes_with_its_grouped_sheet(tmp_path: Path) -> None:
    res = run_cli(["scan", "--format", "csv", "-o", "r"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    flat = list(csv.DictReader(io.StringIO(res.out, newline="")))  # stdout: the flat one
    (grouped_file,) = (tmp_path / "r").glob("fleetcheck-2*.groups.csv")
    grouped = list(csv.DictReader(io.StringIO(grouped_file.read_text(), newline="")))
    findings = [r for r in flat if r["kind"] not in ("unchecked", "host_keys_not_checked",
                                                      "host_key_trusted")]
    assert sum(int(g["hosts"]) for g in grouped) >= len({(r["kind"], r["port"], r["host"])
                                                         for r in findings}) > 0 or not findings
    assert sum(int(g["hosts"]) for g in grouped) == len(findings)  # one host, one finding each


def test_markdown_on_stdout_and_in_the_github_step_summary(tmp_path: Path) -> None:
    page = tmp_path / "step_summary.md"
    page.write_text("# earlier step\n")
    env = {"GITHUB_STEP_SUMMARY": str(page)}
    first = run_cli(["scan", "--format", "markdown", "-o", "r"], cwd=tmp_path, environ=env)
    assert first.code in (0, 1, 3), first.err
    assert first.out.startswith("## ") and "fleetcheck: " in first.out.splitlines()[0]
    second = run_cli(["scan", "-o", "r2", "-q"], cwd=tmp_path, environ=env)
    assert second.code == first.code
    text = page.read_text()
    assert text.startswith("# earlier step\n## ")  # appended, never replaced
    assert text.count("\n## ") == 2 and first.out in text
    assert "### Open findings" in text and "**Coverage:**" in text


def test_an_unwritable_step_summary_is_a_lost_report(tmp_path: Path) -> None:
    res = run_cli(["scan", "-o", "r"], cwd=tmp_path,
                  environ={"GITHUB_STEP_SUMMARY": str(tmp_path / "no" / "such" / "file")})
    assert "report not written" in res.err and "no/such/file" in res.err
    assert res.code in (1, 3, 4)  # never 0: a clean verdict whose report was lost is 4


def test_report_takes_o_as_scan_does(tmp_path: Path) -> None:
    """`report -o -` is stdout and `report -o out/fleet.html` is refused, as for scan: never
    a directory named '-' or 'fleet.html' holding the reports."""
    res = run_cli(["scan", "--no-history", "--format", "json", "-o", "r"], cwd=tmp_path)
    assert res.code in (0, 1, 3), res.err
    saved = next((tmp_path / "r").glob("fleetcheck-2*.json"))
    out = run_cli(["report", str(saved), "-o", "-", "--format", "json"], cwd=tmp_path)
    assert out.code == 0 and out.out == saved.read_text(), out.err
    bad = run_cli(["report", str(saved), "-o", "out/fleet.html"], cwd=tmp_path)
    assert bad.code == 2 and "use --format html > out/fleet.html" in bad.err, bad.err
    assert not (tmp_path / "-").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("command", ["scan", "merge"])
def test_o_with_report_alone_is_refused(tmp_path: Path, command: str) -> None:
    """--report without --format writes no directory: an -o DIR given with it would be
    ignored in silence (no reports, no history there), so it is bad input instead."""
    argv = ["scan"] if command == "scan" else ["merge", "missing.json"]
    res = run_cli([*argv, "--report", "json=run.json", "-o", "rr"], cwd=tmp_path)
    assert res.code == 2 and "-o rr: --report without --format" in res.err, res.err
    assert not (tmp_path / "rr").exists() and not (tmp_path / "run.json").exists()


def test_fleetcheck_yml_report_directory_is_merge_and_history_s_too(tmp_path: Path) -> None:
    """`output_dir` and `formats` of fleetcheck.yml: scan writes there, merge writes there
    (those formats), and history reads the database scan left there."""
    (tmp_path / "fleetcheck.yml").write_text("output_dir: site\nformats: [json, csv]\n")
    (tmp_path / "hosts.ini").write_text("a ansible_connection=local\n"
                                        "b ansible_connection=local\n")
    for k in (1, 2):
        res = run_cli(["scan", "-i", "hosts.ini", "--shard", f"{k}/2", "-o", f"s{k}",
                       "--no-history"], cwd=tmp_path)
        assert res.code in (0, 1, 3), res.err
    assert run_cli(["scan", "-i", "hosts.ini"], cwd=tmp_path).code in (0, 1, 3)
    assert (tmp_path / "site" / "fleetcheck-history.sqlite3").is_file()
    history = run_cli(["history"], cwd=tmp_path)
    assert history.code == 0 and "site/fleetcheck-history.sqlite3: 1 run" in history.out, \
        history.err
    merged = run_cli(["merge", "s1/fleetcheck-latest.json", "s2/fleetcheck-latest.json",
                      "--no-history"], cwd=tmp_path)
    assert merged.code in (0, 1, 3), merged.err
    assert not (tmp_path / "reports").exists()
    assert sorted(p.suffix for p in (tmp_path / "site").glob("fleetcheck-2*")) == \
        [".csv", ".csv", ".csv", ".csv", ".json", ".json"]  # two runs: csv, groups, json


def test_a_named_destination_that_is_no_plain_file_is_written_into(tmp_path: Path) -> None:
    """--report json=PATH reaches PATH as a shell's `>` would: a FIFO (`>(jq .)`) gets the
    report and stays a FIFO, a symbolic link keeps pointing at its target, which is replaced,
    and (as root, the only one who could lose them) a device node is written into, never
    replaced by a file: `--report json=/dev/null` replaced /dev/null itself. The same for
    `manpage -o`."""
    fifo, link, target = tmp_path / "fifo", tmp_path / "link.json", tmp_path / "target.json"
    os.mkfifo(fifo)
    target.write_text("old")
    link.symlink_to(target)
    got: list[bytes] = []
    # daemon: a report that replaced the FIFO leaves this reader waiting for ever
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    res = run_cli(["scan", "--report", f"json={fifo}", "--report", f"csv={link}", "-q"],
                  cwd=tmp_path)
    reader.join(10)
    assert res.code in (0, 1, 3), res.err
    assert stat.S_ISFIFO(fifo.lstat().st_mode), "the FIFO was replaced by a file"
    assert got and json.loads(got[0])["schema"]
    assert link.is_symlink() and target.read_text().startswith("severity,")
    assert run_cli(["manpage", "-o", str(link)], cwd=tmp_path).code == 0
    assert link.is_symlink() and target.read_text().startswith(".TH ")
    if os.geteuid() == 0:
        null, full = tmp_path / "null", tmp_path / "full"
        os.mknod(null, 0o666 | stat.S_IFCHR, os.makedev(1, 3))
        os.mknod(full, 0o666 | stat.S_IFCHR, os.makedev(1, 7))
        res = run_cli(["scan", "--report", f"json={null}", "--report", f"html={full}", "-q"],
                      cwd=tmp_path)
        assert stat.S_ISCHR(null.lstat().st_mode) and stat.S_ISCHR(full.lstat().st_mode)
        assert f"{full}: report not written: No space left on device" in res.err
        assert res.code in (1, 3, 4), res.err  # a clean verdict's lost report is a 4
