"""`fleetcheck completion bash|zsh`: a shell completion script generated from the parser.

shtab writes the script from the argparse parser itself, so every sub-command, option and
choice completes as the command line defines it; arguments naming files or directories
complete as paths.
"""

from __future__ import annotations

import argparse

from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env
from fleetcheck.cli.suggest import subparsers
from fleetcheck.errors import ExitStatus

SHELLS = ("bash", "zsh")
# Metavars of arguments that name a path, and what they complete to.
_FILES = frozenset({"FILE", "INVENTORY", "POLICY", "WAIVERS", "RUN.json", "PATH", "DEST"})
_DIRS = frozenset({"DIR"})


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `completion`."""
    parser.add_argument("shell", choices=SHELLS, help="the shell to write the script for")


def script(parser: argparse.ArgumentParser, shell: str) -> str:
    """The completion script for `shell`, paths completing where an argument names one."""
    import shtab  # only this command needs it

    for each in (parser, *subparsers(parser).values()):
        for action in each._actions:
            if action.metavar in _FILES:
                action.complete = shtab.FILE  # type: ignore[attr-defined]
            elif action.metavar in _DIRS:
                action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
    return str(shtab.complete(parser, shell=shell))


def run(args: argparse.Namespace, env: Env) -> int:
    """Print the script: `source <(fleetcheck completion bash)`, or save it where the shell
    looks for completions."""
    from fleetcheck.cli.main import build_parser  # the whole parser, this command included

    env.stdout.write(script(build_parser(), args.shell))
    return ExitStatus.OK


COMMAND = Command("completion", "print a bash or zsh completion script for fleetcheck",
                  add_arguments, run)
