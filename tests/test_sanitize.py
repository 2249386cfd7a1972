"""The one sanitiser: what a terminal would act on is shown as escapes, on every path."""

from __future__ import annotations

import dataclasses
import io
import logging
from pathlib import Path

import pytest

from fleetcheck.model import CommandRecord, Status
from fleetcheck.progress import Progress, ProgressHandler
from fleetcheck.redact import Redactor
from fleetcheck.sanitize import (
    map_strings,
    one_line,
    printable,
    scrub,
    scrub_lines,
    writable,
)
from tests.conftest import run_cli
from tests.render import builders

CASES = {
    "\x1b[2J\x1b[31mred": "\\x1b[2J\\x1b[31mred",  # CSI
    "\x1b]52;c;SGk=\x07": "\\x1b]52;c;SGk=\\x07",  # OSC 52, BEL-terminated
    "\x1b]8;;http://x\x1b\\link": "\\x1b]8;;http://x\\x1b\\link",  # OSC 8, ST-terminated
    "ok\rEVIL": "ok\\x0dEVIL",  # carriage return
    "abc\x08\x08\x7f": "abc\\x08\\x08\\x7f",  # backspace, DEL
    "\x9b31m\x9d0;t\x9c": "\\x9b31m\\x9d0;t\\x9c",  # C1 CSI, OSC, ST
    "\u202egnp.exe\u2066\u200f\u061c": "\\u202egnp.exe\\u2066\\u200f\\u061c",  # bidi
    "a\u2028b\u2029c": "a\\u2028b\\u2029c",  # Unicode line and paragraph separators
    "nul\x00": "nul\\x00",
    "web\u200b1\u200d\u2060\ufeff": "web\\u200b1\\u200d\\u2060\\ufeff",  # zero-width
}


@pytest.mark.parametrize(("raw", "shown"), CASES.items())
def test_every_control_is_an_escape(raw: str, shown: str) -> None:
    assert printable(raw) == shown
    assert one_line(raw) == shown


def test_newlines_and_tabs() -> None:
    assert printable("a\nb\tc") == "a\nb    c"
    assert one_line("a\nb\tc") == "a\\x0ab    c"
    assert printable("plain text, ünïcode ✓") == "plain text, ünïcode ✓"
    assert printable(printable("\x1b")) == "\\x1b"  # idempotent


def test_scrub_walks_records() -> None:
    assert scrub({"k\x1b": ("v\x07", ["\u202e"])}) == {"k\\x1b": ("v\\x07", ["\\u202e"])}


def test_scrub_is_printable_for_every_character() -> None:
    # ASCII text takes a faster path than the rest: both must agree with `printable`.
    for code in [*range(0x3000), 0xFEFF, 0x1F600]:
        for text in (chr(code), f"ascii {chr(code)} text\n", f"ünï {chr(code)}"):
            got = scrub(text)
            assert got == printable(text), repr(text)
            assert (got is text) == (got == text), repr(text)  # unchanged: the same object


def test_scrub_rebuilds_a_sequence_from_its_first_change() -> None:
    items = ["a", 1, Status.ERROR, ("b", None), "c\x1b", "d", ["e\x07"]]
    got = scrub(items)
    assert got == ["a", 1, Status.ERROR, ("b", None), "c\\x1b", "d", ["e\\x07"]]
    assert got[3] is items[3] and type(scrub(tuple(items))) is tuple
    clean, clean_tuple = items[:4], tuple(items[:4])
    assert scrub(clean) is clean and scrub(clean_tuple) is clean_tuple


def test_scrub_copies_only_what_it_changes() -> None:
    composite = builders.composite_run()
    assert scrub(composite.summary) is composite.summary  # clean: the record itself
    clean = composite.hosts[0]
    assert scrub(clean) is clean
    hostile = dataclasses.replace(clean, notes=("ok", "bell\x07"))
    got = scrub(hostile)
    assert got.notes == ("ok", "bell\\x07") and hostile.notes[1] == "bell\x07"
    assert got.listeners is clean.listeners and got.groups is hostile.groups
    mixed = {"k": ["x", ("y\x1b", 3)], "n": None, Status.COMPLIANT: Status.ERROR}
    assert scrub(mixed) == {"k": ["x", ("y\\x1b", 3)], "n": None,
                            Status.COMPLIANT: Status.ERROR}
    assert scrub(mixed)[Status.COMPLIANT] is Status.ERROR


