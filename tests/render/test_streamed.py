"""Reports written piece by piece are byte for byte what `render()` returns."""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions, jsonout, junit, view
from fleetcheck.render.write import report_stem, write_atomic, write_reports
from tests.render.synthetic import probe_run, synthetic_run

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


def _whole_tree(run: RunResult) -> str:
    """The JUnit report as one ElementTree serialised at once (how it was rendered before)."""
    root = ET.Element("testsuites", {"name": "fleetcheck"})
    fail_on = view.fail_on(run)
    waivers = {w.id: w for w in run.waivers}
    totals = [0, 0, 0]
    for i, host in enumerate(view.sorted_hosts(run)):
        junit._suite(root, run, host, i, waivers, fail_on, view.warnings(run))
        for n, key in enumerate(("tests", "failures", "errors")):
            totals[n] += int(root[-1].get(key, "0"))
    root.attrib.update({"tests": str(totals[0]), "failures": str(totals[1]),
                        "errors": str(totals[2]),
                        "time": f"{view.run_seconds(run) or 0.0:.3f}"})
    ET.indent(root, "  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def test_junit_a_suite_at_a_time_is_the_whole_tree(composite: RunResult) -> None:
    for run in _runs(composite):
        assert junit.render(run) == _whole_tree(run)


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
