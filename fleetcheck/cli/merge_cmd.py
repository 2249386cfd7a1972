"""`fleetcheck merge`: shard runs of one plan in, the one run of all their hosts out."""

from __future__ import annotations

import argparse
import socket

from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env
from fleetcheck.cli.history_hook import deliver
from fleetcheck.cli.output import (
    DEFAULT_FORMATS,
    prepare_output_dir,
)
from fleetcheck.cli.report_cmd import read_run
from fleetcheck.cli.scan_args import local_user
from fleetcheck.engine.merge import ShardFile, merge_runs
from fleetcheck.errors import InputError
from fleetcheck.render import FORMATS, PIPEABLE, parse_formats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `merge`."""
    parser.add_argument("shards", nargs="+", metavar="SHARD.json",
                        help="the JSON reports of `fleetcheck scan --shard` runs of one plan")
    parser.add_argument("--format", default=DEFAULT_FORMATS, metavar="FORMATS",
                        help=f"comma-separated report formats ({', '.join(FORMATS)}, or all); "
                             f"default: {DEFAULT_FORMATS}. Stdout shows the text report, or "
                             f"the one format asked for if it is {', '.join(PIPEABLE)}")
    parser.add_argument("-o", "--output-dir", default="reports", metavar="DIR",
                        help="where the merged run's reports are written (default: reports/)")


def run(args: argparse.Namespace, env: Env) -> int:
    """Read, check and merge the shard runs, then write the merged run's reports."""
    try:
        formats = parse_formats(args.format)
    except ValueError as exc:
        raise InputError(str(exc)) from None
    files = []
    for name in args.shards:
        files.append(ShardFile(name, read_run(name, env)))  # bounded, as every saved run
    outdir = prepare_output_dir(env.path(args.output_dir))
    meta = {"command_line": list(args.argv), "user": local_user(),
            "hostname": socket.gethostname(), "merged_from": list(args.shards)}
    result = merge_runs(files, meta=meta)
    missing = [s for s in result.shards if s["status"] == "missing"]
    for s in missing:
        env.stderr.write(f"fleetcheck: shard {s['index']}/{s['count']} of plan {s['plan']} is "
                         "missing: its hosts are marked not_run\n")
    return deliver(result, formats, outdir, env, args)


COMMAND = Command("merge", "merge the shard runs of one plan into one run and write its reports",
                  add_arguments, run)
