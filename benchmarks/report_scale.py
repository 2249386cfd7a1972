"""Reports at fleet scale with real command evidence: size, render time and peak memory.

`render.py`'s synthetic hosts ran a one-line command; here every host ran the real probe
(~6 KB, its own nonce), as in a scan, so the figures show what the evidence costs. Each
size renders in a process of its own (peak RSS is that process's: building the run plus
every report). By default each report is written into a temporary directory as
`scan --format all` writes it (formats that render piece by piece never whole in memory);
`--in-memory` renders each to one string instead, as `render()` returns it; `--each`
renders each format in a process of its own (its peak RSS is the run's and its own):

    PYTHONPATH=. python -m benchmarks.report_scale [--in-memory] [--each] [HOSTS ...]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import print_table

FORMATS = ("text", "html", "json", "junit", "csv", "csv-groups", "markdown", "register", "oscal")


def child(hosts: int, in_memory: bool, only: str | None = None) -> None:
    """Build one run, render every format in scan's order, print the figures as JSON."""
    from fleetcheck.render import FORMATS as ALL
    from fleetcheck.render import RenderOptions
    from fleetcheck.render.write import content, write_atomic
    from tests.render.synthetic import probe_run

    run = probe_run(hosts)
    built = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    options = RenderOptions(rendered_at="2026-01-01T00:00:00Z")
    out: dict[str, list[float]] = {}
    outdir = Path(tempfile.mkdtemp(prefix="report-scale-"))
    for name in [only] if only else FORMATS:
        wall, cpu = time.perf_counter(), time.process_time()
        if in_memory:
            text = ALL[name].render(run, options)
            size = len(text.encode())
            del text
        else:
            path = outdir / f"report.{ALL[name].extension}"
            write_atomic(path, content(ALL[name], run, options))
            size = path.stat().st_size
            path.unlink()
        out[name] = [time.perf_counter() - wall, time.process_time() - cpu, size / 2**20,
                     resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]
    outdir.rmdir()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"formats": out, "rss": rss, "built": built}))


def _child_figures(hosts: int, in_memory: bool, only: str | None = None) -> dict[str, Any]:
    """Run one child process; its figures."""
    command = [sys.executable, "-m", "benchmarks.report_scale", "--child", str(hosts),
               *(["--in-memory"] if in_memory else []), *(["--only", only] if only else [])]
    got: dict[str, Any] = json.loads(subprocess.run(command, check=True, capture_output=True,
                                                    text=True).stdout)
    return got


def each(sizes: list[int], in_memory: bool) -> None:
    """Every format alone in a process: its peak RSS over the run's own."""
    rows = []
    for n in sizes:
        for name in FORMATS:
            got = _child_figures(n, in_memory, name)
            wall, cpu, mib, peak = got["formats"][name]
            rows.append([n, name, wall, cpu, mib, got["built"], peak, peak - got["built"]])
    print_table("Each format alone (the run built, then that report " +
                ("rendered to a string)" if in_memory else "written)"),
                ["hosts", "format", "wall s", "cpu s", "MiB", "RSS built MiB", "peak RSS MiB",
                 "added MiB"], rows)


def main() -> None:
    """Each size in its own process; one table of every format and the peak RSS."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("hosts", nargs="*", type=int, default=[1000, 5000, 10000])
    parser.add_argument("--in-memory", action="store_true",
                        help="render each report to one string instead of writing it")
    parser.add_argument("--each", action="store_true",
                        help="each format in a process of its own (its own peak RSS)")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--only", choices=FORMATS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.in_memory, args.only)
        return
    if args.each:
        each(args.hosts, args.in_memory)
        return
    rows = []
    for n in args.hosts:
        got = _child_figures(n, args.in_memory)
        rows.append([n, "(the run built)", "", "", "", "", got["built"]])
        for name, (wall, cpu, mib, peak) in got["formats"].items():
            rows.append([n, name, wall, cpu, mib, wall / n * 1e6, peak])
        total = [sum(v[i] for v in got["formats"].values()) for i in range(3)]
        rows.append([n, "all", total[0], total[1], total[2], total[0] / n * 1e6,
                     got["rss"]])
    print_table("Reports with the real probe as each host's command evidence",
                ["hosts", "format", "wall s", "cpu s", "MiB", "us/host", "peak RSS MiB so far"],
                rows)


if __name__ == "__main__":
    main()
