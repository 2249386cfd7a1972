"""Parser throughput for the non-Linux dialects, and the cost of one emulated probe.

Run from the project root: `PYTHONPATH=. python benchmarks/os_parsers.py`.
Each dialect's own fixture is repeated until it holds about 20,000 socket rows (a very
busy server) and parsed; the table prints rows per second and the time per parse.
The second table times a whole collection (probe script, shims, parse) of an emulated
host through the local transport, against a bare `sh -c true` in the same run, so the
probe's own overhead can be read off as a ratio.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from benchmarks.common import measure, print_table
from fleetcheck.collect import CollectOptions, collect
from fleetcheck.parsers import PARSERS
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.local import LocalTransport
from tests.lab.emulate import EMULATIONS, install

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TARGET_ROWS = 20_000
CASES = {
    "bsd-netstat": "macos/netstat-anv-14",
    "sockstat": "freebsd/sockstat-46l-14",
    "lsof-fields": "macos/lsof-F-listen",
    "solaris-netstat": "solaris/netstat-an-finet-finet6-s10",
    "windows-netstat": "windows/netstat-ano-de",
    "powershell": "windows/get-netlisteners-ps51",
}


def _scaled(tool: str, text: str) -> tuple[str, int]:
    """The fixture grown to about TARGET_ROWS rows, in a form its parser still accepts."""
    if tool == "powershell":
        items = json.loads(text)
        items = items * (TARGET_ROWS // len(items))
        return json.dumps(items), len(items)
    lines = text.splitlines()
    head = {"bsd-netstat": 2, "sockstat": 1, "windows-netstat": 4}.get(tool, 0)
    body = lines if tool == "solaris-netstat" else lines[head:]  # Solaris repeats whole
    copies = max(1, TARGET_ROWS // max(1, len(body)))
    return "\n".join(lines[:head] + body * copies) + "\n", len(body) * copies


def parsers() -> None:
    rows = []
    for tool, name in CASES.items():
        text, count = _scaled(tool, (FIXTURES / f"{name}.out").read_text())
        got = measure(lambda t=text, p=PARSERS[tool]: p(t))  # type: ignore[misc]
        rows.append((tool, count, got.wall, count / got.wall))
    print_table(f"Parsing about {TARGET_ROWS} socket rows per dialect",
                ["dialect", "rows", "seconds", "rows/s"], rows)


def emulated() -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        bare = measure(lambda: subprocess.run(["sh", "-c", "true"], check=True))
        for name in ("macos", "freebsd", "openbsd", "aix", "windows-cmd"):
            shell = install(EMULATIONS[name], Path(tmp) / name).shell
            host = PlannedHost(name=name, address=name, groups=(), policies=(),
                               connection="local")
            got = measure(lambda s=shell, h=host: collect(  # type: ignore[misc]
                h, LocalTransport(shell=str(s)), CollectOptions()))
            rows.append((name, got.wall, got.cpu, got.wall / bare.wall))
    print_table("One emulated collection (probe + shims + parse), versus `sh -c true`",
                ["host", "wall s", "cpu s", "x sh -c true"], rows)


if __name__ == "__main__":
    parsers()
    emulated()
