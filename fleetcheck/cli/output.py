"""Where reports go: files in the output directory, and one report on stdout."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from fleetcheck.cli.common import blamed, shown_path
from fleetcheck.cli.destinations import SUMMARY, Destinations
from fleetcheck.cli.env import Env, stream_failed, tell_lost_stdout, write_data
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.model import RunResult
from fleetcheck.numbers import is_number
from fleetcheck.render import FORMATS, RenderOptions, summary, view
from fleetcheck.render.options import FILE_WIDTH
from fleetcheck.render.write import Written, content, write_named_file, write_reports


def terminal_width(env: Env) -> int:
    """COLUMNS if set, else the terminal's width, else the width report files use."""
    columns = env.environ.get("COLUMNS", "")
    if is_number(columns) and int(columns) > 0:
        return int(columns)
    if env.stdout_isatty:
        try:
            size = os.get_terminal_size(env.stdout.fileno()).columns
        except (OSError, ValueError, AttributeError):
            size = 0
        if size > 0:  # a terminal no one sized (`script`, a serial line, a CI pty) says 0
            return size
    return FILE_WIDTH


# The product's reports: text and HTML for people, JSON and JUnit for machines (CSV on request).
DEFAULT_FORMATS = "text,html,json,junit"
COLOR_CHOICES = ("auto", "always", "never")


def add_color_argument(parser: argparse.ArgumentParser) -> None:
    """--color: whether what goes to stdout is coloured."""
    parser.add_argument("--color", "--colour", choices=COLOR_CHOICES, default="auto",
                        help="colour on stdout: auto (a terminal, unless NO_COLOR or "
                             "TERM=dumb), always, never")


def add_terminal_arguments(parser: argparse.ArgumentParser) -> None:
    """--color and -q/--quiet: how what goes to the terminal looks."""
    add_color_argument(parser)
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="print only the verdict line (the reports are written as usual)")
    parser.add_argument("--all-hosts", action="store_true",
                        help="name every host in the summary's groups (default: the first "
                             "few, then 'and N more')")


def use_color(env: Env, choice: str = "auto") -> bool:
    """--color always/never win; auto means a terminal without NO_COLOR or TERM=dumb."""
    if choice == "always":
        return True
    if choice == "never":
        return False
    return env.color


def stdout_options(env: Env, color: str = "auto") -> RenderOptions:
    """Colour and width for what goes to stdout."""
    return RenderOptions(color=use_color(env, color), width=terminal_width(env))


def print_summary(run: RunResult, env: Env, written: Sequence[Path] = (), *,
                  color: str = "auto", quiet: bool = False, full: bool = False) -> None:
    """The summary on stdout: verdict, counts, grouped findings and causes, report paths."""
    shown = [shown_path(str(p), env) or str(p) for p in written]
    env.stdout.write(summary.render(run, stdout_options(env, color), reports=shown,
                                    quiet=quiet, full=full))
    env.stdout.flush()


def print_report(run: RunResult, fmt: str, env: Env, written: Sequence[Path] = (), *,
                 color: str = "auto") -> None:
    """Write one report to stdout: text laid out for the terminal, others as in files.

    A report file in `written` with the same layout is copied rather than rendered
    twice (rendering is a measurable part of a large scan's CPU time).
    """
    options = stdout_options(env, color) if fmt == "text" else RenderOptions()
    extension = f".{FORMATS[fmt].extension}"
    same = [p for p in written if p.suffix == extension]
    if same and options == RenderOptions():
        with same[0].open(encoding="utf-8", newline="") as f:
            text = f.read()
    else:
        text = FORMATS[fmt].render(run, options)
    # The text report escapes host text itself (and keeps its colours); other formats are
    # byte-exact data, shown with escapes only on a terminal.
    if fmt == "text":
        env.stdout.write(text)
    else:
        write_data(env, text)
    env.stdout.flush()  # a full disk or closed pipe shows now, while the verdict is at hand


