"""The command line: argument parsing, dispatch, and the one place exceptions become exit codes."""

from __future__ import annotations

import argparse
import errno
import importlib
import re
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

from fleetcheck import __version__
from fleetcheck.cli.env import Env, guarded, tell_lost_stdout
from fleetcheck.cli.suggest import chosen_command, option_strings, subparsers, suggestion
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.frozen import frozen
from fleetcheck.parsers import ParseError
from fleetcheck.sanitize import one_line

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

    from fleetcheck.cli.common import Command


@frozen
class Entry:
    """A sub-command by name, its module loaded only when needed."""

    name: str
    module: str  # under fleetcheck.cli, defining COMMAND

    def load(self) -> Command:
        """The command itself (importing its module)."""
        command: Command = importlib.import_module(f"fleetcheck.cli.{self.module}").COMMAND
        return command


# A run loads only its own command's module: `scan` is spared the code of `evidence`,
# `diff`, `history` and the rest (and their parsers), which is most of what the others add
# to every start. Help, completion and the man page load them all.
COMMANDS: tuple[Entry, ...] = tuple(Entry(name, f"{name}_cmd") for name in (
    "scan", "validate", "explain", "parse", "report", "inventory", "evidence", "verify",
    "merge", "diff", "history", "worker", "config", "completion", "manpage"))
_NAMES = frozenset(entry.name for entry in COMMANDS)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of exiting, so usage errors map to exit 2 in one place,
    each with the closest known word when one is near what was typed."""

    root: argparse.ArgumentParser | None = None  # the top parser, set by parse_arguments
    argv: Sequence[str] = ()
    out: TextIO | None = None  # the command's stdout, for -h and --version (parse_arguments)

    def error(self, message: str) -> None:  # type: ignore[override]
        raise InputError(suggestion(message, self.root or self, self.argv))

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        # -h and --version print to sys.stdout and argparse drops a write error there: on
        # the command's guarded stdout, a full disk is seen and said, as for any output.
        if self.out is not None and file is sys.stdout:
            self.out.write(message)
        else:
            super()._print_message(message, file)

    def _get_option_tuples(self, option_string: str) -> list[tuple[Any, ...]]:
        # An abbreviation of two spellings of one option (--colo: --color and --colour) is
        # that option, not an ambiguity: one match per option.
        first: dict[int, tuple[Any, ...]] = {}
        for match in super()._get_option_tuples(option_string):
            first.setdefault(id(match[0]), match)
        return list(first.values())


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The argument parser with one sub-command per Command; with `only`, the others are
    names without arguments (enough to run `only`, not to show the top-level help)."""
    parser = _Parser(prog="fleetcheck", description="What is listening on every host of a "
                     "fleet, and is each listener allowed?")
    parser.add_argument("--version", action="version", version=f"fleetcheck {__version__}")
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for entry in COMMANDS:
        if only is not None and entry.name != only:
            subs.add_parser(entry.name)
            continue
        command = entry.load()
        sub = subs.add_parser(command.name, help=command.help, description=command.help)
        command.add_arguments(sub)
        sub.set_defaults(handler=command.run)
    return parser


def _command_word(args_list: Sequence[str]) -> str | None:
    """The sub-command `args_list` runs, when its first word names one and it asks no
    top-level help; '' when it asks the version first (no command's options are needed);
    None otherwise (the whole parser is built)."""
    for word in args_list:
        if word in ("-h", "--help"):
            return None
        if len(word) > 3 and "--version".startswith(word):  # argparse takes `--vers` too
            return ""
        if not word.startswith("-"):
            return word if word in _NAMES else None
    return None


def parse_arguments(args_list: Sequence[str], out: TextIO | None = None,
                    ) -> tuple[argparse.ArgumentParser, argparse.Namespace]:
    """The parser and what it made of `args_list`; InputError (with a suggestion) if bad.
    Help and the version go to `out` (default: sys.stdout), then SystemExit(0)."""
    parser = build_parser(_command_word(args_list))
    for each in _every_parser(parser):
        if isinstance(each, _Parser):
            each.root, each.argv, each.out = parser, tuple(args_list), out
    return parser, parser.parse_args(_ssh_args_joined(args_list, parser))


# Options whose value is ssh's own options, so it starts with '-' ('-o ProxyJump=...').
DASHED_VALUES = ("--ssh-common-args", "--ssh-extra-args")


