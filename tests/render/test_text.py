"""The text report: verdict and summary first, fits the width, colour only when asked."""

from __future__ import annotations

import html as htmllib
import json
import random
import re
from pathlib import Path

import pytest
from tabulate import SEPARATING_LINE, tabulate

from fleetcheck.model import RunResult
from fleetcheck.render import RenderOptions, html, text, textfit, view
from fleetcheck.render.textfit import BOLD, RED, paint, simple_table, table, visible_width
from tests.conftest import run_cli

ANSI = re.compile(r"\033\[[0-9;]*m")
# The sections of both human reports, in the order both show them.
TEXT_SECTIONS = ["SUMMARY", "FINDINGS", "NOT CHECKED", "WAIVERS", "FLEET VIEW", "RUN", "HOSTS"]
HTML_SECTIONS = ["summary", "findings", "unchecked", "waivers", "fleet", "run", "hosts"]


@pytest.mark.parametrize("width", [60, 72, 80, 100, 120, 200])
def test_every_line_fits_the_width(composite: RunResult, width: int) -> None:
    out = text.render(composite, RenderOptions(width=width, color=True))
    too_wide = [line for line in out.splitlines() if visible_width(line) > width]
    assert not too_wide, f"{len(too_wide)} lines wider than {width}: {too_wide[:3]}"


def test_narrow_terminal_never_goes_below_the_minimum(composite: RunResult) -> None:
    out = text.render(composite, RenderOptions(width=20))
    assert max(visible_width(line) for line in out.splitlines()) <= 60


def test_verdict_first_then_sections_in_the_html_order(composite: RunResult) -> None:
    out = text.render(composite)
    lines = out.splitlines()
    assert lines[0].startswith("fleetcheck report · run 2026-11-26T02:00:00Z · 3 min 07 s")
    assert lines[1].startswith("NONCOMPLIANT: 7 violations on 2 of 5 hosts (worst: critical); "
                               "2 could not be checked")
    positions = [next(i for i, line in enumerate(lines) if line.split(" (")[0] == title
                      and set(lines[i + 1]) == {"="}) for title in TEXT_SECTIONS]
    assert positions == sorted(positions)
    page = html.render(composite)
    html_positions = [page.index(f'<section id="{s}"') for s in HTML_SECTIONS]
    assert html_positions == sorted(html_positions)
    assert page.index('id="verdict"') < html_positions[0]


def _words(value: str) -> str:
    return " ".join(value.split())


def test_text_and_html_state_the_same_facts(composite: RunResult) -> None:
    """Every host, finding sentence, error, warning, waiver and input digest is in both."""
    plain = _words(text.render(composite, RenderOptions(width=1000)))
    page = _words(htmllib.unescape(re.sub(r"<[^>]+>", " ", html.render(composite))))
    facts = [*composite.meta["warnings"], *(i.sha256 for i in composite.inputs),
             *(i.path for i in composite.inputs), composite.started_at, composite.finished_at]
    for h in composite.hosts:
        facts += [h.name, h.address, h.status.value, *(f.message for f in h.findings)]
        facts += [h.error.kind, h.error.message] if h.error else []
        facts += [jl.listener.process or "" for jl in h.listeners]
    for w in composite.waivers:
        facts += [w.id, w.owner, w.ticket or "", w.expires or "", w.reason]
    for fact in filter(None, facts):
        assert _words(fact) in plain, f"text report misses {fact!r}"
        assert _words(fact) in page, f"HTML report misses {fact!r}"


def test_forbidden_and_stray_are_red_and_nothing_is_coloured_without_colour(
        composite: RunResult) -> None:
    coloured = text.render(composite, RenderOptions(color=True, width=200))
    assert "\033[31m\033[1mFORBIDDEN\033[0m" in coloured
    assert "\033[31m\033[1mSTRAY\033[0m" in coloured
    assert "\033[" not in text.render(composite, RenderOptions(width=200))
    assert ANSI.sub("", coloured) == text.render(composite, RenderOptions(width=200))


def test_expired_waiver_and_unused_waivers_are_called_out(composite: RunResult) -> None:
    out = text.render(composite, RenderOptions(width=200))
    assert re.search(r"^W-200\s+EXPIRED\s+bob@example.net\s+SEC-12\s+2026-06-30", out, re.M)
    assert "Unused waivers (matched nothing): W-300" in out


def test_a_table_too_wide_for_its_columns_becomes_records() -> None:
    rows = [["critical", "web1.example.net", "x" * 50]]
    as_table = table(rows, ["SEVERITY", "HOST", "MESSAGE"], 100, flex=(2,))
    assert as_table.splitlines()[0].split() == ["SEVERITY", "HOST", "MESSAGE"]
    records = table(rows, ["SEVERITY", "HOST", "MESSAGE"], 35, flex=(2,))
    assert records.splitlines()[:3] == ["[1]", "  SEVERITY  critical",
                                        "  HOST      web1.example.net"]
    assert all(len(line) <= 35 for line in records.splitlines())


def test_wide_columns_wrap_instead_of_overflowing() -> None:
    rows = [["a", "word " * 30]]
    out = table(rows, ["K", "MESSAGE"], 40, flex=(1,))
    assert max(len(line) for line in out.splitlines()) <= 40
    assert len(out.splitlines()) > 3


@pytest.mark.parametrize(("environ", "tty", "coloured"), [
    ({}, True, True), ({"NO_COLOR": "1"}, True, False), ({"NO_COLOR": ""}, True, True),
    ({"TERM": "dumb"}, True, False), ({}, False, False)])
