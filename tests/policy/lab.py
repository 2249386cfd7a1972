"""Lab helpers for policy end-to-end runs: plant sockets, run the CLI there, read the run.

Transport-agnostic on purpose: `run_cli_in` works for local-connection hosts in
one namespace today and for SSH lab hosts (whose inventory points elsewhere)
later; `finding_rows` and `waiver_statuses` only read the run JSON.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fleetcheck.addresses import address_scope
from tests.conftest import CliResult, listed_reports, run_cli
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns
from tests.lab.prereq import require_netns

FindingRow = tuple[str, str, str, str, int | None, str | None, str | None, str | None]


@contextmanager
def lab_namespace() -> Iterator[tuple[Namespace, SocketHolders]]:
    """A namespace with socket holders, for module-scoped fixtures; removed afterwards."""
    require_netns()
    ns = Namespace().create()
    holders = SocketHolders(ns)
    try:
        yield ns, holders
    finally:
        holders.stop()
        ns.delete()


def give_addresses(ns: Namespace, socks: Sequence[Sock]) -> None:
    """Give `ns`'s loopback device every unicast address `socks` bind to, so they can bind."""
    for addr in sorted({s.address for s in socks}):
        if address_scope(addr) in ("wildcard", "loopback"):
            continue
        ip = ipaddress.ip_address(addr)
        extra = ["nodad"] if ip.version == 6 else []
        subprocess.run(["ip", "-n", ns.name, "addr", "add", f"{ip}/{ip.max_prefixlen}",
                        "dev", "lo", *extra], check=True, capture_output=True)


def plant(ns: Namespace, holders: SocketHolders, socks: Sequence[Sock]) -> None:
    """Hold `socks` open in `ns`, first giving it any unicast address they bind to."""
    give_addresses(ns, socks)
    holders.hold(socks)


def run_cli_in(ns: Namespace, argv: Sequence[str], cwd: Path) -> tuple[CliResult, dict[str, Any]]:
    """Run fleetcheck inside `ns`; the run is read from the JSON report it says it wrote."""
    with in_netns(ns.name):
        res = run_cli(list(argv), cwd=cwd)
    reports = [p for p in listed_reports(res.out, res.err) if p.endswith(".json")]
    assert len(reports) == 1, f"exit {res.code}: {res.err}"
    return res, json.loads((cwd / reports[0]).read_text())


def finding_rows(run: dict[str, Any]) -> set[FindingRow]:
    """(host, kind, severity, proto, port, address, rule, waiver-if-waived) for every finding."""
    rows = set()
    for h in run["hosts"]:
        for f in h["findings"]:
            assert f["waived"] == (f["waiver"] is not None)
            rows.add((h["name"], f["kind"], f["severity"], f["proto"], f["port"], f["address"],
                      f["rule"], f["waiver"] if f["waived"] else None))
    return rows


def waiver_statuses(run: dict[str, Any]) -> dict[str, str]:
    """Waiver id -> status, as the run reported them."""
    return {w["id"]: w["status"] for w in run["waivers"]}


def verdicts(run: dict[str, Any], host: str) -> dict[tuple[str, int], tuple[str, str | None]]:
    """(proto, port) -> (verdict, rule) for one host's listeners."""
    h = next(h for h in run["hosts"] if h["name"] == host)
    return {(li["proto"], li["port"]): (li["verdict"], li["rule"]) for li in h["listeners"]}
