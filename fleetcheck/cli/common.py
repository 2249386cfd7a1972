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


def add_inventory_arguments(parser: argparse.ArgumentParser) -> None:
    """-i/--inventory, -l/--limit and --vault-password-file, shared by every inventory reader."""
    parser.add_argument("-i", "--inventory", action="append", metavar="INVENTORY",
                        help="Ansible inventory: file, directory, script or 'host1,host2,' "
                             "(repeatable). Default: this machine via the local connection.")
    parser.add_argument("-l", "--limit", metavar="PATTERN",
                        help="only hosts matching this Ansible host pattern "
                             "(e.g. 'web:&dc1:!web3', 'db[0]', '~web\\d+', '@hosts.txt')")
    parser.add_argument("--vault-password-file", action="append", metavar="FILE",
                        dest="vault_password_file",
                        help="file holding the vault password, or an executable printing it "
                             "(repeatable). Default: $ANSIBLE_VAULT_PASSWORD_FILE")


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """Inventory arguments and -p/--policy, shared by scan and validate."""
    add_inventory_arguments(parser)
    parser.add_argument("-p", "--policy", action="append", metavar="POLICY",
                        help="policy YAML file (repeatable). Default: the shipped baseline.")


def load_inventory(args: argparse.Namespace, env: Env) -> Inventory:
    """The inventory named by -i (the local machine without -i), vault passwords applied."""
    if not args.inventory:
        return localhost_inventory()
    vault_files = [str(env.path(p)) for p in (args.vault_password_file or [])]
    if not vault_files and env.environ.get("ANSIBLE_VAULT_PASSWORD_FILE"):
        vault_files = [str(env.path(env.environ["ANSIBLE_VAULT_PASSWORD_FILE"]))]
    sources = [s if "," in s and not env.path(s).exists() else str(env.path(s))
               for s in args.inventory]
    return load(sources, vault_password_file=vault_files)


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
    inventory = load_inventory(args, env)
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


def limit_pattern(args: argparse.Namespace, env: Env) -> str | None:
    """--limit with each `@file` made absolute against the invocation's working directory."""
    limit: str | None = args.limit
    if limit is None or "@" not in limit:
        return limit
    from fleetcheck.inventory.patterns import split_pattern

    terms = split_pattern(limit)
    return ",".join(f"@{env.path(t[1:])}" if t.startswith("@") else t for t in terms)
