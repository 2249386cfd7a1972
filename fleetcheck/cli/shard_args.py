"""`scan --shard K/N | --shard-by VAR --shard NAME`: check one shard of a plan of the hosts."""

from __future__ import annotations

import argparse
from typing import Any

from fleetcheck.engine.shards import hashed_plan, keyed_plan, keys_by, parse_fraction, shard_record
from fleetcheck.errors import InputError
from fleetcheck.inventory import Inventory
from fleetcheck.plan import PlannedHost


def add_shard_arguments(parser: argparse.ArgumentParser) -> None:
    """--shard and --shard-by."""
    g = parser.add_argument_group("shards (merge them with `fleetcheck merge`)")
    g.add_argument("--shard", metavar="K/N",
                   help="check only shard K of N: a stable share of the selected hosts (a "
                        "host's shard depends on its name alone); with --shard-by, the "
                        "shard's name (a value of VAR)")
    g.add_argument("--shard-by", metavar="VAR",
                   help="one shard per value of inventory variable VAR, or per child group "
                        "of group VAR (e.g. datacenter); pick one with --shard NAME")


def select_shard(args: argparse.Namespace, inventory: Inventory, hosts: list[PlannedHost]
                 ) -> tuple[list[PlannedHost], dict[str, Any] | None]:
    """The hosts of the shard asked for and the run's `shard` record (all hosts, None
    without --shard); InputError for a bad spec, before any host is contacted."""
    if args.shard is None:
        if args.shard_by is not None:
            raise InputError(f"--shard-by {args.shard_by} needs --shard NAME: the value of "
                             f"{args.shard_by} whose hosts this run checks")
        return hosts, None
    if args.shard_by is not None:
        plan = keyed_plan(hosts, keys_by(inventory, hosts, args.shard_by), args.shard_by)
    else:
        plan = hashed_plan(hosts, parse_fraction(args.shard)[1])
    index = plan.select(args.shard)
    return [hosts[i] for i in plan.members(index)], shard_record(plan, index, hosts)
