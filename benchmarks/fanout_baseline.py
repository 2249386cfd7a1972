"""The floor fleetcheck is measured against: a plain paramiko fan-out, as one would write it.

A thread pool of `--forks`; known_hosts read once into a dict (paramiko's own
HostKeys lookups are linear scans); per host: TCP connect (no Nagle delay on
the handshake's small packets), key exchange with the host key checked
strictly against known_hosts, public-key authentication, one exec of the
command, stdout and stderr read to the end, the exit status. No parsing, no
policies, no reports. Any host that fails fails the run. Ciphers are paramiko's own
choice unless `--ciphers` gives an order (fleetcheck asks for AES-GCM first).

    python -m benchmarks.fanout_baseline --known-hosts FILE --key FILE ADDRESS...
"""

from __future__ import annotations

import argparse
import socket
import sys
from concurrent.futures import ThreadPoolExecutor

import paramiko


def load_known_hosts(path: str) -> dict[str, paramiko.PKey]:
    """Plain (unhashed) known_hosts entries by host name."""
    keys: dict[str, paramiko.PKey] = {}
    with open(path) as f:
        for line in f:
            entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
            if entry is not None:
                keys.update(dict.fromkeys(entry.hostnames, entry.key))
    return keys


def fan_out(addresses: list[str], *, known: dict[str, paramiko.PKey], pkey: paramiko.PKey,
            user: str, command: str, forks: int, timeout: float = 60.0,
            ciphers: tuple[str, ...] = ()) -> int:
    """Run `command` on every address, `forks` at a time; the bytes read in all."""

    def one(address: str) -> int:
        sock = socket.create_connection((address, 22), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock)
        if ciphers:
            t.get_security_options().ciphers = ciphers
        try:
            t.connect(hostkey=known[address], username=user, pkey=pkey)  # strict: must match
            chan = t.open_session(timeout=timeout)
            chan.exec_command(command)
            out = chan.makefile("rb").read()
            err = chan.makefile_stderr("rb").read()
            if chan.recv_exit_status() != 0 or not out:
                raise RuntimeError(f"{address}: {command!r} failed: {err[:200]!r}")
            return len(out) + len(err)
        finally:
            t.close()

    with ThreadPoolExecutor(max_workers=forks) as pool:
        return sum(pool.map(one, addresses))


def main(argv: list[str] | None = None) -> int:
    """Fan out over the addresses given; exit 0 only if every host answered."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--known-hosts", required=True)
    parser.add_argument("--key", required=True, help="private key file")
    parser.add_argument("--user", default="root")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--command", default="ss -Htlnup")
    parser.add_argument("--ciphers", default="", help="comma-separated cipher order")
    parser.add_argument("addresses", nargs="+")
    args = parser.parse_args(argv)
    total = fan_out(args.addresses, known=load_known_hosts(args.known_hosts),
                    pkey=paramiko.PKey.from_path(args.key), user=args.user,
                    command=args.command, forks=args.forks,
                    ciphers=tuple(c for c in args.ciphers.split(",") if c))
    print(f"{len(args.addresses)} hosts, {total} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
