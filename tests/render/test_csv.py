"""CSV of findings: what auditors paste into a spreadsheet, formulas neutralised."""

from __future__ import annotations

import csv
import dataclasses
import io

import pytest

from fleetcheck.model import RunResult, Severity
from fleetcheck.render import csvout, view
from tests.render import builders


def rows(run: RunResult) -> list[dict[str, str]]:
    """The CSV report parsed back, one dict per row."""
    text = csvout.render(run)
    assert text.endswith("\r\n")
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_one_row_per_finding_then_per_unchecked_host(composite: RunResult) -> None:
    out = rows(composite)
    findings = [f for h in composite.hosts for f in h.findings]
    assert sorted(r["id"] for r in out if r["kind"] not in ("unchecked", "warning")) == sorted(
        f.id for f in findings)
    warnings = [r["message"] for r in out if r["kind"] == "warning"]
    assert warnings == view.warnings(composite)  # every warning of the run has its row
    assert len(out) == len(findings) + 2 + len(warnings)
    ranks = [(r["waived"] == "yes", -Severity.parse(r["severity"])) for r in out
             if r["kind"] not in ("unchecked", "warning")]
    assert ranks == sorted(ranks)  # open before waived, worst first
    first = out[0]
    assert (first["severity"], first["kind"], first["host"], first["proto"], first["port"],
            first["service"], first["address"], first["process"], first["rule"],
            first["violation"]) == ("critical", "forbidden", "web1", "tcp", "1923", "spice",
                                    "0.0.0.0", "spiced", "baseline/spice", "yes")
    waived = [r for r in out if r["waived"] == "yes"]
    assert [(r["port"], r["waiver"], r["violation"]) for r in waived] == [("8443", "W-100", "no")]
    unchecked = [r for r in out if r["kind"] == "unchecked"]
    assert [(r["host"], r["host_status"]) for r in unchecked] == [("legacy1", "unreachable"),
                                                                   ("win1", "error")]
    assert unchecked[0]["message"].startswith("connect_timeout: no answer")
    assert tuple(out[0]) == csvout.COLUMNS


def test_formulas_arrive_as_text(composite: RunResult) -> None:
    host = composite.hosts[0]
    finding = dataclasses.replace(host.findings[0], process='=HYPERLINK("http://x","y")',
                                  message="+1 looks like a number", rule="@rule")
    run = dataclasses.replace(composite, hosts=(dataclasses.replace(host, findings=(finding,)),))
    (row,) = [r for r in rows(run) if r["id"] == finding.id]
    assert row["process"] == '\'=HYPERLINK("http://x","y")'
    assert row["message"] == "'+1 looks like a number"
    assert row["rule"] == "'@rule"
    assert builders.XSS in csvout.render(composite)  # text stays text otherwise


@pytest.mark.parametrize("text", [" =1+1", "\n=1+1", "\r\n@SUM(A1)", "\u3000+1", "\uff1d1+1",
                                  "\uff0b1", "\uff0d1", "\uff20SUM(A1)", "\t", "  \uff1dA1"])
def test_formulas_behind_blanks_or_in_full_width_arrive_as_text(text: str) -> None:
    """Spreadsheets that trim blanks, or read full-width signs, still get text."""
    assert csvout.spreadsheet_cell(text) == "'" + text


@pytest.mark.parametrize("text", ["sshd", "a=b", "x-y", "", "  sshd", "1923", "user@host"])
def test_plain_cells_stay_as_they_are(text: str) -> None:
    assert csvout.spreadsheet_cell(text) == text
