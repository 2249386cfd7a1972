"""Reports written piece by piece are byte for byte what `render()` returns."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions, jsonout, junit
from fleetcheck.render.write import report_stem, write_atomic, write_reports
from tests.render.synthetic import probe_run, synthetic_run, with_stderr

STREAMED = [name for name, fmt in FORMATS.items() if fmt.chunks is not None]


def _runs(composite: RunResult) -> list[RunResult]:
    return [composite, synthetic_run(0), synthetic_run(60), probe_run(12)]


def test_the_biggest_reports_are_streamed() -> None:
    assert {"junit", "oscal", "json"} <= set(STREAMED)


@pytest.mark.parametrize("name", STREAMED)
def test_the_written_file_is_what_render_returns(name: str, composite: RunResult,
                                                 tmp_path: Path) -> None:
    fmt = FORMATS[name]
    assert fmt.chunks is not None
    opts = RenderOptions(rendered_at="2026-01-01T00:00:00Z")
    for i, run in enumerate(_runs(composite)):
        jsonout._LAST.clear()  # the JSON pieces of a run not rendered before, not the cache
        outdir = tmp_path / str(i)
        written = write_reports(run, [name], outdir, rendered_at=opts.rendered_at)
        assert written.failed == []
        path = outdir / f"{report_stem(run)}.{fmt.extension}"
        assert written.paths == [path]
        assert path.read_bytes() == fmt.render(run, opts).encode("utf-8")
        jsonout._LAST.clear()
        assert len(list(fmt.chunks(run, opts))) > 1  # pieces, not the whole in one


def test_json_pieces_reuse_the_text_already_rendered(composite: RunResult) -> None:
    jsonout._LAST.clear()
    fresh = "".join(jsonout.render_chunks(composite))
    assert fresh == jsonout.render(composite)
    assert list(jsonout.render_chunks(composite)) == [fresh]


def _as_elementtree_writes_it(report: str) -> str:
    """`report` read by ElementTree and written again by it, indented as the report is."""
    root = ET.fromstring(report.encode("utf-8"))  # noqa: S314 -- our own output
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def test_junit_is_the_text_elementtree_writes(composite: RunResult) -> None:
    hostile = "a&b <c> \"q\" \t tab \r\n line \x00\x1b\ud800\ufffe é"
    noisy = with_stderr(synthetic_run(40), hostile, "", "x\r\ny")
    noisy = replace(noisy, hosts=(replace(noisy.hosts[0], notes=(hostile,)), *noisy.hosts[1:]))
    for run in [*_runs(composite), noisy]:
        report = junit.render(run)
        # A parser reads a line end in text as "\n" (XML 1.0 2.11); attributes keep theirs.
        assert _as_elementtree_writes_it(report) == report.replace("\r\n", "\n").replace(
            "\r", "\n")
    root = ET.fromstring(junit.render(noisy).encode("utf-8"))  # noqa: S314 -- our own output
    shown = 'a&b <c> "q" \t tab \r\n line \\x00\\x1b\\xd800\\xfffe é'
    assert shown in {p.get("value") for p in root.iter("property")}
    assert any(shown.replace("\r\n", "\n") in (e.text or "") for e in root.iter("system-err"))


def _failing(pieces: int) -> Iterator[str]:
    yield from ["piece\n"] * pieces
    raise OSError(28, "No space left on device")


def test_a_failure_while_writing_pieces_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, _failing(3))
    assert os.listdir(tmp_path) == []
    path.write_text("the earlier report\n")
    with pytest.raises(OSError, match="No space"):
        write_atomic(path, _failing(3), replace=True)
    assert os.listdir(tmp_path) == ["report.xml"]
    assert path.read_text() == "the earlier report\n"
    write_atomic(path, iter(["a", "é", "b\n"]), replace=True)
    assert path.read_bytes() == "aéb\n".encode()


def test_an_interrupt_as_the_temporary_file_is_made_leaves_no_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C landing just after the temporary file exists (a signal test caught one
    between mkstemp making it and returning its name) removes it all the same."""
    real_open = os.open

    def made_then_interrupted(*args: Any, **kwargs: Any) -> int:
        os.close(real_open(*args, **kwargs))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "open", made_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_atomic(tmp_path / "report.json", "{}\n")
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []


def test_a_temporary_name_taken_already_is_left_alone(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another writer's file under the same random name is not removed."""
    import secrets

    monkeypatch.setattr(secrets, "token_hex", lambda n=None: "ab" * (n or 16))
    theirs = tmp_path / f".report.json.{'ab' * 6}.tmp"
    theirs.write_text("another writer's\n")
    with pytest.raises(FileExistsError):
        write_atomic(tmp_path / "report.json", "{}\n")
    assert theirs.read_text() == "another writer's\n"
    assert os.listdir(tmp_path) == [theirs.name]
