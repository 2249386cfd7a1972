"""The JSON report: the RunResult itself, in the `fleetcheck.run/3` shape, each record on
one line (`pretty`'s rows)."""

from __future__ import annotations

from collections.abc import Iterator

from fleetcheck.model import RunResult
from fleetcheck.render import jsonhost, pretty
from fleetcheck.render.options import RenderOptions

# The last run rendered and its text: `--format all` writes the JSON report and the HTML
# shows its digest (evidence.scope.run_digest); at fleet scale rendering it is seconds.
_LAST: list[tuple[RunResult, str]] = []


def render(run: RunResult, options: RenderOptions | None = None) -> str:
    """Pretty, key-stable JSON with a trailing newline (options change nothing here)."""
    del options
    if _LAST and _LAST[0][0] is run:
        return _LAST[0][1]
    text = pretty.dumps(run.to_dict(jsonhost.host), rows=True) + "\n"
    _LAST[:] = [(run, text)]
    return text


def render_chunks(run: RunResult, options: RenderOptions | None = None) -> Iterator[str]:
    """`render(run)` in pieces; the text already rendered for this run when there is one."""
    del options
    if _LAST and _LAST[0][0] is run:
        yield _LAST[0][1]
        return
    # Item by item down to each host, written whole as text (`jsonhost`).
    yield from pretty.iterdumps(run.to_dict(jsonhost.host), depth=2, rows=True)
    yield "\n"
