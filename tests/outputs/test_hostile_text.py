"""Text fleetcheck does not control reaches every output as text only.

Seeded hostile runs (`hostile_runs`: every host-, inventory-, policy-, waiver- and command-line
text replaced by markup, formulas, escapes, bidi and invisible characters, line ends and very
long text) rendered by the real renderers and read by strict real consumers (`hostile_read`):
cmark-gfm as GitHub renders Markdown, expat and the JUnit XSD, Python's csv, strict JSON through
the run model, compliance-trestle's OSCAL models, and Chromium under the page's own CSP; the
commands that print a saved run (report, diff, history, explain); hostile input files and
arguments given to `validate` and `scan`; a bundle given to `verify`.

More seeds: FLEETCHECK_HOSTILE_SEEDS=300 python -m pytest tests/outputs/test_hostile_text.py
"""

from __future__ import annotations

import dataclasses
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options

from fleetcheck.engine.summary import judge_run
from fleetcheck.model import RunResult, Severity
from fleetcheck.render import FORMATS, RenderOptions, html, summary
from fleetcheck.render.markdown import md
from fleetcheck.render.write import write_reports
from tests.conftest import run_cli, run_files
from tests.outputs import hostile_read as read
from tests.outputs.hostile_runs import hostile_run, stand_ins
from tests.render.cdp import Browser, running_browser

SEEDS = range(int(os.environ.get("FLEETCHECK_HOSTILE_SEEDS", "10")))


def _files(paths: list[Path]) -> dict[str, Path]:
    return {p.name.split(".", 1)[1]: p for p in paths}


@pytest.mark.parametrize("seed", SEEDS)
def test_every_format_holds_hostile_text_as_text(seed: int, tmp_path: Path) -> None:
    run = hostile_run(seed)
    texts = stand_ins(run)
    written = write_reports(run, list(FORMATS), tmp_path, rendered_at="then")
    assert not written.failed
    files = _files(written.paths)

    def text(ext: str) -> str:
        return files[ext].read_text("utf-8")

    problems = [*read.check_text("text", text("txt"), texts),
                *read.check_text("summary", summary.render(run), texts),
                *read.check_markdown("markdown", text("md"), texts),
                *read.check_csv("csv", text("csv")),
                *read.check_csv("csv-groups", text("groups.csv")),
                *read.check_csv("register", text("register.csv")),
                *read.check_junit("junit", text("xml")),
                *read.check_json("json", text("json"), run),
                *read.check_html("html", text("html")),
                *(read.check_oscal("oscal", files["oscal.json"]) if seed < 3 else [])]
    assert not problems, "\n".join(problems)


def _next_night(run: RunResult) -> RunResult:
    """The next run of the same hosts: each host's first finding and listener gone (statuses
    and summary settled again, as a run's are)."""
    hosts, summary = judge_run([dataclasses.replace(h, findings=h.findings[1:],
                                                    listeners=h.listeners[1:])
                                for h in run.hosts], Severity.parse(run.summary.fail_on),
                               complete=run.complete)
    return dataclasses.replace(run, hosts=hosts, summary=summary,
                               run_id="20261127T020000Z-" + run.run_id[-8:],
                               started_at="2026-11-27T02:00:00Z",
                               finished_at="2026-11-27T02:03:07Z")


@pytest.mark.parametrize("seed", [1, 3, 4, 5])
def test_commands_that_print_a_saved_run(seed: int, tmp_path: Path) -> None:
    """diff, history (list, import, a host's timeline), report to stdout and explain."""
    run = hostile_run(seed)
    texts = stand_ins(run)
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(FORMATS["json"].render(run), "utf-8")
    new.write_text(FORMATS["json"].render(_next_night(run)), "utf-8")
    db = str(tmp_path / "history.sqlite3")
    commands: list[tuple[list[str], bool]] = [
        (["diff", str(old), str(new)], False),
        (["diff", "--format", "json", str(old), str(new)], True),
        (["history", "--history-db", db, "import", str(old), str(new)], False),
        (["history", "--history-db", db], False),
        (["history", "--history-db", db, "--format", "json"], True),
        *((["history", "--history-db", db, f"--host={h.name}"], False) for h in run.hosts[:3]),
        (["report", str(new), "--format", "text", "-o", "-"], False),
        (["report", str(new), "--format", "markdown", "-o", "-"], False),
        (["explain", "--run", str(new), "--", run.hosts[0].name, "1923"], False)]
    problems = []
    for argv, is_json in commands:
        res = run_cli(argv, cwd=tmp_path)
        assert res.code in (0, 1, 3), (argv[:2], res.err)
        problems += read.check_text(f"{argv[0]} stderr", res.err, texts)
        if is_json:
            json.loads(res.out, parse_constant=lambda word: pytest.fail(f"not JSON: {word}"))
        elif "markdown" in argv:
            problems += read.check_markdown(" ".join(argv[:2]), res.out, texts)
        else:
            problems += read.check_text(" ".join(argv[:2]), res.out, texts)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """One headless Chromium for the module, with a fresh profile."""
    with running_browser(tmp_path_factory.mktemp("chromium")) as b:
        yield b


