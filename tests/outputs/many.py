"""A lab run with many hosts, for the report's screenshots and browser tests.

Real scans through the real CLI: each profile is a network namespace holding real sockets
(held by real processes), and every host of that profile is checked there through the
local connection, as hosts built from one golden image would be. Hosts that cannot be
checked are real failures too: SSH ports that refuse connections, and hosts behind a
jump host that refuses (so they form one cause naming it). Real waiver files: one
expiring within the warning window, one expired.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

from fleetcheck.engine.summary import summarize
from fleetcheck.model import RunResult, Severity
from fleetcheck.render.natural import natural_key
from tests.lab.netns import Sock
from tests.render import builders
from tests.render.lab import scan_in_namespace

TODAY = dt.date(2026, 12, 4)
WEB = builders.DATA / "web.yml"
# profile -> (group, hosts, sockets): what every host of the profile listens on.
PROFILES: dict[str, tuple[str, list[str], list[Sock]]] = {
    "web": ("web", [f"web{i:02d}" for i in range(1, 13)], [
        Sock("tcp", "0.0.0.0", 22, process="sshd"), Sock("tcp", "0.0.0.0", 443, process="nginx"),
        Sock("tcp", "0.0.0.0", 8080, process="java"),
        Sock("udp", "0.0.0.0", 5353, process="mdnsd")]),
    "spice": ("web", ["web13", "web14"], [
        Sock("tcp", "0.0.0.0", 22, process="sshd"), Sock("tcp", "0.0.0.0", 443, process="nginx"),
        Sock("tcp", "0.0.0.0", 1923, process="spiced")]),
    "db": ("db", [f"db{i}" for i in range(1, 7)], [
        Sock("tcp", "0.0.0.0", 22, process="sshd"),
        Sock("tcp", "0.0.0.0", 5432, process="postgres"),
        Sock("tcp", "127.0.0.1", 6379, process="redis-server")]),
}
# Hosts that cannot be checked, added to the web profile's inventory.
UNCHECKED = """    cache:
      hosts:
        cache[01:05]: {ansible_host: 127.0.0.1, ansible_port: 1, ansible_user: ops}
    inner:
      hosts:
        inner[1:3]: {ansible_host: 10.9.0.1, ansible_user: ops,
                     ansible_ssh_common_args: "-J ops@127.0.0.1:1"}
"""


def waiver_file(path: Path) -> Path:
    """W-JAVA expires within the warning window; W-MDNS has expired; W-SPARE is unused."""
    soon = (TODAY + dt.timedelta(days=6)).isoformat()
    path.write_text(f"""waivers:
  - id: W-JAVA
    hosts: web[09:12]
    proto: tcp
    port: 8080
    reason: The legacy admin console until the migration.
    ticket: CHG-4711
    owner: alice@example.net
    approved_by: carol@example.net
    created: 2026-06-01
    expires: {soon}
  - id: W-MDNS
    hosts: web01
    proto: udp
    port: 5353
    reason: mDNS for the printer pilot.
    ticket: SEC-12
    owner: bob@example.net
    approved_by: carol@example.net
    created: 2026-01-10
    expires: 2026-06-30
  - id: W-SPARE
    hosts: db*
    proto: tcp
    port: 9999
    reason: A port nothing holds any more.
    owner: dave@example.net
    approved_by: carol@example.net
    created: 2026-02-01
    expires: 2027-06-30
""")
    return path


def _scan(workdir: Path, profile: str, waivers: Path) -> RunResult:
    group, hosts, socks = PROFILES[profile]
    lines = "".join(f"        {h}: {{ansible_connection: local}}\n" for h in hosts)
    inv = workdir / f"{profile}.yml"
    inv.write_text(f"all:\n  children:\n    {group}:\n      hosts:\n{lines}"
                   + (UNCHECKED if profile == "web" else ""))
    out = workdir / f"out-{profile}"
    res = scan_in_namespace(socks, ["-i", str(inv), "-w", str(waivers), "--today",
                                    TODAY.isoformat(), "-o", str(out), "--format", "json",
                                    "--connect-timeout", "3", "--retries", "0"],
                            workdir, environ={"HOME": str(workdir)})
    assert res.code in (1, 3), res.err
    (path,) = out.glob("fleetcheck-2*.json")
    return RunResult.from_dict(json.loads(path.read_text()))


def many_host_run(workdir: Path) -> RunResult:
    """The runs of every profile as one run (waivers, warnings and facts of the first)."""
    waivers = waiver_file(workdir / "waivers.yml")
    runs = [_scan(workdir, profile, waivers) for profile in PROFILES]
    hosts = sorted((h for r in runs for h in r.hosts), key=lambda h: natural_key(h.name))
    first = runs[0]
    matched = {w.id: sum(x.matched for r in runs for x in r.waivers if x.id == w.id)
               for w in first.waivers}
    records = tuple(dataclasses.replace(w, matched=matched[w.id],
                                        status="unused" if w.status == "active"
                                        and not matched[w.id] else w.status)
                    for w in first.waivers)
    return dataclasses.replace(first, hosts=tuple(hosts), waivers=records,
                               summary=summarize(hosts, Severity.LOW, complete=True))
