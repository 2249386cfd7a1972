"""The manual page, written in roff from the same argument parser the command line uses.

`fleetcheck manpage` prints it (docs/fleetcheck.1 is its output, checked by a test), so
every sub-command and option the parser knows is in the page, with its help text.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from fleetcheck import __version__
from fleetcheck.cli.suggest import subparsers
from fleetcheck.config.settings import SETTINGS
from fleetcheck.errors import EXIT_MEANINGS

# Sections after the options: what a reader of a man page looks for last. The variables
# no setting of fleetcheck/config/settings.py names; each setting's own follow them.
_ENVIRONMENT = (("NO_COLOR", "no colour on the terminal (any value but empty)"),
                ("TERM", "dumb: no colour"),
                ("CI", "true (or 1, yes): no progress display"),
                ("COLUMNS", "the width the summary and text report are laid out to"),
                ("GITHUB_STEP_SUMMARY", "scan appends its Markdown summary to this file"),
                ("ANSIBLE_CONFIG", "the ansible.cfg to read (a directory: its ansible.cfg)"),
                ("FLEETCHECK_CONFIG", "the fleetcheck.yml to read"),
                ("XDG_CONFIG_HOME", "where fleetcheck/fleetcheck.yml is looked for last "
                                    "(default ~/.config)"),
                ("FLEETCHECK_KEY_PASSPHRASE", "passphrase of encrypted SSH key files"),
                ("FLEETCHECK_BROKER", "the celery engine's broker (--broker)"),
                ("SSH_AUTH_SOCK", "the ssh-agent to ask for keys"))


def environment() -> list[tuple[str, str]]:
    """Every environment variable fleetcheck reads, with what it sets."""
    out = list(_ENVIRONMENT)
    for setting in SETTINGS:
        where = f"setting {setting.name}" + (f", {setting.flag}" if setting.flag else "")
        out += [(var, f"{setting.help} ({where})") for var in setting.env]
    return out


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
                  "text, HTML, JSON, JUnit, CSV and Markdown files, the ports register "
                  "and OSCAL assessment results)."),
             ".SH COMMANDS"]
    for name, sub in subparsers(parser).items():
        lines += [f".SS fleetcheck {roff(name)}", roff(sub.description or ""),
                  ".PP", f"\\fBUsage:\\fR {roff(_usage(sub))}", *_option_lines(sub)]
    lines.append(".SH EXIT STATUS")
    for code, meaning in EXIT_MEANINGS.items():
        lines += [".TP", f"\\fB{int(code)}\\fR", roff(meaning)]
    lines.append(".SH ENVIRONMENT")
    for var, meaning in environment():
        lines += [".TP", f"\\fB{roff(var)}\\fR", roff(meaning)]
    lines += [".SH SEE ALSO", "\\fBansible\\-inventory\\fR(1), \\fBssh\\fR(1), "
              "\\fBss\\fR(8); docs/cli.md and docs/reports.md in the source tree"]
    return "\n".join(lines) + "\n"