def _ssh_args_joined(args_list: Sequence[str], parser: argparse.ArgumentParser) -> list[str]:
    """`--ssh-common-args '-o ProxyJump=x'` as `--ssh-common-args=-o ProxyJump=x`.

    argparse takes a value that starts with '-' for an option when its start is one
    (`-o` is --output-dir), and fails "expected one argument"; ansible-playbook, which has
    no -o, takes the spaced form, and the docs write it. A word that is itself an option
    of the command (a forgotten value: `--ssh-extra-args --list-hosts`) is left alone."""
    known = set(option_strings(chosen_command(parser, args_list)))
    out: list[str] = []
    for word in args_list:
        if out and out[-1] in DASHED_VALUES and word.startswith("-") and word not in known:
            out[-1] = f"{out[-1]}={word}"
        else:
            out.append(word)
    return out


def _every_parser(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """`parser` and its sub-command parsers, nested ones (`history prune`) too."""
    return [parser, *(p for sub in subparsers(parser).values() for p in _every_parser(sub))]


def main(argv: Sequence[str] | None = None, env: Env | None = None) -> int:
    """Run one command; returns the exit status (never raises for user errors)."""
    env = guarded(env or Env())
    args_list = list(sys.argv[1:] if argv is None else argv)
    try:
        _no_nul(args_list)
        try:
            parser, args = parse_arguments(args_list, env.stdout)
        except SystemExit as done:  # -h or --version, printed: its stdout is checked too
            return _output_kept(done.code if isinstance(done.code, int) else 0, env)
        if args.command is None:
            env.stderr.write(parser.format_help())
            return ExitStatus.BAD_INPUT
        args.argv = ["fleetcheck", *args_list]
        from fleetcheck.cli import config_cmd  # here: `--version` needs none of it

        args.settings = config_cmd.configure(args, env)  # what the command line left out
        return _output_kept(int(args.handler(args, env)), env)
    except (InputError, ParseError) as exc:  # may quote an inventory, a file, a host's output
        env.stderr.write(f"fleetcheck: error: {one_line(str(exc))}\n")
        return ExitStatus.BAD_INPUT
    except OSError as exc:
        if exc.errno != errno.ENAMETOOLONG or not exc.filename:
            return _internal(exc, env)
        # A name the user gave (an argument, a config file's path) the OS cannot hold: every
        # check of a path (exists, is_file) raises it, wherever the path is read.
        env.stderr.write(f"fleetcheck: error: {one_line(str(exc.filename))}: file name too "
                         "long\n")
        return ExitStatus.BAD_INPUT
    except ValueError as exc:
        if not _NUL_IN_PATH.search(str(exc)):
            return _internal(exc, env)
        # A path from a file (fleetcheck.yml, an inventory) with a NUL: the OS refuses it
        # wherever it is used, each Python in its own words.
        env.stderr.write("fleetcheck: error: a file name holds a NUL byte, which no file "
                         "name can\n")
        return ExitStatus.BAD_INPUT
    except KeyboardInterrupt:
        env.stderr.write("fleetcheck: interrupted\n")
        return ExitStatus.INTERRUPTED
    except Exception as exc:  # a bug: never let it pass for a verdict (1 says "violations")
        return _internal(exc, env)


# What os functions say of a path with a NUL: 'embedded null byte' up to Python 3.12,
# 'open: embedded null character in path' from 3.13 on.
_NUL_IN_PATH = re.compile(r"embedded null (byte|character)")


def _no_nul(args_list: Sequence[str]) -> None:
    """InputError naming the first argument holding a NUL (no real command line can; an
    in-process caller can, and every path check would raise on it)."""
    for n, word in enumerate(args_list, 1):
        if "\x00" in word:
            raise InputError(f"argument {n} ({word!r}) holds a NUL byte, which no command "
                             "line can pass")


def _output_kept(status: int, env: Env) -> int:
    """`status`, or 4 when a command that succeeded could not write its standard output (a
    full disk, a closed descriptor; not a reader that went away, as `| head` does).

    Every command's output is its product (`inventory --list > hosts.json`): one lost to
    a full disk is never a success, and is said on stderr whatever the status (`diff`'s 1
    or `verify`'s 3 would otherwise read as a result nobody can see). `scan` and `report`
    decide the status themselves (their reports, the verdict on stderr); this catches the
    others, and what only the last flush finds."""
    lost = tell_lost_stdout(env)  # named once, whatever the status: a 1 or 3 stays as it is
    return ExitStatus.REPORTS_FAILED if lost and status == ExitStatus.OK else status


def _internal(exc: BaseException, env: Env) -> int:
    """Report a bug: its traceback and one line naming it; exit 70."""
    env.stderr.write("".join(traceback.format_exception(exc)))
    env.stderr.write(f"fleetcheck: internal error: {exc.__class__.__name__}: {exc}\n")
    return ExitStatus.INTERNAL


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())
