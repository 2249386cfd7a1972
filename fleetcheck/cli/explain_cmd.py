"""`fleetcheck explain`: how one host's port was judged, from a saved run or live."""

from __future__ import annotations

import argparse
import json
import re

from fleetcheck import services
from fleetcheck.cli.common import (
    Command,
    add_input_arguments,
    extra_vars,
    inventory_warnings,
    load_inputs,
    plan_or_stop,
    shown_path,
)
from fleetcheck.cli.config_cmd import from_command_line
from fleetcheck.cli.env import Env, write_data
from fleetcheck.cli.recorded import recorded_argv
from fleetcheck.cli.runfile import read_run
from fleetcheck.cli.scan_args import (
    add_connection_arguments,
    logging_through,
    say_trust,
    scan_options,
    ssh_warnings,
)
from fleetcheck.clock import Start
from fleetcheck.engine.scan import scan
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.model import RunResult
from fleetcheck.numbers import is_number
from fleetcheck.policy import Action, resolve_containers
from fleetcheck.policy.explain import Explanation, explain, find_host
from fleetcheck.policy.judge import describe
from fleetcheck.policy.match import MatchResult
from fleetcheck.progress import Progress
from fleetcheck.redact import run_redactor
from fleetcheck.sanitize import one_line


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `explain`."""
    parser.add_argument("--run", metavar="RUN.json",
                        help="explain a saved run (its JSON report) instead of checking live")
    add_input_arguments(parser)
    add_connection_arguments(parser)  # live mode reaches the host exactly as scan would
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("host", metavar="HOST", help="the host, as the inventory names it")
    parser.add_argument("port", metavar="PORT[/PROTO]",
                        help="a port number or service name, optionally /tcp or /udp (tcp/8080 "
                        "as reports write it is read too)")


def parse_port(text: str) -> list[tuple[int, str | None]]:
    """'8080', '8080/tcp', 'tcp/8080' (as reports write it), 'spice' or 'spice/udp' ->
    [(port, proto or None)]."""
    word = text.strip().lower()
    m = re.fullmatch(r"([^/\s]+)(?:/(tcp|udp))?", word) or \
        re.fullmatch(r"(?P<p>tcp|udp)/(?P<w>[^/\s]+)", word)
    if m is None:
        raise InputError(f"PORT must be a number or service name with an optional /tcp or "
                         f"/udp (or tcp/ or udp/ before it), not {text!r}")
    what, proto = (m["w"], m["p"]) if "w" in m.groupdict() else (m.group(1), m.group(2))
    if is_number(what):
        if not 0 < int(what) <= 65535:
            raise InputError(f"port {what} is out of range (1-65535)")
        return [(int(what), proto)]
    pairs = sorted(services.resolve_service(what))
    out: list[tuple[int, str | None]] = [(n, p) for p, n in pairs if proto in (None, p)]
    if not out:
        raise InputError(f"unknown service {what!r}" + (f" for {proto}" if proto else ""))
    return out


def _live(args: argparse.Namespace, env: Env) -> RunResult:
    """Check the one host through the normal scan path and return that run."""
    start = Start()  # one reading of the clock: the run's start and the date it judges on
    inputs = load_inputs(args, env, start)
    hosts = [h for h in plan_or_stop(inputs, args, env) if h.name == args.host]
    if not hosts:
        raise InputError(f"host {args.host!r} is not in the inventory"
                         + (f" (or not within --limit {args.limit!r})" if args.limit else ""))
    hosts, options = scan_options(args, env, hosts)
    quiet = Progress(len(hosts), env.stderr, enabled=False)  # -v lines only, no progress bar
    redactor = run_redactor(hosts, options.ssh)
    with logging_through(args.verbose, quiet, redactor):
        run = scan(hosts, options=options, inputs=inputs.files, waivers=inputs.waivers,
                   meta={"command_line": recorded_argv(args.argv, extra_vars(args, env).values,
                                                       redactor),
                         "warnings": [*ssh_warnings(options, hosts, args, env),
                                      *inventory_warnings(inputs.inventory, env, args)],
                         "host_key_checking": options.ssh.host_key_checking},
                   start=start)
    say_trust(run, env)
    return run


def _saved(args: argparse.Namespace, env: Env) -> RunResult:
    if any(from_command_line(args, name) for name in ("inventory", "policies", "waivers")):
        raise InputError("--run explains a saved run: give no -i, -p or -w with it")
    return read_run(args.run, env)  # checked as `report` checks it


def run(args: argparse.Namespace, env: Env) -> int:
    """Print the explanation of HOST PORT; exit 3 when the host could not be checked."""
    targets = parse_port(args.port)
    run_result = _saved(args, env) if args.run else _live(args, env)
    host = find_host(run_result, args.host)
    if not host.checked:
        why = f"{host.error.kind}: {host.error.message}" if host.error else host.status.value
        env.stderr.write(one_line(f"fleetcheck: {host.name} could not be checked ({why}); "
                                  "there is nothing to explain") + "\n")
        return ExitStatus.INCOMPLETE
    explanations = [explain(run_result, args.host, port, proto) for port, proto in targets]
    if args.format == "json":
        write_data(env, json.dumps([e.to_dict() for e in explanations], indent=2) + "\n")
    else:
        env.stdout.write("\n".join(render_text(e, env) for e in explanations))
    return ExitStatus.OK


def render_text(e: Explanation, env: Env) -> str:
    """The explanation for a person: policies, each rule weighed, the decision, waivers."""
    what = f"{e.proto.upper()} {e.port}" if e.proto else f"port {e.port}"
    lines = [f"{e.host} · {what}"]
    lines.append("policies: " + "; ".join(
        f"{p.name} (hosts: {p.hosts or 'all'}, default: {p.default or 'not stated'}, "
        f"{shown_path(p.path, env)})" for p in e.policies) if e.policies else
        "policies: none applies to this host")
    lines.append(f"default: {e.default} ({e.default_why})")
    for s in e.listeners:
        lines += ["", describe(s.listener) + (f" user {s.listener.user}" if s.listener.user
                                              else "")]
        width = max((len(st.rule.ref) for st in s.steps), default=0)
        for st in s.steps:
            where = f"  [{shown_path(st.rule.where.path, env)}:{st.rule.where.line}]" \
                if st.rule.where else ""
            lines.append(f"  {st.rule.action.value:<7} {st.rule.ref:<{width}}  "
                         f"{st.sentence}{where}")
        decided = f"decided by {s.rule}" if s.rule else f"no rule decided: {e.default_why}"
        if s.verdict == "listed":  # docs/containers.md
            decided = ("no rule decided, and it is container-only: listed, not stray ("
                       f"{resolve_containers(e.policies)[1]})")
        beaten = [st.rule.ref for st in s.steps if st.result is MatchResult.YES
                  and st.rule.action is not Action.FORBID]
        if s.verdict == "forbidden" and beaten:
            decided += f" (a forbid beats the allow of {', '.join(beaten)})"
        lines.append(f"  verdict: {s.verdict.upper()}, {decided}")
        if s.finding is not None:
            f = s.finding
            lines.append(f"  finding {f.id} ({f.kind.value}, {f.severity.label}): {f.message}")
            for w in s.waivers:
                lines.append(f"    waiver {w.waiver}: {w.sentence}")
            lines.append(f"  result: waived by {f.waiver}" if f.waived
                         else "  result: open (a violation)")
    for rule, finding in e.requirements:
        lines.append("")
        state = "satisfied" if finding is None else f"NOT satisfied: {finding.message}"
        lines.append(f"requirement {rule.ref} ({rule.match.describe()}): {state}")
    lines += ["", *(f"note: {n}" for n in e.notes)] if e.notes else []
    # Each entry is one line: a control or newline in it came from a host or a file.
    return "\n".join(one_line(line) for line in lines) + "\n"


COMMAND = Command("explain", "explain how a host's port was judged: rules, waivers, decision",
                  add_arguments, run)
