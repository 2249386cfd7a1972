"""`fleetcheck parse`: the listeners of one captured tool output, as JSON."""

from __future__ import annotations

import argparse
import json

from fleetcheck.bounded import MAX_CAPTURE_BYTES, read_bounded, read_stream
from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, write_data
from fleetcheck.cli.suggest import close_word
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.parsers import PARSERS, ParseError, caveats, guess, parse
from fleetcheck.sanitize import one_line

AUTO = "auto"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `parse`."""
    parser.add_argument("--tool", required=True, metavar="TOOL",
                        help=f"the tool that printed FILE: {', '.join(sorted(PARSERS))}, "
                             f"or '{AUTO}' to guess it from the text")
    parser.add_argument("file", metavar="FILE", help="captured output ('-' for stdin)")


def decode_capture(raw: bytes) -> str:
    """A captured file's text: UTF-8 (bad bytes replaced), or UTF-16 where the file says so.

    Windows PowerShell 5.1's `>` and Out-File write UTF-16LE with a byte order mark, so
    `netstat -ano > out.txt` or `... | ConvertTo-Json > out.json` there is UTF-16: read as
    UTF-8 it is a NUL between every two letters and no tool's output. Without a mark,
    UTF-16LE text of ASCII shows as a NUL after each of its first letters (lsof -F0's
    NULs never come second and fourth).
    """
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16", "replace")
    if len(raw) >= 4 and raw[1] == 0 and raw[3] == 0 and raw[0] != 0 and raw[2] != 0:
        return raw.decode("utf-16-le", "replace")
    return raw.decode("utf-8", "replace")


def run(args: argparse.Namespace, env: Env) -> int:
    """Print the listeners of FILE as a JSON list; a parse error names FILE and the line."""
    if args.tool != AUTO and args.tool not in PARSERS:
        raise InputError(f"unknown tool {args.tool!r}{close_word(args.tool, [*PARSERS, AUTO])} "
                         f"(known: {', '.join(sorted(PARSERS))}, {AUTO})")
    if args.file == "-":
        name = "<stdin>"
        text = read_stream(env.stdin, MAX_CAPTURE_BYTES, "captured output", name)
    else:
        name = args.file
        raw = read_bounded(str(env.path(args.file)), MAX_CAPTURE_BYTES, "captured output",
                           args.file)
        text = decode_capture(raw)
    tool = args.tool
    if tool == AUTO:
        try:
            found = guess(text)
        except ParseError as exc:
            raise InputError(f"--tool auto: {exc.message}", name, exc.line_no) from None
        tool = found.tool
        # stderr, so that stdout stays the JSON list
        env.stderr.write(f"fleetcheck: {name}: guessed --tool {tool} ({found.reason})\n")
    try:
        listeners = parse(tool, text)
    except ParseError as exc:
        raise InputError(f"{tool} output not recognised: {exc.message}"
                         + (f": {(exc.line or '').strip()!r}" if exc.line else ""),
                         name, exc.line_no) from None
    for caveat in caveats(tool, text):  # stderr: stdout stays the JSON list
        env.stderr.write(one_line(f"fleetcheck: warning: {name}: {caveat}") + "\n")
    write_data(env, json.dumps([li.to_dict() for li in listeners], indent=2) + "\n")
    return ExitStatus.OK


COMMAND = Command("parse", "print the listeners of one captured tool output as JSON",
                  add_arguments, run)