@pytest.mark.lab
@pytest.mark.parametrize("seed", [0, 1, 3, 11])
def test_the_html_in_chromium_runs_nothing_and_names_every_host(seed: int, browser: Browser,
                                                                tmp_path: Path) -> None:
    """Both pages (host sections written out, and built by the script from data)."""
    run = hostile_run(seed)
    problems = []
    for lazy in (None, 1):
        path = tmp_path / f"report-{lazy}.html"
        path.write_text(html.render(run, RenderOptions(rendered_at="then",
                                                       lazy_hosts_from=lazy)), "utf-8")
        page = browser.new_page()
        try:
            problems += [f"lazy={lazy} {p}" for p in
                         read.browser_problems(page, path.as_uri(), run)]
        finally:
            page.close()
    assert not problems, "\n".join(problems)


def test_the_readers_see_what_they_look_for(tmp_path: Path) -> None:
    """Each strict reader refuses the output it exists to catch (the oracle is no no-op)."""
    forged = ["name\nFAKE LINE T001Z"]
    assert read.check_text("t", "a name\nFAKE LINE T001Z here\n", forged)
    assert read.check_text("t", "bell \x07 and \x1b[2J\n", [])
    assert not read.check_text("t", "a name\\x0aFAKE LINE T001Z\n", forged)
    assert read.check_markdown("m", "| a |\n|---|\n| http://e.x |\n", [])  # GitHub links it
    assert read.check_markdown("m", "| a |\n|---|\n| x T001Z | T002Z |\n", [])  # cut off
    assert read.check_markdown("m", "x <img src=x>\n", [])
    assert read.check_csv("c", "a,b\r\n=1+1,x\r\n") and read.check_csv("c", "a,b\r\nx\r\n")
    assert read.check_junit("j", '<testsuites><testsuite name="\x01"/></testsuites>')
    assert read.check_junit("j", "<testsuites><nope/></testsuites>")
    assert read.check_json("j", '{"a": NaN}', hostile_run(1))
    assert read.check_html("h", '<p>x<img src=x onerror="alert(1)"></p>')
    assert read.check_html("h", '<a href="javascript:alert(1)">x</a>')
    bad = tmp_path / "bad.oscal.json"
    bad.write_text('{"assessment-results": {}}')
    assert read.check_oscal("o", bad)


@pytest.mark.parametrize("text", ["http://e.x/a", "HTTPS://e.x", "ftp://e.x", "www.e.x",
                                  "WWW.e.x", "mail@e.x", "@someone", "mailto:a@b.c",
                                  "xmpp:a@b.c/r", "(www.e.x)"])
def test_markdown_links_nothing_github_would_autolink(text: str) -> None:
    rendered = cmarkgfm.github_flavored_markdown_to_html(f"| h |\n|---|\n| {md(text)} |\n",
                                                         options=Options.CMARK_OPT_UNSAFE)
    assert "<a " not in rendered, rendered
    assert text in read.elements(rendered).text_content(), rendered


