"""Writing reports: atomically, never over another file, with the process's umask.

Each format is written on its own, so one that cannot be written (a full disk, a
directory gone read-only) costs only itself: the caller learns which were written
and which failed, and keeps the run's verdict (see `cli.output`).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import threading
from collections.abc import Iterable, Sequence
from dataclasses import field
from pathlib import Path

from fleetcheck.frozen import frozen
from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, Format
from fleetcheck.render.options import RenderOptions

_UMASK_LOCK = threading.Lock()


def current_umask() -> int:
    """The process umask (read from /proc where it can be, so no thread sees it changed)."""
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        for line in f:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        mask = os.umask(0o077)
        os.umask(mask)
    return mask


def write_atomic(path: Path, content: str | bytes | Iterable[str], *,
                 replace: bool = False) -> None:
    """Write `content` beside `path`, fsync it, then put it in place in one step.

    `content` may be text pieces, written as they come (a report rendered piece by piece
    is never whole in memory); if producing them fails, no file is left behind.

    Without `replace`, an existing `path` is never touched: FileExistsError. The file
    gets the mode a plain `open` would give it under the process umask (reports list a
    fleet's attack surface: a umask of 077 keeps them private).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # The name comes first and the file is made inside the `try`: an interrupt between
    # mkstemp creating the file and returning its name left the file behind.
    tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp"
    opening = True  # a name taken already is not ours to remove
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        opening = False
        with os.fdopen(fd, "wb") as f:
            if isinstance(content, str | bytes):
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
            else:
                for piece in content:
                    f.write(piece.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())
        if replace:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if `path` exists: no run's report is overwritten
            os.unlink(tmp)
    except BaseException as exc:
        if not (opening and isinstance(exc, FileExistsError)):
            tmp.unlink(missing_ok=True)
        raise


# Paths that name a stream rather than a file: /dev/stdout, /dev/fd/3 (`>(jq .)`), a
# process's descriptors in /proc. Replacing them would replace the link or device node.
_STREAM_DIRS = ("/dev/", "/proc/")


def write_named_file(path: Path, content: str | bytes | Iterable[str]) -> None:
    """Write a file the user named (`--report html=PATH`, `manpage -o PATH`) as a shell's
    `>` would reach it: a device, FIFO or socket (`/dev/null`, `>(jq .)`), or any path in
    /dev or /proc, is written into, never replaced by a file (as root that would replace
    /dev/null itself); a symbolic link's target is replaced atomically, the link kept;
    anything else is replaced atomically (`write_atomic`)."""
    try:
        mode = os.stat(path).st_mode  # follows links
    except FileNotFoundError:
        mode = None
    except OSError:
        mode = 0  # cannot tell: write into it, as a shell would
    if (mode is not None and not stat.S_ISREG(mode)) or str(path).startswith(_STREAM_DIRS):
        with open(path, "wb") as f:
            for piece in [content] if isinstance(content, str | bytes) else content:
                f.write(piece.encode("utf-8") if isinstance(piece, str) else piece)
        return
    write_atomic(Path(os.path.realpath(path)) if path.is_symlink() else path, content,
                 replace=True)


def report_stem(run: RunResult) -> str:
    """'fleetcheck-20261126T142800Z-3f9a2c1e': the file name a run's reports share.

    The run id makes it unique per run, so two runs started in the same second into
    one directory never mix their files. Runs saved before run ids had only the time.
    """
    stamp = run.started_at.replace("-", "").replace(":", "")
    if run.run_id.startswith(stamp):
        return f"fleetcheck-{run.run_id}"
    return f"fleetcheck-{stamp}" + (f"-{run.run_id}" if run.run_id else "")


@frozen
class Written:
    """What became of each report file: written, or failed with the reason."""

    paths: list[Path] = field(default_factory=list)
    failed: list[tuple[Path, str]] = field(default_factory=list)
    latest: list[Path] = field(default_factory=list)  # stable names pointing at `paths`


def write_reports(run: RunResult, formats: Sequence[str], outdir: Path, *,
                  rendered_at: str | None = None, replace: bool = False,
                  latest: bool = False) -> Written:
    """Render `run` in each format into `outdir` (file layout: no colour, fixed width).

    The same run always gives the same files, so `fleetcheck report` re-renders a saved
    run to exactly what the run wrote (the HTML's render time aside). A format that
    cannot be written is recorded as failed; the others are still written. With
    `latest`, each report is also `fleetcheck-latest.EXT`, replaced atomically.
    """
    opts = RenderOptions(rendered_at=rendered_at)
    out = Written()
    for name in with_companions(formats):
        fmt = FORMATS[name]
        path = outdir / f"{report_stem(run)}.{fmt.extension}"
        try:
            write_atomic(path, content(fmt, run, opts), replace=replace)
        except FileExistsError:
            out.failed.append((path, "a file of that name exists (not overwritten)"))
        except OSError as exc:
            out.failed.append((path, exc.strerror or str(exc)))
        else:
            out.paths.append(path)
            if latest:
                _link_latest(path, outdir / f"{LATEST_STEM}.{fmt.extension}", out)
    return out


def content(fmt: Format, run: RunResult, options: RenderOptions) -> str | Iterable[str]:
    """What to write for `fmt`: its pieces where it renders piece by piece, else its text."""
    return fmt.chunks(run, options) if fmt.chunks else fmt.render(run, options)


# The stable name each format's newest report also has, for CI artifacts and for people.
LATEST_STEM = "fleetcheck-latest"


def with_companions(formats: Sequence[str]) -> list[str]:
    """`formats` with the formats written beside them (the grouped CSV beside the CSV)."""
    out: list[str] = []
    for name in formats:
        companion = FORMATS[name].companion
        out += [name, *([companion] if companion else [])]
    return list(dict.fromkeys(out))


def _link_latest(report: Path, latest: Path, out: Written) -> None:
    """Point `latest` at the report just written, in one step (a reader sees the old one or
    the new one, never a partial file): a hard link renamed over it, else a copy."""
    tmp = latest.with_name(f".{latest.name}.{os.getpid()}.tmp")
    try:
        try:
            os.link(report, tmp)
        except OSError:  # no hard links here (some network filesystems): copy, atomically
            write_atomic(latest, report.read_bytes(), replace=True)
        else:
            os.replace(tmp, latest)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        out.failed.append((latest, exc.strerror or str(exc)))
    except BaseException:  # an interrupt between the link and the rename: no link left over
        Path(tmp).unlink(missing_ok=True)
        raise
    else:
        out.latest.append(latest)
