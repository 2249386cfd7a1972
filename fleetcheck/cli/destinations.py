"""Where a run's reports go: a directory of timestamped files (with `latest` names), files
named per format (`--report html=out/fleet.html`), standard output, and the CI page.

Decided before any host is contacted, so a bad destination is bad input (exit 2).
"""

from __future__ import annotations

import argparse
from dataclasses import field
from pathlib import Path

from fleetcheck.cli.config_cmd import from_command_line
from fleetcheck.cli.env import Env
from fleetcheck.errors import InputError
from fleetcheck.frozen import frozen
from fleetcheck.render import FORMATS, PIPEABLE, parse_formats
from fleetcheck.words import did_you_mean

STDOUT = "-"
SUMMARY = "summary"
# GitHub Actions' job summary: scan appends its Markdown summary there when it is set.
STEP_SUMMARY = "GITHUB_STEP_SUMMARY"


@frozen(slots=False)
class Destinations:
    """Every place one run's reports go."""

    outdir: Path | None = None  # timestamped files (and latest names); None: no directory
    dir_formats: list[str] = field(default_factory=list)
    files: list[tuple[str, Path]] = field(default_factory=list)  # --report FORMAT=PATH
    stdout: str = SUMMARY  # SUMMARY, or the one format printed as itself
    step_summary: Path | None = None  # $GITHUB_STEP_SUMMARY


def add_report_argument(parser: argparse.ArgumentParser) -> None:
    """--report FORMAT=DEST (repeatable)."""
    parser.add_argument("--report", action="append", metavar="FORMAT=DEST",
                        help="write one format to DEST, a file path or '-' for stdout "
                             "(repeatable, e.g. --report html=out/fleet.html --report json=-); "
                             "with --report and no --format, no directory of reports is "
                             "written")


def parse_report(spec: str, env: Env) -> tuple[str, Path | None]:
    """'html=out/f.html' -> ('html', path); 'json=-' -> ('json', None) (stdout)."""
    name, sep, dest = spec.partition("=")
    name = name.strip().lower()
    if not sep or not dest:
        raise InputError(f"--report {spec!r}: write FORMAT=DEST, e.g. html=out/fleet.html or "
                         "json=-")
    if name not in FORMATS:
        raise InputError(f"--report {spec!r}: unknown format {name!r}"
                         f"{did_you_mean(name, FORMATS)} (known: {', '.join(FORMATS)})")
    if dest == STDOUT:
        return name, None
    path = env.path(dest)
    if path.is_dir():
        raise InputError(f"--report {name}=DEST names a file to write, not a directory (a "
                         "directory of reports is -o DIR)", dest)
    return name, path


def check_directory(value: str, env: Env, one_file: str = "--report {name}={path}") -> Path:
    """-o DIR: a directory (made if missing), never a file name (the error says how to
    write one report to that file: `one_file`, with the format's name and the path)."""
    path = env.path(value)
    extensions = {f".{fmt.extension.rsplit('.', 1)[-1]}" for fmt in FORMATS.values()}
    looks_like_file = (path.exists() and not path.is_dir()) or (
        not path.exists() and path.suffix.lower() in extensions)
    if looks_like_file:
        name = next((n for n, f in FORMATS.items() if value.endswith(f".{f.extension}")),
                    "html")
        raise InputError("-o takes a directory, and this names a file: to write one report "
                         f"to a file use {one_file.format(name=name, path=value)}", value)
    return path


def destinations(args: argparse.Namespace, env: Env, default_formats: str) -> Destinations:
    """What `--format`, `-o` and `--report` ask for; InputError for a contradiction."""
    reports = [parse_report(spec, env) for spec in getattr(args, "report", None) or ()]
    to_stdout = [name for name, path in reports if path is None]
    if len(to_stdout) > 1:
        raise InputError("--report: only one format can go to stdout ('-'); got "
                         + ", ".join(to_stdout))
    files = [(name, path) for name, path in reports if path is not None]
    step = env.environ.get(STEP_SUMMARY, "")
    step_summary = env.path(step) if step else None
    # --report alone writes no directory; --format on the command line still does (formats
    # from configuration are the directory's defaults, not a request).
    asked = args.format is not None and (getattr(args, "settings", None) is None
                                         or from_command_line(args, "formats"))
    try:
        formats = parse_formats(args.format) if asked else \
            [] if reports else parse_formats(args.format or default_formats)
    except ValueError as exc:
        settings = getattr(args, "settings", None)
        if asked or settings is None or not settings.values["formats"].changed:
            raise InputError(str(exc)) from None
        # From a config file or the environment: say which, as every other setting does.
        raise InputError(f"formats ({settings.values['formats'].origin}): {exc}") from None
    if reports and not formats and args.output_dir not in (None, STDOUT) \
            and from_command_line(args, "output_dir"):
        # -o asked for a directory that --report alone never writes: say so, not nothing
        raise InputError(f"-o {args.output_dir}: --report without --format writes no directory "
                         "of reports; add --format FORMATS to write some there too")
    if args.output_dir == STDOUT:
        if to_stdout:
            raise InputError("-o - and --report FORMAT=- both ask for stdout: give one")
        if len(formats) != 1:
            raise InputError("-o - prints one format on stdout: name exactly one with --format")
        return Destinations(files=files, stdout=formats[0], step_summary=step_summary)
    outdir = check_directory(args.output_dir or "reports", env) if formats else None
    if to_stdout:
        shown = to_stdout[0]
    elif len(formats) == 1 and formats[0] in PIPEABLE and not reports:
        shown = formats[0]
    else:
        shown = SUMMARY
    return Destinations(outdir, formats, files, shown, step_summary)
