"""The text report's host sections: a few hundred bytes a host, and nothing left out."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

from fleetcheck.collect import probe, wrap_command
from fleetcheck.engine.summary import judge_run
from fleetcheck.model import CommandRecord, HostResult, Listener, RunResult, Severity
from fleetcheck.plan import PlannedHost
from fleetcheck.render import RenderOptions, text, view
from tests.conftest import run_cli
from tests.render import builders

DEBIAN = "Debian GNU/Linux 12 (bookworm)"
KERNEL = "Linux 6.18.44-fc-v1252"
# A lab host: sshd allowed, spiced forbidden (critical), mdnsd stray.
LAB_LISTENERS = [Listener("tcp", 4, "0.0.0.0", 22, "sshd", 12057, "root"),
                 Listener("tcp", 4, "0.0.0.0", 1923, "spiced", 12093, "root"),
                 Listener("udp", 4, "0.0.0.0", 5353, "mdnsd", 12221, "root")]


def _probe(nonce: str) -> CommandRecord:
    """The real probe as a scan runs it (its own nonce), with a listing's line counts."""
    planned = PlannedHost(name="h", address="h", groups=(), policies=())
    command = wrap_command(probe.build_probe(nonce), planned, nonce).recorded
    return CommandRecord(command, 0, "line\n" * 12, "", 0.187, nonce)


def _lab_run(hosts: int) -> RunResult:
    """`hosts` lab hosts, each with three listeners, two findings and its own probe nonce."""
    pols = builders.policies()
    made = [dataclasses.replace(
        builders.checked_host(f"h{i:05d}", (), LAB_LISTENERS, pols, os=KERNEL),
        address=f"127.0.{1 + i // 250}.{1 + i % 250}", distribution=DEBIAN,
        commands=(_probe(f"{i:016x}"),)) for i in range(hosts)]
    settled, summary = judge_run(made, Severity.LOW, complete=True)
    return dataclasses.replace(builders.composite_run(), hosts=settled, summary=summary)


def _section(report: str, host: str) -> str:
    """A host's section: from its title line to the blank line that ends it."""
    start = report.index(f"\n--- {host} (") + 1
    end = report.find("\n\n", start)
    return report[start:] if end < 0 else report[start:end + 1]


def test_a_lab_host_costs_under_500_bytes_and_the_fleet_under_600_a_host() -> None:
    run = _lab_run(200)
    report = text.render(run)
    section = _section(report, "h00042")
    assert section.startswith(f"--- h00042 (127.0.1.43): NONCOMPLIANT · {DEBIAN} · {KERNEL}\n")
    assert len(section.encode()) < 480, section  # ~980 before (and a 150-byte table row)
    index_row = next(line for line in report.splitlines() if line.startswith("h00042 "))
    assert len(index_row) < 50, index_row
    assert len(report.encode()) / 200 < 600
    # the probe (12 KB) is previewed once for the whole run, never in a host's section
    head = view.command_preview(run.hosts[0].commands[0].command)[:60]
    assert report.count(head) == 1
    assert "#1 on 200 hosts, each with its own nonce: $ " + head in report


def test_a_host_section_keeps_every_fact(composite: RunResult) -> None:
    report = text.render(composite, RenderOptions(width=200))
    web1 = next(h for h in composite.hosts if h.name == "web1")
    section = _section(report, "web1")
    facts = [web1.status.value.upper(), web1.os or "", f"collector {web1.collector}",
             "privileged yes", "policies baseline, web", "groups web",
             f"took {view.seconds(web1.duration)}"]
    for jl in web1.listeners:
        li = jl.listener
        facts += [view.proto_port(li.proto, li.port), view.bind_address(li),
                  li.process or "?", "" if li.pid is None else str(li.pid), li.user or "",
                  jl.rule or "", view.listener_notes(li)]
        row = next(line for line in section.splitlines()
                   if line.startswith(f"  {view.proto_port(li.proto, li.port)} ")
                   and view.bind_address(li) in line)
        assert (jl.verdict.value.upper() in row or jl.verdict.value in row), row
        assert view.service_name(li.port, li.proto) in row
    for f in web1.findings:
        if f.address is None:
            facts.append(f"{f.kind.value}: {f.message}")
    cmd = web1.commands[0]
    facts.append(f"command #1: exit code {cmd.exit_code} · {view.seconds(cmd.duration)} · "
                 f"stdout {view.line_count(cmd.stdout)} lines · stderr 0 lines")
    flat = " ".join(section.split())
    for fact in filter(None, facts):
        assert " ".join(fact.split()) in flat, f"web1's section misses {fact!r}"
    # the waiver standing, the note and the unprivileged owner words of other hosts
    assert "stray, waived by W-100" in _section(report, "app1")
    assert "note: collected without root" in _section(report, "app1")
    assert "#1 on 3 hosts: $ sh -c 'ss -tulnpe' ... (50 characters, 2 lines;" in report


