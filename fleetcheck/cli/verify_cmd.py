"""`fleetcheck verify`: check an evidence bundle's files and signature.

Exit status: 0 verified (every file matches SHA256SUMS, signed by a key allowed_signers lets
sign for fleetcheck); 1 verification failed (a file differs, is missing or was added, the
signature is bad, or its key is not allowed), each problem named; 2 bad input (not a zip,
an unreadable or malformed allowed_signers file); 3 intact but not proven (unsigned, or no
--allowed-signers to judge the signer).
"""

from __future__ import annotations

import argparse

from fleetcheck.cli.common import Command
from fleetcheck.cli.env import Env
from fleetcheck.evidence import signers
from fleetcheck.evidence.bundle import MANIFEST
from fleetcheck.evidence.verify import Outcome, verify_zip
from fleetcheck.sanitize import one_line
from fleetcheck.words import plural


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `verify`."""
    parser.add_argument("bundle", metavar="BUNDLE.zip", help="an evidence bundle")
    parser.add_argument("--allowed-signers", metavar="FILE",
                        help="OpenSSH allowed_signers file (as for ssh-keygen -Y verify -f): "
                             "the keys that may sign fleetcheck evidence")
    parser.add_argument("-I", "--identity", metavar="PRINCIPAL",
                        help="require the signer to be this principal of allowed_signers "
                             "(as ssh-keygen -Y verify -I)")


def run(args: argparse.Namespace, env: Env) -> int:
    """Check the bundle and say what was found, one problem a line."""
    allowed = signers.load(env.path(args.allowed_signers), args.allowed_signers) \
        if args.allowed_signers else None
    result = verify_zip(env.path(args.bundle), allowed, identity=args.identity,
                        shown=args.bundle)
    out = env.stdout
    # A bundle under test is hostile text: its member names and signer lines may hold line
    # ends that would print a line of their own ("VERIFIED: ..."): every one is escaped.
    name = one_line(args.bundle)
    if result.outcome is Outcome.FAILED:
        out.write(f"FAILED: {name} does not verify\n")
        for problem in result.problems:
            out.write(f"  {one_line(problem)}\n")
    elif result.outcome is Outcome.NOT_PROVEN:
        out.write(f"NOT PROVEN: {name} is intact ({_match(result.files)} {MANIFEST}), "
                  "but nothing proves who made it\n")
        for note in result.notes:
            out.write(f"  {one_line(note)}\n")
    else:
        out.write(f"VERIFIED: {name}: {_match(result.files)} {MANIFEST}, signed by "
                  f"{one_line(result.signed_by or '')} ({one_line(result.principals or '')} "
                  f"in {one_line(args.allowed_signers)})\n")
    if result.digest:
        out.write(f"  bundle digest (SHA-256 of {MANIFEST}): {result.digest}\n")
    return int(result.outcome)


COMMAND = Command("verify", "check an evidence bundle: every file against SHA256SUMS and the "
                  "SSH signature against an allowed_signers file", add_arguments, run)


def _match(files: int) -> str:
    """'1 file matches', '8 files match'."""
    return f"{plural(files, 'file')} {'matches' if files == 1 else 'match'}"
