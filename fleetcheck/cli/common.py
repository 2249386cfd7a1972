"""What sub-commands share: the Command shape and loading of inventories and policies."""

from __future__ import annotations

import argparse
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from fleetcheck.cli.env import Env
from fleetcheck.errors import InputError
from fleetcheck.inventory import Inventory, load, localhost_inventory
from fleetcheck.model import InputFile
from fleetcheck.policy import Policy
from fleetcheck.policy.load import load_policies


@dataclass(frozen=True)
class Command:
    """One sub-command: its name, help, arguments and handler (returns the exit status)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace, Env], int]


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """-i/--inventory and -p/--policy, shared by scan and validate."""
    parser.add_argument("-i", "--inventory", action="append", metavar="INVENTORY",
                        help="Ansible inventory (file or directory; repeatable). "
                             "Default: this machine via the local connection.")
    parser.add_argument("-p", "--policy", action="append", metavar="POLICY",
                        help="policy YAML file (repeatable). Default: the shipped baseline.")
    parser.add_argument("-l", "--limit", metavar="PATTERN",
                        help="only hosts matching this Ansible host pattern")


def baseline_path() -> Path:
    """The shipped baseline policy file."""
    return Path(str(resources.files("fleetcheck").joinpath("data/baseline.yml")))


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes (for the report's audit trail)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Inputs:
    """Everything a run reads before contacting any host."""

    inventory: Inventory
    policies: list[Policy]
    files: tuple[InputFile, ...]


def load_inputs(args: argparse.Namespace, env: Env) -> Inputs:
    """Load inventory and policies named on the command line; InputError on any problem."""
    if args.inventory:
        inventory = load([str(env.path(p)) for p in args.inventory],
                         vault_password_file=getattr(args, "vault_password_file", None))
    else:
        inventory = localhost_inventory()
    policy_paths = [env.path(p) for p in args.policy] if args.policy else [baseline_path()]
    for p in policy_paths:
        if not p.is_file():
            raise InputError("policy file not found", str(p))
    policies = load_policies(policy_paths)
    files: list[InputFile] = []
    for src in inventory.sources:
        sp = Path(src)
        if sp.is_file():
            files.append(InputFile("inventory", src, sha256_file(sp)))
    files += [InputFile("policy", str(p), sha256_file(p)) for p in policy_paths]
    return Inputs(inventory, policies, tuple(files))
