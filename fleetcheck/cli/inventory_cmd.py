"""`fleetcheck inventory`: show an inventory as fleetcheck (and ansible-inventory) reads it."""

from __future__ import annotations

import argparse

from fleetcheck.cli.common import (
    Command,
    add_extra_vars_argument,
    add_inventory_arguments,
    extra_vars,
    inventory_warnings,
    limit_pattern,
    load_inventory,
)
from fleetcheck.cli.env import Env, write_data
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.inventory import Inventory, listing
from fleetcheck.inventory.patterns import SubscriptMissed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `inventory` (ansible-inventory's, plus --list-hosts)."""
    add_inventory_arguments(parser)
    add_extra_vars_argument(parser)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--list", action="store_true",
                        help="all groups and host variables, as `ansible-inventory --list`")
    action.add_argument("--host", metavar="HOST",
                        help="one host's variables, as `ansible-inventory --host`")
    action.add_argument("--graph", nargs="?", const="all", metavar="GROUP",
                        help="the group tree from GROUP (default: all)")
    action.add_argument("--list-hosts", action="store_true",
                        help="the hosts --limit selects, one a line, in Ansible's order "
                             "(as `ansible PATTERN --list-hosts`)")
    parser.add_argument("--export", action="store_true",
                        help="with --list: variables where they are defined, not per host")
    parser.add_argument("--vars", action="store_true", dest="show_vars",
                        help="with --graph: show variables")


def run(args: argparse.Namespace, env: Env) -> int:
    """Print the requested view; bad input raises InputError (exit 2)."""
    if args.export and not args.list:
        raise InputError("--export goes with --list")
    if args.show_vars and args.graph is None:
        raise InputError("--vars goes with --graph")
    if args.limit is not None and (args.host is not None or args.graph is not None):
        raise InputError("--limit does not apply to --host or --graph")
    inventory = load_inventory(args, env)
    try:
        text = _view(args, env, inventory)
    finally:  # what was found before an error still shows
        inventory_warnings(inventory, env)
    write_data(env, text)  # names from the inventory
    return ExitStatus.OK


def _view(args: argparse.Namespace, env: Env, inventory: Inventory) -> str:
    """The text of the requested view."""
    limit = limit_pattern(args, env)
    cwd = str(env.cwd)
    extra = extra_vars(args, env).values  # over each host's variables, as ansible-inventory
    if args.list:
        return listing.dumps(listing.list_document(inventory, limit=limit, export=args.export,
                                                   cwd=cwd, extra_vars=extra))
    if args.host is not None:
        return listing.dumps(listing.host_document(inventory, args.host, cwd=cwd,
                                                   extra_vars=extra))
    if args.graph is not None:
        return listing.graph(inventory, args.graph, show_vars=args.show_vars, extra_vars=extra)
    try:
        hosts = inventory.select(limit, cwd=cwd)
    except SubscriptMissed as exc:  # as `ansible PATTERN --list-hosts` takes it
        inventory.notes.warn(f"{exc.message}; no hosts matched, nothing to do")
        inventory.notes.check()
        return listing.list_hosts([])
    if not hosts:
        inventory.notes.warn("no hosts matched, nothing to do")
        inventory.notes.check()
    return listing.list_hosts(hosts)


COMMAND = Command("inventory", "show hosts, groups and variables as read from Ansible inventories",
                  add_arguments, run)