def test_scrub_lines_keeps_only_a_tools_output_on_several_lines() -> None:
    """A name, message or note is one line (its line ends escaped); a command's output keeps
    its lines; a clean run is the run itself."""
    host = builders.composite_run().hosts[0]
    assert scrub_lines(host, CommandRecord) is host  # its probe command's two lines kept
    command = CommandRecord("ss -tulnp", 0, "Netid\ntcp x\x1b\n", "warn\ting\n", 0.1)
    hostile = dataclasses.replace(host, name="web\nFAKE", notes=("a\u2028b",),
                                  commands=(command,))
    got = scrub_lines(hostile, CommandRecord)
    assert (got.name, got.notes) == ("web\\x0aFAKE", ("a\\u2028b",))
    assert got.commands[0].stdout == "Netid\ntcp x\\x1b\n"
    assert got.commands[0].stderr == "warn    ing\n"
    assert scrub_lines([["h\r", "x"]]) == [["h\\x0d", "x"]]


def test_writable_shows_undecodable_bytes_as_a_decoder_does() -> None:
    given = {"command_line": ["scan", "-i", "inv\udcff.yml"], "n": 3}
    assert writable(given) == {"command_line": ["scan", "-i", "inv\ufffd.yml"], "n": 3}
    clean = {"command_line": ["scan", "ünï"]}
    assert writable(clean) is clean


def test_map_strings_rebuilds_a_namedtuple() -> None:
    from typing import NamedTuple

    class Key(NamedTuple):
        name: str
        port: int

    got = map_strings([Key("a\x1b", 1)], printable)
    assert got == [Key("a\\x1b", 1)] and type(got[0]) is Key


def test_log_records_are_one_inert_line_without_secrets() -> None:
    """A log record carrying a host's words cannot add a line, act on the terminal or leak."""
    stream = io.StringIO()
    handler = ProgressHandler(Progress(1, stream, enabled=False), Redactor(["pw-123"]))
    logger = logging.getLogger("fleetcheck.test-sanitize")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        logger.info("banner %s", "SSH-2.0-x\x1b[2J\nfleetcheck: web1: compliant pw-123")
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue() == ("fleetcheck: fleetcheck.test-sanitize: banner SSH-2.0-x\\x1b[2J"
                                 "\\x0afleetcheck: web1: compliant [REDACTED]\n")


def _script(tmp_path: Path) -> Path:
    script = tmp_path / "inventory.sh"
    script.write_text("#!/bin/sh\nprintf 'first line\\n\\033[2J\\033]52;c;SGk=\\007"
                      "\\342\\200\\256gone\\n' >&2\nexit 3\n")
    script.chmod(0o755)
    return script


def test_error_line_quoting_an_inventory_script_is_one_inert_line(tmp_path: Path) -> None:
    """An inventory script's stderr quoted in the error: one line on stderr, escapes shown."""
    script = _script(tmp_path)
    for argv in (["scan", "-i", str(script), "-o", str(tmp_path / "out")],
                 ["validate", "-i", str(script)]):
        res = run_cli(argv, cwd=tmp_path, tty=True, tty_err=True)
        assert res.code == 2, res
        said = res.err + res.out
        assert "\\x1b[2J\\x1b]52;c;SGk=\\x07\\u202egone" in said, said
        assert not any(c in said for c in "\x1b\x07\r\u202e"), said


def test_inventory_host_names_on_a_terminal(tmp_path: Path) -> None:
    """--list-hosts mirrors ansible byte for byte into a pipe; on a terminal, escapes."""
    inv = tmp_path / "inv.json"
    inv.write_text('{"web": {"hosts": {"a\\u001b]0;pwned\\u0007b": {}}}}')
    argv = ["inventory", "-i", str(inv), "--list-hosts"]
    assert "a\x1b]0;pwned\x07b" in run_cli(argv, cwd=tmp_path).out
    shown = run_cli(argv, cwd=tmp_path, tty=True).out
    assert "a\\x1b]0;pwned\\x07b" in shown and "\x1b" not in shown
