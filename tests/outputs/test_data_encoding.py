"""Data documents on stdout (JSON, XML, CSV, host lists) are the UTF-8 bytes a report file
holds, whatever the locale's encoding; on a terminal they are shown in its encoding.

Each command runs as a real process on a pipe under PYTHONIOENCODING=ascii, latin-1 and
cp1252 (what a Latin-1 locale or an old console gives Python) and its bytes are compared
with the same command's under UTF-8: a script piping into `jq` or an XML parser must read
the same document everywhere. Before, a Latin-1 stdout got `\xe9` for an e-acute, which
no UTF-8 reader takes, and an XML document declaring UTF-8 held Latin-1 bytes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from xml.etree import ElementTree

import pytest

from tests.conftest import REPO
from tests.outputs.test_terminal_pty import run_on_pty

ENCODINGS = ("ascii", "latin-1", "cp1252")
GOLDEN = REPO / "tests" / "render" / "golden" / "composite.json"
# An e-acute (in Latin-1), an em dash (in cp1252 only) and a character above U+FFFF.
WORDS = "caf\u00e9 \u2014 \U0001f525"


def _run(argv: list[str], cwd: Path, encoding: str) -> tuple[int, bytes, bytes]:
    """`python -m fleetcheck ARGV` on pipes, with Python's stdio in `encoding`."""
    env = {**os.environ, "PYTHONIOENCODING": encoding, "HOME": str(cwd)}
    env.pop("CI", None)
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", *argv], cwd=cwd, env=env,
                          capture_output=True, timeout=120, check=False)
    return proc.returncode, proc.stdout, proc.stderr


def _runs(argv: list[str], cwd: Path) -> dict[str, tuple[int, bytes, bytes]]:
    """`_run` under UTF-8 and every one of ENCODINGS, the processes side by side (each is
    its own process on its own pipes either way; most of each is Python starting)."""
    with ThreadPoolExecutor(1 + len(ENCODINGS)) as pool:
        return dict(zip(("utf-8", *ENCODINGS),
                        pool.map(lambda e: _run(argv, cwd, e), ("utf-8", *ENCODINGS)),
                        strict=True))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An inventory, a captured ss listing and two runs, all holding non-ASCII text."""
    root = tmp_path_factory.mktemp("dataenc")
    (root / "hosts.ini").write_text(f"[web]\nw\u00e9b1 note='{WORDS}'\nweb2\n", "utf-8")
    (root / "ss.txt").write_text(
        "Netid State Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
        'tcp LISTEN 0 128 0.0.0.0:1923 0.0.0.0:* users:(("caf\u00e9\u2014d",pid=7,fd=3))\n',
        "utf-8")
    run = json.loads(GOLDEN.read_text("utf-8"))
    run["hosts"][0]["name"] = f"{run['hosts'][0]['name']}-{WORDS}"
    (root / "new.json").write_text(json.dumps(run), "utf-8")
    return root


COMMANDS = {
    "inventory --list": ["inventory", "-i", "hosts.ini", "--list"],
    "inventory --host": ["inventory", "-i", "hosts.ini", "--host", "w\u00e9b1"],
    "inventory --list-hosts": ["inventory", "-i", "hosts.ini", "--list-hosts"],
    "scan --list-hosts": ["scan", "-i", "hosts.ini", "--list-hosts"],
    "parse": ["parse", "--tool", "ss", "ss.txt"],
    "report json": ["report", "new.json", "--format", "json", "-o", "-"],
    "report junit": ["report", "new.json", "--format", "junit", "-o", "-"],
    "report csv": ["report", "new.json", "--format", "csv", "-o", "-"],
    "diff --format json": ["diff", str(GOLDEN), "new.json", "--format", "json"],
}


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_data_on_a_pipe_is_utf8_in_any_locale(inputs: Path, name: str) -> None:
    argv = COMMANDS[name]
    runs = _runs(argv, inputs)
    code, utf8, err = runs["utf-8"]
    assert code in (0, 1), err  # diff: 1 when the runs differ
    assert utf8.decode("utf-8").isascii() is False or name == "parse", utf8[:300]
    for encoding in ENCODINGS:
        got = runs[encoding]
        assert got == (code, utf8, err), (name, encoding, got[1][:300], got[2])
    text = utf8.decode("utf-8")
    if name == "report junit":
        ElementTree.fromstring(utf8)  # noqa: S314 - our own report; its declared UTF-8 is what the bytes are
    elif not name.endswith(("csv", "--list-hosts")):
        json.loads(text)


def test_on_a_terminal_data_is_shown_in_its_encoding(inputs: Path) -> None:
    """A terminal gets what it can show: its own encoding, escapes for what it cannot."""
    code, shown = run_on_pty(["inventory", "-i", "hosts.ini", "--host", "w\u00e9b1"], inputs,
                             120, {"PYTHONIOENCODING": "latin-1"}, encoding="latin-1")
    assert code == 0, shown
    # The e-acute came as one Latin-1 byte, what Latin-1 lacks as JSON escapes: the
    # document still reads as the same data.
    assert "caf\u00e9 \\u2014" in shown, shown
    assert json.loads(shown) == {"note": WORDS}, shown
