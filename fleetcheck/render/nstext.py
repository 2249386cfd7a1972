"""The text report's parts for containers: a host's listeners per namespace, images fleet-wide."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from fleetcheck.model import HostResult, JudgedListener, RunResult, Severity
from fleetcheck.render import nsview, view
from fleetcheck.render.textfit import BOLD, RED, paint, table, wrap
from fleetcheck.render.waived import Standing

Table = Callable[[HostResult, Sequence[tuple[JudgedListener, Standing | None]], int, bool], str]


def grouped(host: HostResult, width: int, color: bool, threshold: Severity,
            listener_table: Table) -> list[str]:
    """One listener table per network namespace or container, the host's own first."""
    groups = nsview.groups(host, threshold)
    count = sum(len(g.rows) for g in groups)
    read = host.namespaces.read if host.namespaces is not None else 0
    lines = [f"  Listeners ({count}, in {view.plural(len(groups), 'place')}; "
             f"{view.plural(read, 'container network namespace')} read)"]
    for g in groups:  # each place's title, then its listeners indented under it
        lines += wrap(f"[{g.title}]" + (f" {g.detail}" if g.detail else ""), width, "  ",
                      "    ")
        reach = sorted({nsview.exposure_words(jl) for jl, _ in g.rows})
        if reach != ["host"]:
            lines += wrap(f"exposure: {', '.join(reach)}", width, "    ", "      ")
        lines += ["  " + line if line else line
                  for line in listener_table(host, g.rows, width - 2, color).split("\n")]
    return lines


def images(run: RunResult, width: int, color: bool) -> list[str]:
    """The fleet by container image (nothing when no host runs containers)."""
    rows = nsview.image_rows(run)
    if not rows:
        return []
    title = f"CONTAINER IMAGES ({view.plural(len(rows), 'image')})"
    body = [[paint(r.image, RED + BOLD, color and r.red), len(r.hosts),
             ", ".join(r.containers), ", ".join(r.ports),
             ", ".join(f"{v} {n}" for v, n in r.verdicts), view.joined(r.hosts, 8)]
            for r in rows]
    return [title, "=" * len(title),
            table(body, ["IMAGE", "HOSTS", "CONTAINERS", "PORTS", "VERDICTS", "WHICH"], width,
                  flex=(0, 2, 3, 5)), ""]
