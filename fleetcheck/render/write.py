"""Writing reports: atomically, so a reader never sees half a report."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS
from fleetcheck.render.options import RenderOptions


def write_atomic(path: Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8) to a temporary file beside `path`, fsync it, then
    rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def report_stem(run: RunResult) -> str:
    """'fleetcheck-20261126T142800Z': the file name a run's reports share."""
    stamp = run.started_at.replace("-", "").replace(":", "")
    return f"fleetcheck-{stamp}"


def write_reports(run: RunResult, formats: Sequence[str], outdir: Path, *,
                  rendered_at: str | None = None) -> list[Path]:
    """Render `run` in each format into `outdir` (file layout: no colour, fixed width).

    The same run always gives the same files, so `fleetcheck report` re-renders a saved
    run to exactly what the run wrote (the HTML's render time aside).
    """
    opts = RenderOptions(rendered_at=rendered_at)
    written = []
    for name in formats:
        fmt = FORMATS[name]
        path = outdir / f"{report_stem(run)}.{fmt.extension}"
        write_atomic(path, fmt.render(run, opts))
        written.append(path)
    return written
