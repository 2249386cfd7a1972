"""Where reports go: files in the output directory, and one report on stdout."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.cli.env import Env
from fleetcheck.errors import InputError
from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, PIPEABLE, RenderOptions
from fleetcheck.render.options import FILE_WIDTH
from fleetcheck.render.write import write_reports
from fleetcheck.sanitize import for_terminal


def terminal_width(env: Env) -> int:
    """COLUMNS if set, else the terminal's width, else the width report files use."""
    columns = env.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    if env.stdout_isatty:
        try:
            return os.get_terminal_size(env.stdout.fileno()).columns
        except (OSError, ValueError, AttributeError):
            pass
    return FILE_WIDTH


def stdout_options(env: Env) -> RenderOptions:
    """Colour and width for what goes to stdout (colour only on a terminal, never NO_COLOR)."""
    return RenderOptions(color=env.color, width=terminal_width(env))


def print_report(run: RunResult, fmt: str, env: Env, written: Sequence[Path] = ()) -> None:
    """Write one report to stdout: text laid out for the terminal, others as in files.

    A report file in `written` with the same layout is copied rather than rendered
    twice (rendering is a measurable part of a large scan's CPU time).
    """
    options = stdout_options(env) if fmt == "text" else RenderOptions()
    extension = f".{FORMATS[fmt].extension}"
    same = [p for p in written if p.suffix == extension]
    if same and options == RenderOptions():
        with same[0].open(encoding="utf-8", newline="") as f:
            text = f.read()
    else:
        text = FORMATS[fmt].render(run, options)
    # The text report escapes host text itself (and keeps its colours); other formats are
    # byte-exact data, shown with escapes only on a terminal.
    env.stdout.write(text if fmt == "text" else for_terminal(text, env.stdout_isatty))


def stdout_format(formats: Sequence[str]) -> str:
    """What a scan prints: a single pipeable format as itself, else the text report."""
    if len(formats) == 1 and formats[0] in PIPEABLE:
        return formats[0]
    return "text"


def prepare_output_dir(outdir: Path) -> Path:
    """Create the report directory now, so an unusable one is bad input before any scan."""
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the report directory: {exc.strerror}",
                         str(outdir)) from None
    if not os.access(outdir, os.W_OK | os.X_OK):
        raise InputError("cannot write reports into this directory", str(outdir))
    return outdir


def write_and_list(run: RunResult, formats: Sequence[str], outdir: Path, env: Env) -> list[Path]:
    """Write the report files and name each on stderr."""
    try:
        written = write_reports(run, formats, prepare_output_dir(outdir))
    except OSError as exc:
        raise InputError(f"cannot write reports: {exc.strerror or exc}", str(outdir)) from None
    for path in written:
        env.stderr.write(f"report: {path}\n")
    return written
