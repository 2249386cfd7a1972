"""`--tool auto`: the guesser names the right dialect for every corpus output and fixture."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fleetcheck.parsers import ParseError, guess
from tests.conftest import CORPUS, REPO, run_cli
from tests.lab.prereq import require_corpus
from tests.parsers_os.cases import CORPUS_TOOLS, FIXTURES, fixture, fixture_cases, read

# Linux corpus outputs by file-name prefix. BusyBox netstat prints net-tools' very
# format (same header, same columns), so its text is guessed as `netstat`.
LINUX_PREFIXES = {"busybox-netstat": "netstat", "netstat": "netstat", "ss": "ss",
                  "lsof": "lsof", "proc-net": "proc-net"}
SAME_FORMAT = {"busybox-netstat": "netstat"}


def _corpus_expectations() -> dict[str, str]:
    out = dict(CORPUS_TOOLS)
    for path in sorted(CORPUS.glob("linux/*.out")):
        prefix = next(p for p in sorted(LINUX_PREFIXES, key=len, reverse=True)
                      if path.stem.startswith(p))
        out[f"linux/{path.stem}"] = LINUX_PREFIXES[prefix]
    return out


def test_guess_names_the_dialect_of_every_corpus_output() -> None:
    require_corpus(CORPUS)
    expected = _corpus_expectations()
    assert len(expected) == len(list(CORPUS.glob("*/*.out")))
    got = {name: guess(read(CORPUS / f"{name}.out")).tool for name in expected}
    assert got == expected


def _all_fixtures() -> list[Path]:
    return fixture_cases() + sorted((FIXTURES / "linux").glob("*.json"))


@pytest.mark.parametrize("case", _all_fixtures(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_guess_names_the_dialect_of_every_fixture(case: Path) -> None:
    parser = fixture(case)["parser"]
    assert guess(read(case.with_suffix(".out"))).tool == SAME_FORMAT.get(parser, parser)


@pytest.mark.parametrize("text", ["", "\n\n", "hello world\n", "{\"not\": \"ours\"}\n",
                                  "Filesystem 1K-blocks Used Available Use% Mounted on\n"
                                  "/dev/sda1 1000 10 990 1% /\n"])
def test_unguessable_text_raises(text: str) -> None:
    with pytest.raises(ParseError):
        guess(text)


def test_cli_auto_says_what_it_guessed_on_stderr(tmp_path: Path) -> None:
    src = FIXTURES / "freebsd" / "sockstat-46l-14.out"
    res = run_cli(["parse", "--tool", "auto", str(src)], cwd=tmp_path)
    assert res.code == 0, res.err
    assert "guessed --tool sockstat" in res.err
    listeners = json.loads(res.out)  # stdout is nothing but the JSON list
    assert listeners == fixture(src.with_suffix(".json"))["listeners"]


def test_cli_auto_on_stdin(tmp_path: Path) -> None:
    text = read(FIXTURES / "windows" / "netstat-ano-de.out")
    res = run_cli(["parse", "--tool", "auto", "-"], cwd=tmp_path, stdin=text)
    assert res.code == 0, res.err
    assert "<stdin>: guessed --tool windows-netstat" in res.err
    assert len(json.loads(res.out)) == 15


def test_cli_auto_unguessable_is_exit_2(tmp_path: Path) -> None:
    src = tmp_path / "df.out"
    src.write_text("Filesystem 1K-blocks Used\n/dev/sda1 1000 10\n")
    res = run_cli(["parse", "--tool", "auto", str(src)], cwd=tmp_path)
    assert res.code == 2
    assert res.out == ""
    assert f"{src}:1: --tool auto: cannot tell which tool printed this text" in res.err


def test_cli_names_file_and_line_of_a_parse_error(tmp_path: Path) -> None:
    src = tmp_path / "bad.out"
    src.write_text("Active Internet connections (including servers)\n"
                   "Proto Recv-Q Send-Q  Local Address          Foreign Address        (state)\n"
                   "tcp4       0      0  *.22                   *.*                    LISTEN\n"
                   "this line is not netstat\n")
    res = run_cli(["parse", "--tool", "bsd-netstat", str(src)], cwd=tmp_path)
    assert res.code == 2
    assert f"{src}:4: bsd-netstat output not recognised" in res.err
    assert "this line is not netstat" in res.err


def test_repo_constant_points_at_the_checkout() -> None:
    assert (REPO / "fleetcheck" / "parsers" / "guessing.py").is_file()