def prepare_output_dir(outdir: Path, args: argparse.Namespace | None = None) -> Path:
    """Create the report directory now, so an unusable one is bad input before any scan
    (naming the configuration line that set it, with the command's `args`)."""
    try:
        if outdir.is_symlink() and not outdir.exists():  # mkdir would say "File exists"
            raise InputError(f"a symbolic link to {os.readlink(outdir)}, which does not "
                             "exist: make that directory, or name another", str(outdir))
        if outdir.exists() and not outdir.is_dir():
            raise InputError("not a directory", str(outdir))
        outdir.mkdir(parents=True, exist_ok=True)
        if not os.access(outdir, os.W_OK | os.X_OK):
            raise InputError("cannot write reports into this directory", str(outdir))
    except OSError as exc:
        raise _blamed(InputError(f"cannot create the report directory: {exc.strerror}",
                                 str(outdir)), args) from None
    except InputError as exc:
        raise _blamed(exc, args) from None
    return outdir


def _blamed(exc: InputError, args: argparse.Namespace | None) -> InputError:
    return exc if args is None else blamed(exc, args, "output_dir")


def write_and_list(run: RunResult, formats: Sequence[str], outdir: Path, env: Env, *,
                   replace: bool = False, listed: bool = True, latest: bool = False) -> Written:
    """Write the report files, naming each on stderr (unless the summary will: `listed`
    False), and each that failed with why."""
    try:
        prepare_output_dir(outdir)
    except InputError as exc:  # gone or read-only since the run began: every format fails
        written = Written(failed=[(outdir / "*", exc.message)])
    else:
        written = write_reports(run, formats, outdir, replace=replace, latest=latest)
    for path in written.paths if listed else ():
        env.stderr.write(f"report: {path}\n")
    for path, why in written.failed:
        env.stderr.write(f"fleetcheck: error: {path}: report not written: {why}\n")
    return written


def write_named(run: RunResult, files: Sequence[tuple[str, Path]], written: Written) -> None:
    """--report FORMAT=PATH: each format to the file named, replaced atomically (the user
    named it, so it is the file they want now; a device or FIFO is written into),
    recorded in `written`."""
    for name, path in files:
        try:
            write_named_file(path, content(FORMATS[name], run, RenderOptions()))
        except OSError as exc:
            written.failed.append((path, exc.strerror or str(exc)))
        else:
            written.paths.append(path)


def append_step_summary(run: RunResult, path: Path, written: Written) -> None:
    """The Markdown summary appended to $GITHUB_STEP_SUMMARY (GitHub shows it on the run's
    page); a failure is a report that could not be written."""
    try:
        with path.open("a", encoding="utf-8") as f:
            f.write(FORMATS["markdown"].render(run, RenderOptions()))
    except OSError as exc:
        written.failed.append((path, exc.strerror or str(exc)))


def send_reports(run: RunResult, dest: Destinations, env: Env, *, color: str = "auto",
                 quiet: bool = False, full: bool = False) -> Written:
    """Every report where `dest` says: the directory (timestamped and latest names), the
    files named, the CI page, then stdout (the summary, naming the files, or one format)."""
    written = Written()
    if dest.outdir is not None:
        written = write_and_list(run, dest.dir_formats, dest.outdir, env,
                                 listed=dest.stdout != SUMMARY, latest=True)
    listed, failed = len(written.paths), len(written.failed)
    write_named(run, dest.files, written)
    if dest.step_summary is not None:
        append_step_summary(run, dest.step_summary, written)
    for path in written.paths[listed:] if dest.stdout != SUMMARY else ():
        env.stderr.write(f"report: {path}\n")
    for path, why in written.failed[failed:]:
        env.stderr.write(f"fleetcheck: error: {path}: report not written: {why}\n")
    if dest.stdout == SUMMARY:
        print_summary(run, env, written.paths, color=color, quiet=quiet, full=full)
    else:
        print_report(run, dest.stdout, env, written.paths, color=color)
    return written


def final_status(run: RunResult, env: Env, written: Written) -> int:
    """The exit code: the run's verdict, or 4 when a clean verdict's reports were lost.

    A failed report file, or a stdout that could not be written (a full disk; not a
    reader that went away, as `| head` does), never turns a 1 or 3 into anything
    else, and never lets a 0 pass as if the reports existed. When stdout failed,
    the verdict goes to stderr so it is never hidden.
    """
    verdict = run.summary.exit_code
    env.stdout.flush()
    if stream_failed(env.stdout) is not None:
        env.stderr.write(f"fleetcheck: {view.headline(run).line()}\n")
    lost = tell_lost_stdout(env) or bool(written.failed)
    if lost and verdict == ExitStatus.OK:
        return int(ExitStatus.REPORTS_FAILED)
    return verdict
