"""`-F` and `--known-hosts` take what `ssh -F` and `UserKnownHostsFile` take: /dev/null (an
empty file), `-F none` (no configuration file at all); a missing file or a directory is bad
input (exit 2) naming it. Each run's one host is a real refused TCP port on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli


def _scan(tmp_path: Path, *extra: str) -> tuple[int, str]:
    """Scan one host whose SSH port refuses; (exit code, stderr)."""
    inventory = tmp_path / "hosts.ini"
    inventory.write_text("refuser ansible_host=127.0.0.1 ansible_port=1\n", encoding="utf-8")
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True, exist_ok=True)
    # A user file ssh refuses: only `-F` (another file, or none) keeps it from being read.
    (home / ".ssh" / "config").write_text("Port notaport\n", encoding="utf-8")
    result = run_cli(["scan", "-i", str(inventory), "-o", str(tmp_path / "out"), "--no-history",
                      "--format", "json", "-q", *extra],
                     cwd=tmp_path, environ={"HOME": str(home)})
    return result.code, result.err


def test_the_users_broken_file_is_read_without_f(tmp_path: Path) -> None:
    code, err = _scan(tmp_path)
    assert code == 2 and ".ssh/config:1" in err


@pytest.mark.parametrize("given", ["/dev/null", "none"])
def test_f_dev_null_and_none_read_no_options(tmp_path: Path, given: str) -> None:
    code, err = _scan(tmp_path, "-F", given)
    assert code == 3, err  # the host was contacted and refused: not bad input


def test_known_hosts_dev_null_is_an_empty_file(tmp_path: Path) -> None:
    code, err = _scan(tmp_path, "-F", "none", "--known-hosts", "/dev/null")
    assert code == 3, err


@pytest.mark.parametrize("option", ["-F", "--known-hosts"])
@pytest.mark.parametrize("what", ["missing", "directory"])
def test_a_missing_file_or_a_directory_is_bad_input(tmp_path: Path, option: str,
                                                     what: str) -> None:
    path = tmp_path / what
    if what == "directory":
        path.mkdir()
    code, err = _scan(tmp_path, *(["-F", "none"] if option != "-F" else []), option, str(path))
    assert code == 2 and str(path) in err and len(err.strip().splitlines()) == 1, err