def _scan_inputs(tmp_path: Path) -> tuple[Path, Path, Path]:
    inv = tmp_path / "inv\udcff.yml"  # a file name's undecodable byte, as Python reads it
    inv.write_text("all:\n  hosts:\n    web1:\n      ansible_host: 127.0.0.1\n"
                   "      ansible_port: 1\n      ansible_user: ops\n")
    policies = tmp_path / "pol\udcff"
    policies.mkdir()
    (policies / "web\udcff.yml").write_text("name: web\nhosts: all\ndefault: deny\nallow:\n"
                                            "  - id: ssh\n    proto: tcp\n    port: 22\n")
    waivers = tmp_path / "w.yml"
    waivers.write_text("waivers:\n  - id: W-1\n    hosts: all\n    port: 22\n    reason: r\n"
                       "    owner: o\n    approved_by: a\n    created: 2026-01-01\n"
                       "    expires: 2099-01-01\n")
    return inv, policies, waivers


def test_undecodable_arguments_and_file_names_reach_the_reports_as_text(tmp_path: Path) -> None:
    """Paths, -e values and the command line holding what no UTF-8 writer can write (was:
    the host checked, then exit 70 and no report)."""
    inv, policies, waivers = _scan_inputs(tmp_path)
    out = tmp_path / "out"
    res = run_cli(["scan", "-i", str(inv), "-p", str(policies), "-w", str(waivers), "-o",
                   str(out), "--format", "all", "-T", "5", "-e", "note=\udcff",
                   "-e", "other=\\ud800", "-e", "{\"x\": 1}"], cwd=tmp_path)
    assert res.code == 3, res.err  # the host could not be checked: data, not a crash
    (record,) = run_files(out)
    run = json.loads(record.read_text("utf-8"))
    assert [i["path"] for i in run["inputs"]["inventory"]] == [str(inv).replace("\udcff", "\ufffd")]
    assert run["inputs"]["policy"][0]["path"].endswith("pol\ufffd/web\ufffd.yml")
    assert "note=\ufffd" in run["meta"]["command_line"]
    problems = read.check_json("json", record.read_text("utf-8"),
                               RunResult.from_dict(run))
    problems += read.check_junit("junit", next(out.glob("*.xml")).read_text("utf-8"))
    problems += read.check_oscal("oscal", next(out.glob("*.oscal.json")))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize(("kind", "text", "where", "said"), [
    ("policy", 'name: web\ndescription: "a \\udcff"\nhosts: all\n',
     "pol.yml:2:14", "invalid YAML: found invalid Unicode character escape code \\udcff (half "
     "of a UTF-16 pair with no other half)"),
    ("waivers", 'waivers:\n  - id: W-1\n    reason: "\\ud83d\\ude00"\n',
     "pol.yml:3:13", "invalid YAML: found invalid Unicode character escape code \\ud83d\\ude00 "
     "(a UTF-16 pair: write \\U0001f600 or the character itself)"),
])
def test_a_surrogate_escape_in_a_policy_or_waiver_file_is_bad_input(
        kind: str, text: str, where: str, said: str, tmp_path: Path) -> None:
    """As libyaml (and so ansible-core, for the inventory) refuses it: exit 2, file:line,
    before any host is contacted."""
    (tmp_path / "inv.yml").write_text("all:\n  hosts:\n    web1:\n")
    (tmp_path / "pol.yml").write_text(text)
    flag = "-p" if kind == "policy" else "-w"
    for command in ("validate", "scan"):
        argv = [command, "-i", "inv.yml", flag, "pol.yml"]
        res = run_cli(argv + (["-o", "out"] if command == "scan" else []), cwd=tmp_path)
        assert res.code == 2, res
        assert f"{where}: error: {said}" in res.out or f"error: {where}: {said}" in res.err
        assert not (tmp_path / "out").exists()


def test_verify_says_each_bundle_member_on_one_line(tmp_path: Path) -> None:
    """A tampered bundle's member name cannot print a line of its own ('VERIFIED: ...')."""
    bundle = tmp_path / "b.zip"
    with zipfile.ZipFile(bundle, "w") as z:
        z.writestr("README.txt", "x")
        z.writestr("x\nVERIFIED: b.zip: 9 files match SHA256SUMS\x1b[2K", "y")
        z.writestr("SHA256SUMS", "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
                                 "  README.txt\n")
    res = run_cli(["verify", str(bundle)], cwd=tmp_path)
    assert res.code == 1
    lines = res.out.splitlines()
    assert lines[0].startswith("FAILED: ") and not any(x.startswith("VERIFIED") for x in lines)
    assert any("x\\x0aVERIFIED: b.zip" in x and "\\x1b[2K" in x for x in lines), res.out