def test_an_unchecked_host_keeps_its_error_command_and_stderr(composite: RunResult) -> None:
    report = text.render(composite, RenderOptions(width=200))
    win1 = _section(report, "win1")
    assert win1.splitlines() == [
        "--- win1 (win1.example.net): ERROR · OS unknown",
        "  error auth_failed: authentication failed for user 'audit' (publickey, password)",
        "  collector none · privileged unknown · policies baseline · groups legacy · took "
        "10.000 s",
        "  $ true",  # a command no other host ran: previewed where it ran
        "  exit code none · 0.500 s · stdout 0 lines · stderr 1 line",
        r"  stderr: Permission denied <b>(publickey)</b>\x1b[0m\x00 & more"]
    index = report[report.index("HOSTS (5)"):report.index("--- app1")]
    assert re.search(r"^win1\s+error \(auth_failed\)$", index, re.M)
    assert re.search(r"^app1\s+noncompliant\s+3\s+1\s+1$", index, re.M)  # 1 note


def test_listener_columns_are_named_once_and_rows_align_within_a_host(
        composite: RunResult) -> None:
    report = text.render(composite)
    assert report.count("PORT SERVICE ADDRESS PROCESS PID USER VERDICT RULE NOTES") == 1
    rows = [line for line in _section(report, "db1").splitlines()
            if re.match(r"  (tcp|udp)/", line)]
    assert len(rows) == 2
    assert rows[0].index("0.0.0.0") == rows[1].index("::1")  # the columns line up
    assert "PORT" not in _section(report, "db1")


def test_a_host_with_no_listeners_says_so() -> None:
    run = _lab_run(2)
    bare = dataclasses.replace(run.hosts[0], listeners=(), findings=())
    settled, summary = judge_run([bare, run.hosts[1]], Severity.LOW, complete=True)
    report = text.render(dataclasses.replace(run, hosts=settled, summary=summary))
    assert "\n  no listeners\n" in _section(report, "h00000")


def _one_of(host: HostResult) -> RunResult:
    settled, summary = judge_run([host], Severity.LOW, complete=True)
    return dataclasses.replace(builders.composite_run(), hosts=settled, summary=summary)


def test_a_command_only_one_host_ran_is_previewed_in_its_section() -> None:
    run = _one_of(_lab_run(1).hosts[0])
    report = text.render(run)
    assert "Commands run on several hosts" not in report
    section = _section(report, "h00000")
    assert "  $ sh -c 'fc_script=;" in section
    assert "  exit code 0 · 0.187 s · stdout 12 lines · stderr 0 lines" in section


def test_the_text_report_is_the_same_in_a_file_and_on_stdout(tmp_path: Path) -> None:
    """`report -o DIR` and `report --format text` printing to a pipe give the same bytes."""
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(_lab_run(3).to_dict()))
    printed = run_cli(["report", str(saved), "--format", "text"], cwd=tmp_path)
    written = run_cli(["report", str(saved), "--format", "text", "-o", str(tmp_path / "out")],
                      cwd=tmp_path)
    assert printed.code == written.code == 0, printed.err + written.err
    (file,) = (tmp_path / "out").glob("*.txt")
    assert printed.out == file.read_text(encoding="utf-8")
    assert "#1 on 3 hosts" in printed.out and printed.out.count("--- h0000") == 3
