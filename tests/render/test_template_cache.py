"""The HTML report's compiled templates are cached between runs, and a cache that cannot be
used (a full disk, a directory someone else could write to) never costs a report."""

from __future__ import annotations

import os
import subprocess
import sys
import types
from pathlib import Path

from jinja2 import BytecodeCache, Environment, PackageLoader

from fleetcheck.model import Severity
from fleetcheck.render import FORMATS, RenderOptions
from fleetcheck.render.jinja_cache import compile_settings, template_cache
from tests.conftest import REPO
from tests.lab.fullfs import full_tmpfs
from tests.lab.prereq import require
from tests.render import builders

CACHE = f"_jinja2-cache-{os.getuid()}"


def _html(tmp_path: Path, tmpdir: Path, name: str) -> tuple[int, str]:
    """`fleetcheck report RUN.json --format html` in a process whose temp dir is `tmpdir`."""
    run = tmp_path / "run.json"
    if not run.exists():
        run.write_text(FORMATS["json"].render(builders.composite_run(), RenderOptions()))
    out = tmp_path / name
    proc = subprocess.run([sys.executable, "-m", "fleetcheck", "report", str(run), "--format",
                           "html", "-o", str(out)], capture_output=True, text=True, cwd=REPO,
                          env={**os.environ, "TMPDIR": str(tmpdir)}, check=False)
    pages = list(out.glob("*.html")) if out.exists() else []
    return proc.returncode, pages[0].read_text() if pages else proc.stderr


def _without_time(page: str) -> str:
    return "\n".join(line for line in page.splitlines() if "rendered" not in line.lower())


def test_templates_are_compiled_once_and_read_back(tmp_path: Path) -> None:
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    code, first = _html(tmp_path, tmpdir, "one")
    assert code == 0, first
    cached = {p: p.stat().st_mtime_ns for p in (tmpdir / CACHE).iterdir()}
    assert cached and (tmpdir / CACHE).stat().st_mode & 0o777 == 0o700
    code, second = _html(tmp_path, tmpdir, "two")
    assert code == 0, second
    assert {p: p.stat().st_mtime_ns for p in (tmpdir / CACHE).iterdir()} == cached
    assert _without_time(second) == _without_time(first)


def _render(cache: BytecodeCache | None) -> str:
    env = Environment(loader=PackageLoader("fleetcheck.render", "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True, bytecode_cache=cache)
    macro = vars(env.get_template("partials/macros.html.j2").module)["sev_class"]
    return str(macro(types.SimpleNamespace(severity=Severity.HIGH, red=True, violation=False)))


def test_a_cache_on_a_full_disk_costs_nothing(tmp_path: Path) -> None:
    with full_tmpfs(tmp_path / "full") as full:
        cache = template_cache("settings", str(full))
        assert cache is not None
        assert _render(cache) == _render(None)
        assert sorted(p.name for p in full.iterdir()) == ["filler"]  # nothing half-written


def test_entries_compiled_with_other_settings_are_never_read(tmp_path: Path) -> None:
    """Jinja2 checks an entry against the source only: the settings are in its name."""
    one, other = (template_cache(s, str(tmp_path)) for s in ("trim", "no trim"))
    assert one is not None and other is not None
    _render(one)
    written = set(tmp_path.iterdir())
    _render(other)
    assert written and set(tmp_path.iterdir()) > written  # compiled again, beside the first


def test_a_corrupt_entry_is_compiled_again(tmp_path: Path) -> None:
    cache = template_cache("settings", str(tmp_path))
    expected = _render(cache)
    for entry in tmp_path.iterdir():
        entry.write_bytes(b"j2 not a cache entry")
    assert _render(template_cache("settings", str(tmp_path))) == expected


def test_a_cache_directory_of_another_user_is_not_used(tmp_path: Path) -> None:
    """What is loaded from the cache is code: a directory someone else owns is refused."""
    require(os.geteuid() == 0, "root (to give the directory to another user)")
    tmpdir = tmp_path / "tmp"
    (tmpdir / CACHE).mkdir(parents=True, mode=0o700)
    os.chown(tmpdir / CACHE, 65534, 65534)
    code, page = _html(tmp_path, tmpdir, "unsafe")
    assert code == 0, page
    assert "<html" in page
    assert list((tmpdir / CACHE).iterdir()) == []


def test_the_cache_key_follows_every_setting_that_shapes_compiled_code() -> None:
    def settings(trim: bool, escape: bool) -> object:
        return compile_settings(Environment(trim_blocks=trim, autoescape=escape))  # noqa: S701 -- never renders

    assert settings(True, True) != settings(False, True)
    assert settings(True, True) != settings(True, False)
    assert settings(True, True) == settings(True, True)
