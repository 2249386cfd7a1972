"""The manual page, written in roff from the same argument parser the command line uses.

`fleetcheck manpage` prints it (docs/fleetcheck.1 is its output, checked by a test), so
every sub-command and option the parser knows is in the page, with its help text.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from fleetcheck import __version__
from fleetcheck.cli.suggest import subparsers

# Sections after the options: what a reader of a man page looks for last.
_EXIT = (("0", "every host checked and compliant"),
         ("1", "violations at or above --fail-on"),
         ("2", "bad usage or bad input (inventory, policy, waiver); nothing scanned"),
         ("3", "no violations, but some hosts could not be checked"),
         ("4", "the verdict was clean, but its reports could not be written"))
_ENVIRONMENT = (("NO_COLOR", "no colour on the terminal (any value)"),
                ("GITHUB_STEP_SUMMARY", "scan appends its Markdown summary to this file"),
                ("FLEETCHECK_KEY_PASSPHRASE", "passphrase of encrypted SSH key files"),
                ("ANSIBLE_VAULT_PASSWORD_FILE", "vault password file for inventories"),
                ("SSH_AUTH_SOCK", "the ssh-agent to ask for keys"))


def roff(text: str) -> str:
    """`text` safe on a roff line: backslashes and leading dots or quotes escaped."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    return "\\&" + text if text[:1] in (".", "'") else text


def _usage(parser: argparse.ArgumentParser) -> str:
    return " ".join(parser.format_usage().removeprefix("usage: ").split())


def _option_lines(parser: argparse.ArgumentParser) -> Iterator[str]:
    for action in parser._actions:
        if action.help == argparse.SUPPRESS or isinstance(action, argparse._SubParsersAction):
            continue
        if action.option_strings and action.option_strings[0] in ("-h", "--help"):
            continue
        names = action.option_strings or [str(action.metavar or action.dest)]
        metavar = ""
        if action.option_strings and action.nargs != 0:
            meta = action.metavar or (action.dest.upper() if action.choices is None else
                                      "{" + ",".join(map(str, action.choices)) + "}")
            metavar = f" {meta}"
        head = ", ".join(f"\\fB{roff(str(n))}\\fR" for n in names)
        yield ".TP"
        yield head + (f"\\fI{roff(str(metavar))}\\fR" if metavar else "")
        help_text = (action.help or "") % {"default": action.default, "prog": "fleetcheck"} \
            if action.help and "%(" in action.help else action.help or ""
        yield roff(" ".join(help_text.split()))


def render(parser: argparse.ArgumentParser, date: str = "") -> str:
    """The whole page: name, synopsis, description, one section per command, exit codes."""
    lines = [f'.TH FLEETCHECK 1 "{date}" "fleetcheck {__version__}" "User Commands"',
             ".SH NAME", "fleetcheck \\- " + roff(parser.description or ""),
             ".SH SYNOPSIS", "\\fBfleetcheck\\fR \\fICOMMAND\\fR [\\fIOPTIONS\\fR]",
             ".SH DESCRIPTION",
             roff("fleetcheck reads an Ansible inventory, connects to each host over SSH, lists "
                  "its listening sockets with the best tool the host has, judges each listener "
                  "against YAML policies and writes reports (a summary on standard output; "
                  "text, HTML, JSON, JUnit, CSV and Markdown files)."),
             ".SH COMMANDS"]
    for name, sub in subparsers(parser).items():
        lines += [f".SS fleetcheck {roff(name)}", roff(sub.description or ""),
                  ".PP", f"\\fBUsage:\\fR {roff(_usage(sub))}", *_option_lines(sub)]
    lines.append(".SH EXIT STATUS")
    for code, meaning in _EXIT:
        lines += [".TP", f"\\fB{code}\\fR", roff(meaning)]
    lines.append(".SH ENVIRONMENT")
    for var, meaning in _ENVIRONMENT:
        lines += [".TP", f"\\fB{roff(var)}\\fR", roff(meaning)]
    lines += [".SH SEE ALSO", "\\fBansible\\-inventory\\fR(1), \\fBssh\\fR(1), "
              "\\fBss\\fR(8); docs/cli.md and docs/reports.md in the source tree"]
    return "\n".join(lines) + "\n"
