"""`fleetcheck evidence`: pack a saved run into a (signed) evidence bundle for auditors."""

from __future__ import annotations

import argparse
import errno
from pathlib import Path
from typing import TYPE_CHECKING

from fleetcheck.cli.common import Command, shown_path
from fleetcheck.cli.env import Env
from fleetcheck.cli.runfile import read_run
from fleetcheck.errors import ExitStatus, InputError
from fleetcheck.frozen import replace
from fleetcheck.inventory import Inventory, load
from fleetcheck.model import RunResult
from fleetcheck.sanitize import one_line

# The bundle's code (zip, signatures, OSCAL, scope) is loaded when a bundle is made: `scan`
# takes this module's arguments and would otherwise load it on every run.
if TYPE_CHECKING:
    from fleetcheck.evidence import bundle, sshsig

PASSPHRASE_ENV = "FLEETCHECK_KEY_PASSPHRASE"  # noqa: S105  # a variable name, no secret


def add_evidence_arguments(parser: argparse.ArgumentParser, *, scan: bool = False) -> None:
    """--sign and --include-inventory (shared with `scan --evidence`)."""
    parser.add_argument("--sign", metavar="KEY",
                        help="sign SHA256SUMS with this SSH key, as `ssh-keygen -Y sign -f KEY "
                             "-n fleetcheck` would: a private key file, or a public key file "
                             "whose private key ssh-agent holds (SSH_AUTH_SOCK). Encrypted keys "
                             f"read their passphrase from ${PASSPHRASE_ENV}")
    parser.add_argument("--include-inventory", action="store_true",
                        help="also include the in-scope hosts' inventory variables (secrets and "
                             "vault values left out); by default only inventory paths, hashes "
                             "and host names" + (" (with --evidence)" if scan else ""))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `evidence`."""
    parser.add_argument("run", metavar="RUN.json", help="a run's JSON report")
    parser.add_argument("-o", "--output", required=True, metavar="BUNDLE.zip",
                        help="the bundle to write")
    add_evidence_arguments(parser)


def signing_key(args: argparse.Namespace, env: Env) -> sshsig.SigningKey | None:
    """The key --sign names, ready to sign; InputError (exit 2) when it cannot sign."""
    if not args.sign:
        return None
    from fleetcheck.evidence import sshsig
    try:
        return sshsig.load_signing_key(env.path(args.sign),
                                       passphrase=env.environ.get(PASSPHRASE_ENV),
                                       agent_socket=env.environ.get("SSH_AUTH_SOCK"))
    except sshsig.KeyProblem as exc:
        raise InputError(str(exc), args.sign) from None


def reload_inventory(run: RunResult, base: Path) -> Inventory:
    """The run's inventory files loaded again, each checked to be the file the run read."""
    from fleetcheck.evidence import bundle
    sources = bundle.read_inputs(run, base, kinds=("inventory",))
    if not sources:
        raise InputError("--include-inventory: the run recorded no inventory file")
    return load([str(bundle.input_path(f, base)) for f, _ in sources])


def make_bundle(run: RunResult, output: Path, *, env: Env, key: sshsig.SigningKey | None,
                base: Path, inventory: Inventory | None) -> bundle.Bundle:
    """Read the run's inputs, build the bundle, write it, and say what was written."""
    from fleetcheck.evidence import bundle
    inputs = bundle.read_inputs(run, base)
    document = bundle.inventory_document(inventory, [h.name for h in run.hosts]) \
        if inventory is not None else None
    made = bundle.build(run, inputs, key=key, inventory=document)
    try:
        bundle.write(made, run, output)
    except OSError as exc:
        if exc.errno in _DISK_ERRORS:  # the input was good: the output was lost (exit 4)
            raise BundleLost(f"cannot write the bundle: {exc.strerror or exc}",
                             str(output)) from None
        raise InputError(f"cannot write the bundle: {exc.strerror or exc}", str(output)) from None
    env.stderr.write(f"evidence: {shown_path(str(output), env)} ({len(made.files)} files, "
                     f"{'signed with ' + made.signed_by if made.signed_by else 'UNSIGNED'})\n")
    return made


# A bundle lost to these is a lost report (exit 4 on a clean verdict), not bad input.
_DISK_ERRORS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO, errno.EROFS})


class BundleLost(InputError):
    """The bundle could not be written for want of space (or a failing disk)."""


def with_reference(run: RunResult, made: bundle.Bundle, name: str) -> RunResult:
    """The run whose reports name the bundle made of it (meta.evidence)."""
    from fleetcheck.evidence.scope import EVIDENCE_KEY
    return replace(run, meta={**run.meta, EVIDENCE_KEY: made.reference(name)})


def bundle_scan(result: RunResult, args: argparse.Namespace, env: Env,
                key: sshsig.SigningKey | None, inventory: Inventory) -> RunResult:
    """`scan --evidence`: bundle the run just made; the run its reports are written from."""
    try:
        made = make_bundle(result, env.path(args.evidence), env=env, key=key, base=env.cwd,
                           inventory=inventory if args.include_inventory else None)
    finally:
        if key is not None:
            key.close()
    return with_reference(result, made, args.evidence)


def bundle_name(name: str, option: str) -> str:
    """`name`, the bundle's file; InputError for '-', which names stdout everywhere else
    (where the digest goes) and would make a file called '-'."""
    if name == "-":
        raise InputError(f"{option} -: the bundle is a zip file: give its name (standard "
                         "output carries its digest)")
    return name


def run(args: argparse.Namespace, env: Env) -> int:
    """Bundle the saved run; exit 0 once written (the run's own verdict is inside)."""
    bundle_name(args.output, "-o")
    result = read_run(args.run, env)
    key = signing_key(args, env)
    try:
        base = env.cwd
        inventory = reload_inventory(result, base) if args.include_inventory else None
        made = make_bundle(result, env.path(args.output), env=env, key=key, base=base,
                           inventory=inventory)
    except BundleLost as exc:  # a full disk, a file size limit: as a lost report in `scan`
        env.stderr.write(f"fleetcheck: error: {one_line(str(exc))}\n")
        return ExitStatus.REPORTS_FAILED
    finally:
        if key is not None:
            key.close()
    # stdout: the digest, in sha256sum's shape, for scripts and for the auditor's records
    from fleetcheck.evidence.bundle import MANIFEST
    env.stdout.write(f"{made.digest}  {MANIFEST}\n")
    return ExitStatus.OK


COMMAND = Command("evidence", "pack a saved run (RUN.json) into an evidence bundle: reports, "
                  "register, OSCAL, scope, inputs, SHA256SUMS and an SSH signature",
                  add_arguments, run)
