"""Input size is bounded: every input path ends in one located error and exit 2, in bounded
memory and time — never a MemoryError, a traceback or a hang.

The CLI runs as a real process under an address-space limit (RLIMIT_AS) and a timeout;
scripts that print forever are real programs, and the test checks that their whole
process group is gone afterwards.
"""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fleetcheck.bounded import MAX_INVENTORY_BYTES, MAX_LIST_BYTES, MAX_RUN_BYTES, MAX_YAML_BYTES
from fleetcheck.inventory import data as inventory_data
from fleetcheck.inventory import script as inventory_script
from tests.conftest import REPO, run_cli

MEMORY = 1 << 30  # address space the CLI may use in these tests (its limits hold far below)
TIMEOUT = 120

BOMB = "".join(f"{c}: &{c} [{', '.join([f'*{p}'] * 9)}]\n"
               for p, c in zip("abcdefgh", "bcdefghi", strict=True))
BOMB = "a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + BOMB
LONG = "1" * 5000


def _bounded_cli(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """fleetcheck as a real process with at most MEMORY of address space."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    return subprocess.run([sys.executable, "-m", "fleetcheck", *args], cwd=cwd, text=True,
                          capture_output=True, timeout=TIMEOUT, preexec_fn=limit, check=False,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def _one_error(proc: subprocess.CompletedProcess[str], located: str) -> None:
    """Exit 2 and exactly one stderr line: the located error."""
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr == f"fleetcheck: error: {located}\n"


def _gone(pgid: int) -> list[int]:
    """The processes of group `pgid` still alive 5 s after it was sent SIGKILL (none).

    A SIGKILL is certain but not instant: a process sent one dies when it next runs, which
    on a loaded machine can be a moment after `kill` returned."""
    deadline = time.monotonic() + 5
    while (alive := _alive_in_group(pgid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return alive


def _alive_in_group(pgid: int) -> list[int]:
    """Processes (not zombies) still in process group `pgid`."""
    alive = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_bytes()  # a comm may be any bytes, no UTF-8
        except OSError:
            continue
        fields = stat.rsplit(b")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] != b"Z":
            alive.append(int(entry.name))
    return alive


def _script(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


@pytest.mark.parametrize(("name", "text", "where", "entry"), [
    ("hosts.ini", "[web]\nweb[0:99999999]\n", "2", "web[0:99999999]"),
    ("hosts.yml", "web:\n  hosts:\n    web[0:99999999]:\n", "3:5", "web[0:99999999]"),
    ("inventory.toml", '[web.hosts."web[0:99999999]"]\n', "", "web[0:99999999]"),
    ("nested.ini", "h[0:999][0:999][0:999]\n", "1", "h[0:999][0:999][0:999]"),
])
def test_host_ranges_are_counted_before_they_are_expanded(tmp_path: Path, name: str, text: str,
                                                          where: str, entry: str) -> None:
    (tmp_path / name).write_text(text)
    started = time.monotonic()
    proc = _bounded_cli(["inventory", "-i", name, "--list"], tmp_path)
    count = "100,000,000" if entry.startswith("web") else "1,000,000,000"
    located = f"{tmp_path / name}:{where}" if where else str(tmp_path / name)
    _one_error(proc, f"{located}: host range {entry!r} yields {count} hosts, more than the "
                     "limit of 500,000")
    assert time.monotonic() - started < 30


def test_the_host_count_of_an_inventory_is_bounded(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory_data, "MAX_HOSTS", 1000)
    (tmp_path / "hosts.ini").write_text("[a]\na[1:600]\n[b]\nb[1:600]\n")
    res = run_cli(["inventory", "-i", "hosts.ini", "--list"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/hosts.ini:4: more than "
                                      "1,000 hosts (the limit)\n")


@pytest.mark.parametrize(("files", "args", "bomb"), [
    ({"inv.yml": "all:\n  vars:\n" + "".join(f"    {line}" for line in BOMB.splitlines(True))
      + "  hosts:\n    web1:\n"}, ["inventory", "-i", "inv.yml", "--list"], "inv.yml"),
    ({"hosts.ini": "web1\n", "group_vars/all.yml": BOMB},
     ["inventory", "-i", "hosts.ini", "--list"], "group_vars/all.yml"),
    ({"p.yml": "name: p\nhosts: all\nallow: []\n" + BOMB}, ["validate", "-p", "p.yml"], "p.yml"),
    ({"w.yml": "waivers: []\n" + BOMB}, ["validate", "-w", "w.yml"], "w.yml"),
], ids=["inventory", "group_vars", "policy", "waivers"])
def test_yaml_alias_bombs_are_refused(tmp_path: Path, files: dict[str, str], args: list[str],
                                      bomb: str) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    started = time.monotonic()
    proc = _bounded_cli(args, tmp_path)
    assert time.monotonic() - started < 60
    assert proc.returncode == 2, proc.stderr
    # the error names the first node whose expansion passes the budget: the `g` line
    lines = files[bomb].splitlines()
    line = next(n for n, text in enumerate(lines, 1) if text.lstrip().startswith("g: &g"))
    where = f"{bomb}:{line}:{lines[line - 1].index('&g') + 1}"
    pattern = (re.escape(where) + r": (error: )?YAML aliases expand this to more than 1,000,000 "
               r"nodes \(the limit for a document of \d+ nodes written\)")
    shown = proc.stderr if args[0] == "inventory" else proc.stdout
    assert re.search(pattern, shown), shown
    assert len(shown.splitlines()) == (1 if args[0] == "inventory" else 2)
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize("text", ["all:\n  vars:\n    loop: &l [1, *l]\n",
                                  "all:\n  vars:\n    loop: &l {self: *l}\n"])
def test_a_recursive_alias_is_refused(tmp_path: Path, text: str) -> None:
    (tmp_path / "inv.yml").write_text(text)
    res = run_cli(["inventory", "-i", "inv.yml", "--list"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/inv.yml:3:11: recursive "
                                      "YAML alias (a node that contains itself)\n")


def test_a_script_printing_forever_is_killed_with_its_children(tmp_path: Path) -> None:
    _script(tmp_path / "cmdb.sh", f'echo $$ > {tmp_path}/pid\nyes child >/dev/stdout &\n'
                                  'exec yes \'{"web": ["x",\'\n')
    started = time.monotonic()
    proc = _bounded_cli(["inventory", "-i", "cmdb.sh", "--list"], tmp_path)
    _one_error(proc, f"{tmp_path}/cmdb.sh: inventory script '--list' printed more than the "
                     "256 MiB limit (killed)")
    assert time.monotonic() - started < 60
    pgid = int((tmp_path / "pid").read_text())
    assert _gone(pgid) == []


def test_a_script_asked_host_by_host_is_bounded_in_all_it_prints(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # No _meta: asked --host for each host, it prints its whole inventory every time, as
    # careless scripts do (2,000 hosts took 0.8 GB, 100,000 all of a 23 GB machine); a
    # smaller bound stands in for the 256 MiB one, through the same code.
    monkeypatch.setattr(inventory_script, "MAX_INVENTORY_BYTES", 64 * 1024)
    hosts = ", ".join(f'"web{i:03}"' for i in range(600))
    document = f'{{"web": [{hosts}]}}'
    _script(tmp_path / "cmdb.sh", f"echo '{document}'\n")
    res = run_cli(["inventory", "-i", "cmdb.sh", "--list"], cwd=tmp_path)
    assert res.code == 2, res.err[-300:]
    last = 64 * 1024 // (len(document) + 1)  # --list, then --host web000, web001, ...
    assert res.err.splitlines()[-1] == (
        f"fleetcheck: error: {tmp_path}/cmdb.sh: what inventory script '--list' and its "
        f"'--host' runs printed together (at host 'web{last - 1:03}') is larger than the "
        "64 KiB limit")


def test_a_script_that_never_ends_is_killed_at_its_time_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inventory_script, "SCRIPT_TIMEOUT", 2.0)
    _script(tmp_path / "slow.sh", f"echo $$ > {tmp_path}/pid\nsleep 600 &\nexec sleep 600\n")
    started = time.monotonic()
    res = run_cli(["inventory", "-i", "slow.sh", "--list"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/slow.sh: inventory script "
                                      "'--list' ran longer than 2 s (killed)\n")
    assert time.monotonic() - started < 30
    assert _gone(int((tmp_path / "pid").read_text())) == []


def test_endless_stderr_keeps_only_its_end(tmp_path: Path) -> None:
    _script(tmp_path / "noisy.sh", "head -c 50000000 /dev/zero | tr '\\0' 'e' >&2\n"
                                   "echo >&2\necho 'the last line' >&2\nexit 3\n")
    proc = _bounded_cli(["inventory", "-i", "noisy.sh", "--list"], tmp_path)
    _one_error(proc, f"{tmp_path}/noisy.sh: inventory script '--list' exited 3: the last line")


@pytest.mark.parametrize("executable", [True, False])
def test_vault_password_input_is_bounded(tmp_path: Path, executable: bool) -> None:
    (tmp_path / "hosts.ini").write_text("web1\n")
    if executable:
        _script(tmp_path / "pw", "exec yes password\n")
        message = ("--vault-password-file: vault password script printed more than the "
                   "64 KiB limit (killed)")
    else:
        (tmp_path / "pw").write_text("x" * (100 * 1024))
        message = "--vault-password-file: vault password file is larger than the 64 KiB limit"
    proc = _bounded_cli(["inventory", "-i", "hosts.ini", "--vault-password-file", "pw",
                         "--list"], tmp_path)
    _one_error(proc, f"{tmp_path}/pw: {message}")


def test_oversized_files_are_refused_before_they_are_read(tmp_path: Path) -> None:
    cases = [
        (["inventory", "-i", "big.ini", "--list"], "big.ini", MAX_INVENTORY_BYTES,
         "{p}: inventory file is larger than the 256 MiB limit"),
        (["inventory", "-i", "hosts.ini", "--list-hosts", "--limit", "@big.txt"], "big.txt",
         MAX_LIST_BYTES, "{p}: limit file is larger than the 16 MiB limit"),
        (["validate", "-p", "big.yml"], "big.yml", MAX_YAML_BYTES,
         "big.yml: error: YAML file is larger than the 64 MiB limit"),
    ]
    (tmp_path / "hosts.ini").write_text("web1\n")
    for args, name, limit, message in cases:
        with (tmp_path / name).open("wb") as f:
            f.truncate(limit + 1)  # sparse: no disk, no time
        proc = _bounded_cli(args, tmp_path)
        assert proc.returncode == 2, proc.stderr
        text = message.format(p=tmp_path / name)
        assert text in proc.stderr + proc.stdout, (proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr


def test_a_device_without_end_is_read_only_to_the_limit(tmp_path: Path) -> None:
    proc = _bounded_cli(["inventory", "-i", "/dev/zero", "--list"], tmp_path)
    _one_error(proc, "/dev/zero: inventory file is larger than the 256 MiB limit")


def test_yaml_larger_than_its_limit_is_not_tried_as_ini(tmp_path: Path) -> None:
    (tmp_path / "hosts.yml").write_text("# " + "x" * MAX_YAML_BYTES + "\nweb1:\n")
    proc = _bounded_cli(["inventory", "-i", "hosts.yml", "--list"], tmp_path)
    _one_error(proc, f"{tmp_path}/hosts.yml: YAML document is larger than the 64 MiB limit")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("inv.json", f'{{"web": {{"hosts": {{"h1": {{"x": {LONG}}}}}}}}}',
     "{p}: invalid JSON: an integer too long to read"),
    ("inv.yml", f"web:\n  hosts:\n    h1:\n      x: {LONG}\n",
     "{p}:4:10: integer too long to read (5000 characters)"),
    ("inv.toml", f"[web.hosts.h1]\nx = {LONG}\n", "{p}: invalid TOML: an integer too long to read"),
    ("cmdb.sh", f"echo '{{\"web\": [\"h1\"], \"_meta\": {{\"hostvars\": {{\"h1\": {{\"x\": "
                f"{LONG}}}}}}}}}'\n",
     "{p} --list: output holds an integer too long to read"),
])
def test_integers_too_long_to_read_are_located_errors(tmp_path: Path, name: str, text: str,
                                                      message: str) -> None:
    if name.endswith(".sh"):
        _script(tmp_path / name, text)
    else:
        (tmp_path / name).write_text(text)
    res = run_cli(["inventory", "-i", name, "--list"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: "
                                      f"{message.format(p=tmp_path / name)}\n")


def test_long_integers_in_vars_files_and_policies(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("web1\n")
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "group_vars" / "all.yml").write_text(f"x: {LONG}\n")
    res = run_cli(["inventory", "-i", "hosts.ini", "--list"], cwd=tmp_path)
    assert res.err == (f"fleetcheck: error: {tmp_path}/group_vars/all.yml:1:4: integer too long "
                       "to read (5000 characters)\n")
    (tmp_path / "p.yml").write_text(f"name: p\nallow:\n  - id: x\n    port: {LONG}\n")
    res = run_cli(["validate", "-p", "p.yml"], cwd=tmp_path)
    assert res.code == 2
    assert res.out.splitlines()[0] == "p.yml:4:11: error: integer too long to read (5000 " \
                                      "characters)"


@pytest.mark.parametrize(("name", "text", "args"), [
    ("inv.json", "[" * 100_000 + "]" * 100_000, ["inventory", "-i", "inv.json", "--list"]),
    ("p.yml", "name: p\nallow: " + "[" * 100_000 + "]" * 100_000 + "\n", ["validate", "-p",
                                                                          "p.yml"]),
], ids=["json-inventory", "yaml-policy"])
def test_deep_nesting_is_a_located_error(tmp_path: Path, name: str, text: str,
                                         args: list[str]) -> None:
    (tmp_path / name).write_text(text)
    proc = _bounded_cli(args, tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "data nested too deeply" in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


def test_captured_outputs_and_saved_runs_are_bounded(tmp_path: Path) -> None:
    proc = _bounded_cli(["parse", "--tool", "ss", "/dev/zero"], tmp_path)
    _one_error(proc, "/dev/zero: captured output is larger than the 256 MiB limit")
    with (tmp_path / "run.json").open("wb") as f:
        f.truncate(MAX_RUN_BYTES + 1)
    for args in (["report", "run.json"], ["explain", "--run", "run.json", "web1", "22"]):
        proc = _bounded_cli(args, tmp_path)
        _one_error(proc, "run.json: run is larger than the 1024 MiB limit")
    deep = "[" * 100_000 + "]" * 100_000
    res = run_cli(["report", "-"], cwd=tmp_path, stdin=deep)
    assert (res.code, res.err) == (2, "fleetcheck: error: <stdin>: not a readable run: "
                                      "RecursionError\n")
