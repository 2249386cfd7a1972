"""`fleetcheck diff OLD.json NEW.json`: what changed between two saved runs, no database needed.

Exit codes: 0 nothing new or reopened at or above NEW's --fail-on, 1 violations new or
reopened since OLD, 2 bad input, 3 nothing new, but findings OLD listed could not be
verified (their hosts were not checked in NEW).
"""

from __future__ import annotations

import argparse
import json

from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env, write_data
from fleetcheck.cli.output import terminal_width
from fleetcheck.cli.runfile import read_run
from fleetcheck.engine.summary import judge_run
from fleetcheck.errors import ExitStatus
from fleetcheck.frozen import replace
from fleetcheck.history import compare, pasts_from_run
from fleetcheck.history.compare import listener_changes
from fleetcheck.history.identity import Key, describe
from fleetcheck.model import Change, CommandRecord, RunResult, Severity
from fleetcheck.render import text_changes
from fleetcheck.render.textfit import table
from fleetcheck.sanitize import scrub_lines
from fleetcheck.words import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `diff`."""
    parser.add_argument("old", metavar="OLD.json", help="the earlier run's JSON report")
    parser.add_argument("new", metavar="NEW.json", help="the later run's JSON report")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="text (default) or json")


def diff(old: RunResult, new: RunResult, old_name: str) -> RunResult:
    """NEW with its findings compared with OLD's, and the verdict under the 'new' gate."""
    fixed = old.changes.fixed if old.changes else ()
    unverified = old.changes.unverified if old.changes else ()
    pasts = pasts_from_run(old.hosts, old.started_at, fixed, unverified)
    found = compare(new.hosts, pasts, new.started_at,
                    {"source": "run", "path": old_name, "run_id": old.run_id})
    hosts, summary = judge_run(found.hosts, Severity.parse(new.summary.fail_on),
                               complete=new.summary.complete, gate="new")
    return replace(new, hosts=hosts, summary=summary, changes=found.changes,
                               trend=())


def exit_code(compared: RunResult) -> int:
    """1 for new or reopened violations, 3 when some of OLD's findings went unverified."""
    if compared.summary.new_violations:
        return ExitStatus.VIOLATIONS
    if compared.changes and compared.changes.unverified:
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK


def _key_dict(host: str, key: Key) -> dict[str, object]:
    return {"host": host, **key._asdict()}


def run(args: argparse.Namespace, env: Env) -> int:
    """Print what changed from OLD to NEW; the exit code says whether anything got worse."""
    old, new = read_run(args.old, env), read_run(args.new, env)
    compared = diff(old, new, args.old)
    added, removed = listener_changes(old.hosts, new.hosts)
    code = exit_code(compared)
    if args.format == "json":
        changes = compared.changes
        assert changes is not None
        data = {
            "old": {"run_id": old.run_id, "started_at": old.started_at, "path": args.old},
            "new": {"run_id": new.run_id, "started_at": new.started_at, "path": args.new},
            "changes": changes.to_dict(),
            "findings": [{**f.to_dict(), "host": h.name} for h in compared.hosts
                         for f in h.findings if f.change in (Change.NEW, Change.REOPENED)],
            "listeners": {"added": [_key_dict(h, k) for h, k in added],
                          "removed": [_key_dict(h, k) for h, k in removed]},
            "new_violations": compared.summary.new_violations,
            "exit_code": code,
        }
        write_data(env, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
        return code
    width = terminal_width(env)
    # Nothing a host printed may act on the terminal or start a line of its own.
    shown = scrub_lines(compared, CommandRecord)
    lines = [f"fleetcheck diff: {old.run_id or args.old} ({old.started_at}) -> "
             f"{new.run_id or args.new} ({new.started_at})", "",
             *text_changes.render(shown, width, False)]
    for title, rows in (("Listeners added", added), ("Listeners removed", removed)):
        lines.append(f"{title} ({len(rows)})" + ("" if rows else ": none"))
        if rows:
            lines += [table(scrub_lines([[h, describe(k)] for h, k in rows]), ["HOST", "LISTENER"],
                            width, flex=(1,)), ""]
    opened = compared.summary.new_violations
    verdict = {0: "nothing new or reopened",
               1: f"{plural(opened, 'violation')} new or reopened",
               3: "nothing new, but some findings could not be verified"}[code]
    lines += ["", f"exit {code}: {verdict}"]
    env.stdout.write("\n".join(lines).rstrip("\n") + "\n")
    return code


COMMAND = Command("diff", "what changed between two saved runs (OLD.json NEW.json), without "
                  "a database", add_arguments, run)