def test_report_command_colours_only_a_terminal_without_no_color(
        tmp_path: Path, composite: RunResult, environ: dict[str, str], tty: bool,
        coloured: bool) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(composite.to_dict()))
    res = run_cli(["report", str(saved)], cwd=tmp_path, tty=tty,
                  environ={"COLUMNS": "100", **environ})
    assert res.code == 0, res.err
    assert ("\033[" in res.out) is coloured
    assert max(visible_width(line) for line in res.out.splitlines()) <= 100
    assert any(ANSI.sub("", line).startswith("NONCOMPLIANT") for line in res.out.splitlines()[:3])


def test_a_long_probe_command_is_cut_and_says_where_the_rest_is() -> None:
    """A probe runs to thousands of characters: the text report shows its head and its size."""
    probe = "sh -c '" + "echo x; " * 600 + "'"
    shown = view.command_preview(probe)
    assert shown.startswith(probe[:view.COMMAND_PREVIEW] + " ... ")
    assert f"({len(probe)} characters, 1 line; whole in the HTML and JSON reports)" in shown
    assert view.command_preview("ss -tlnp") == "ss -tlnp"


def test_the_padding_is_tabulates() -> None:
    import tabulate as tabulate_module

    assert textfit.MIN_PADDING == tabulate_module.MIN_PADDING


def test_simple_tables_are_tabulates_tables_cell_for_cell() -> None:
    """The text report lays out plain tables itself (speed); the text is tabulate's."""
    rng = random.Random(1923)  # noqa: S311 -- reproducible test data, not secrets
    pieces = ["a", "bb", " ", "  x ", "", "True", "False", "1", "-2.5", "1e5", "0x1f", "nan",
              "None", "-", "1,000", " 12 ", "a-b", "long-word-here", "x y z", "é", "日本",
              "tab\tx", "line\nbreak", "\x07", "h1, h2 (+9 more)", "w " * 6]
    laid_out = capped = plains = wrapped = separated = 0
    for _ in range(8000):
        cols = rng.randint(1, 5)
        headers = [rng.choice(["A", "BB", "PORT", "X Y"]) for _ in range(cols)]
        rows = [[paint("".join(rng.choice(pieces) for _ in range(rng.randint(0, 3))),
                       rng.choice([RED, RED + BOLD, ""]), rng.random() < 0.3)
                 for _ in range(cols)] for _ in range(rng.randint(0, 4))]
        caps = [rng.choice([None, rng.randint(1, 30), rng.randint(1, 8)]) for _ in range(cols)]
        # The caller's one-pass check: cells that are one line of printable ASCII wrap and
        # take separators here too.
        plain = textfit._plain(rows, headers)
        sep = plain and rng.random() < 0.5
        got = simple_table(rows, headers, caps, plain, sep)
        if got is None:  # wide characters, controls, several lines: tabulate's own
            continue
        laid_out += 1
        capped += any(caps)
        plains += plain
        wrapped += plain and any(cap is not None and len(row[i]) > cap
                                 for row in rows for i, cap in enumerate(caps))
        separated += sep
        body = [x for row in rows for x in (row, SEPARATING_LINE)] if sep else rows
        assert got == tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True,
                               maxcolwidths=caps, break_on_hyphens=False), (headers, rows, caps)
    assert laid_out > 1500 and capped > 500 and plains > 500 and wrapped > 100
    assert separated > 300


def test_rows_without_a_header_are_the_tables_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    """`table(named=False)` lays out rows that need no wrapping itself (a host's listeners):
    the same lines the whole table has below its blank header."""
    rng = random.Random(1923)  # noqa: S311 -- reproducible test data, not secrets
    pieces = ["a", "bb", " ", "tcp/22", "", "0.0.0.0", "sshd (pid 1)", "x y", "é", "\x1b[31m",
              "long-word-here", "w " * 6]
    cases = []
    for _ in range(3000):
        cols = rng.randint(1, 6)
        rows = [["".join(rng.choice(pieces) for _ in range(rng.randint(0, 3)))
                 for _ in range(cols)] for _ in range(rng.randint(0, 4))]
        cases.append((rows, [f"H{i}" for i in range(cols)], rng.randint(10, 90),
                      tuple(i for i in range(cols) if rng.random() < 0.5)))
    fast = [textfit.table(r, h, w, f, named=False) for r, h, w, f in cases]
    laid_out = sum(textfit._rows_only(r, len(h), w) is not None for r, h, w, _ in cases)
    monkeypatch.setattr(textfit, "_rows_only", lambda *_: None)
    assert fast == [textfit.table(r, h, w, f, named=False) for r, h, w, f in cases]
    assert laid_out > 300


def test_line_counts_are_splitlines_counts() -> None:
    """`line_count` counts ASCII text without splitting it: the same number as splitlines."""
    rng = random.Random(1923)  # noqa: S311 -- reproducible test data, not secrets
    pieces = ["a", "\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85",
              "\u2028", "\u2029", "é", " "]
    for _ in range(20000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 8)))
        assert view.line_count(text) == len(text.splitlines()), repr(text)


@pytest.mark.parametrize(("flag", "tty", "coloured"), [
    ("never", True, False), ("always", False, True), ("auto", True, True)])
def test_report_command_takes_color_as_scan_does(tmp_path: Path, composite: RunResult,
                                                 flag: str, tty: bool, coloured: bool) -> None:
    saved = tmp_path / "run.json"
    saved.write_text(json.dumps(composite.to_dict()))
    res = run_cli(["report", str(saved), "--color", flag], cwd=tmp_path, tty=tty,
                  environ={"COLUMNS": "100"})
    assert res.code == 0 and ("\033[" in res.out) is coloured, res.err
