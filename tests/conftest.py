"""Shared fixtures: in-process CLI runs and lab namespaces."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from fleetcheck.cli.env import Env
from fleetcheck.cli.main import main
from tests import ahead
from tests.lab.netns import Namespace, SocketHolders
from tests.lab.prereq import require_netns

# In CI every hypothesis test draws the same examples (a gate must not pass or fail by luck);
# elsewhere each run draws new ones, so running the suite keeps looking.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI") == "true":
    settings.load_profile("ci")

# Every fleetcheck.run/1 JSON the suite produces is validated against the published schema.
pytest_plugins = ("tests.runschema",)

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus" / "outputs"


@dataclass
class CliResult:
    """What one in-process CLI invocation returned and printed."""

    code: int
    out: str
    err: str


class _TTY(io.StringIO):
    def isatty(self) -> bool:
        return True


def run_cli(argv: Sequence[str], *, cwd: Path, environ: dict[str, str] | None = None,
            tty: bool = False, stdin: str = "", tty_err: bool = False) -> CliResult:
    """Run fleetcheck in-process with an injected environment (`tty_err`: stderr is a TTY)."""
    out = _TTY() if tty else io.StringIO()
    err = _TTY() if tty_err else io.StringIO()
    env = Env(stdout=out, stderr=err, stdin=io.StringIO(stdin),
              environ=dict(environ or {}), cwd=cwd)
    code = main(list(argv), env)
    return CliResult(code, out.getvalue(), err.getvalue())


def run_files(directory: Path) -> list[Path]:
    """The run records (JSON reports) in `directory`: 'fleetcheck-<run id>.json', not the
    other JSON formats ('.oscal.json') written beside them, nor the stable name of the
    newest ('fleetcheck-latest.json')."""
    return sorted(p for p in directory.glob("*.json") if "." not in p.name[:-len(".json")]
                  and not p.name.startswith("fleetcheck-latest."))


def listed_reports(out: str, err: str) -> list[str]:
    """The report files a command says it wrote: the summary's 'Reports:' list on stdout, or
    'report: PATH' lines on stderr (when stdout carries a machine-readable report)."""
    paths = [line.removeprefix("report: ") for line in err.splitlines()
             if line.startswith("report: ")]
    lines = out.splitlines()
    if "Reports:" in lines:
        paths += [x.strip() for x in lines[lines.index("Reports:") + 1:] if x.startswith("  ")]
    return paths


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the background oracle work of the collected modules (tests/ahead.py)."""
    if session.config.option.collectonly:
        return
    modules = dict.fromkeys(item.module for item in session.items
                            if isinstance(item, pytest.Function))
    ahead.start(modules, session.config._tmp_path_factory)  # type: ignore[attr-defined]


def pytest_sessionfinish(session: pytest.Session) -> None:
    """End any background oracle work still running."""
    ahead.finish()


@pytest.fixture
def netns() -> Iterator[Namespace]:
    """A fresh network namespace with loopback up, removed afterwards."""
    require_netns()
    ns = Namespace().create()
    try:
        yield ns
    finally:
        ns.delete()


@pytest.fixture
def holders(netns: Namespace) -> Iterator[SocketHolders]:
    """Socket-holding processes inside `netns`, stopped afterwards."""
    h = SocketHolders(netns)
    try:
        yield h
    finally:
        h.stop()
