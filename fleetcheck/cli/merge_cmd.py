"""`fleetcheck merge`: shard runs of one plan in, the one run of all their hosts out."""

from __future__ import annotations

import argparse
import socket

from fleetcheck.cli import history_setup
from fleetcheck.cli.common import Command
from fleetcheck.cli.deliver import deliver
from fleetcheck.cli.destinations import add_report_argument, destinations
from fleetcheck.cli.env import Env
from fleetcheck.cli.output import (
    DEFAULT_FORMATS,
    add_terminal_arguments,
    prepare_output_dir,
)
from fleetcheck.cli.runfile import read_run
from fleetcheck.cli.scan_args import local_user
from fleetcheck.engine.interrupts import as_ctrl_c
from fleetcheck.engine.merge import ShardFile, merge_runs
from fleetcheck.render import FORMATS, PIPEABLE


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `merge`."""
    parser.add_argument("shards", nargs="+", metavar="SHARD.json",
                        help="the JSON reports of `fleetcheck scan --shard` runs of one plan")
    parser.add_argument("--format", metavar="FORMATS",
                        help=f"comma-separated report formats ({', '.join(FORMATS)}, or all); "
                             f"default: {DEFAULT_FORMATS}. Stdout shows the summary, as scan, or "
                             f"the one format asked for if it is {', '.join(PIPEABLE)}")
    parser.add_argument("-o", "--output-dir", metavar="DIR",
                        help="the directory the merged run's reports are written to, each also "
                             "as fleetcheck-latest.EXT (default: as for scan, reports/); '-' "
                             "prints the one format asked for on stdout")
    add_report_argument(parser)
    add_terminal_arguments(parser)  # the summary is scan's: quieted and coloured alike
    history_setup.add_arguments(parser)  # the merged run is the one history entry


def run(args: argparse.Namespace, env: Env) -> int:
    """Read, check and merge the shard runs, then write the merged run's reports."""
    dest = destinations(args, env, DEFAULT_FORMATS)
    files = []
    for name in args.shards:
        files.append(ShardFile(name, read_run(name, env)))  # bounded, as every saved run
    if dest.outdir is not None:
        prepare_output_dir(dest.outdir, args)
    meta = {"command_line": list(args.argv), "user": local_user(),
            "hostname": socket.gethostname(), "merged_from": list(args.shards)}
    result = merge_runs(files, meta=meta)  # shards that do not belong together: exit 2
    history = history_setup.ScanHistory.start(args, env, dest.outdir)
    missing = [s for s in result.shards if s["status"] == "missing"]
    for s in missing:
        env.stderr.write(f"fleetcheck: shard {s['index']}/{s['count']} of plan {s['plan']} is "
                         "missing: its hosts are marked not_run\n")
    # As a scan once its hosts are checked: a signal now is noted, and the merged run is
    # recorded and its reports written whole (its verdict is the exit code).
    with as_ctrl_c(armed=False), history:
        result = history.finish(history.apply(result))
        return deliver(result, dest, env, args)


COMMAND = Command("merge", "merge the shard runs of one plan into one run and write its reports",
                  add_arguments, run)
