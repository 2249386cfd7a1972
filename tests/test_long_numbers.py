"""Numbers longer than int() reads (4,300 digits by default) in every input: bad input with
its own message (exit 2), or text, never an internal error (int() raises ValueError).

Found by the damaged-input fuzz (an ssh_config `ConnectTimeout` of 5,000 digits ended in
exit 70); these are its siblings, input by input. Remote output is covered per parser in
tests/parsers/test_linear_time.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from fleetcheck.numbers import MAX_DIGITS, is_number
from tests.conftest import run_cli

LONG = "1" * 5000
POLICY = "name: p\nhosts: all\nallow:\n  - {id: a, proto: tcp, port: 22}\n"
INI = "[web]\nh1 ansible_connection=local\nh2 ansible_connection=local\n"


def test_is_number_stops_where_int_would_refuse() -> None:
    assert is_number("7" * MAX_DIGITS) and int("7" * MAX_DIGITS) > 0
    assert not is_number("7" * (MAX_DIGITS + 1)) and not is_number(LONG)


@pytest.mark.parametrize(("files", "argv", "said"), [
    ({"inv.ini": INI}, ["scan", "-i", "inv.ini", "--list-hosts", "--limit", f"web[{LONG}]"],
     "a subscript of more than 640 digits"),
    ({"inv.ini": INI}, ["scan", "-i", "inv.ini", "--list-hosts", "--limit", f"web[0:{LONG}]"],
     "a subscript of more than 640 digits"),
    ({}, ["scan", "-c", "local", "--shard", f"1/{LONG}"], "expected K/N"),
    ({}, ["scan", "-c", "local", "--max-output", LONG], "is not a size"),
    ({"ansible.cfg": f"[defaults]\nforks = {LONG}\n"}, ["config"], "must be a whole number"),
    ({"ssh_config": f"Host *\n  Port {LONG}\n"}, ["scan", "-i", "h1,", "-F", "ssh_config"],
     "port: bad value"),
    ({"ssh_config": f"Host *\n  ConnectTimeout {LONG}s\n"},
     ["scan", "-i", "h1,", "-F", "ssh_config"], "connecttimeout: bad value"),
    ({"pol.yml": POLICY.replace("port: 22", f"port: '{LONG}'")},
     ["validate", "-p", "pol.yml"], "is out of range (0-65535)"),
    ({"pol.yml": POLICY.replace("port: 22", f"port: '1-{LONG}'")},
     ["validate", "-p", "pol.yml"], "is out of range (0-65535)"),
    ({"pol.yml": POLICY.replace("hosts: all\n", f"hosts: all\nreview_every: {LONG} days\n")},
     ["validate", "-p", "pol.yml"], "review_every must be a period"),
], ids=["limit-index", "limit-slice", "shard", "max-output", "ansible.cfg", "ssh-port",
        "ssh-time", "policy-port", "policy-range", "review-period"])
def test_a_long_number_is_bad_input(files: dict[str, str], argv: list[str], said: str,
                                    tmp_path: Path) -> None:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    res = run_cli([*argv, "-o", "r"] if argv[0] == "scan" and "--list-hosts" not in argv
                  else argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 2, (res.code, res.err[-500:])
    assert said in res.out + res.err
    assert "internal error" not in res.err and "Traceback" not in res.err


def test_host_names_with_long_digit_runs_reach_every_report(tmp_path: Path) -> None:
    """Natural order and host ranges read a name's digits as a number only when int() can."""
    names = [f"web{LONG}{i}" for i in range(3)] + ["web1", "web2", "web3"]
    (tmp_path / "inv.ini").write_text(
        "[web]\n" + "".join(f"{n} ansible_connection=local\n" for n in names))
    res = run_cli(["scan", "-i", "inv.ini", "-o", "r", "--format", "text,html,csv,markdown",
                   "--no-history", "-q"], cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code in (0, 1), (res.code, res.err[-500:])
    text = next((tmp_path / "r").glob("fleetcheck-2*.txt")).read_text()
    assert all(n in text for n in names)
