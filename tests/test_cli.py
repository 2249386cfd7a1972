"""The CLI in-process: usage and input errors exit 2 before anything is scanned or written."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from fleetcheck import __version__
from fleetcheck.model import RunResult
from fleetcheck.render import FORMATS, RenderOptions
from tests.conftest import REPO, run_cli


def _policy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "policy.yml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(("text", "where", "message"), [
    ("allow:\n  - id: a\n    prot: tcp\n", ":3:5:",
     "unknown key 'prot' in allow rule (did you mean 'proto'?)"),
    ("allow:\n  - id: a\n    port: 70000\n", ":3:11:", "port 70000 is out of range"),
    ("allow:\n  - id: a\n    port: 90-80\n", ":3:11:", "backwards"),
    ("allow:\n  - id: a\n    port: 1\n  - id: a\n    port: 2\n", ":4:5:", "duplicate rule id 'a'"),
    ("forbid:\n  - id: x\n    port: 1923\n    severity: severe\n", ":4:15:", "unknown severity"),
    ("allow:\n  - id: a\n    proto: tcpp\n", ":3:12:", "did you mean 'tcp'"),
    ("allow:\n  - id: a\n    address: loopbak\n", ":3:14:", "did you mean 'loopback'"),
    ("allow: [\n", ":2:1:", "invalid YAML"),
    ("defualt: deny\n", ":1:1:", "did you mean 'default'"),
])
def test_broken_policy_is_one_located_line_and_exit_2(tmp_path: Path, text: str, where: str,
                                                      message: str) -> None:
    policy = _policy(tmp_path, text)
    out = tmp_path / "reports"
    res = run_cli(["scan", "-p", str(policy), "-o", str(out)], cwd=tmp_path)
    assert res.code == 2
    lines = res.err.strip().splitlines()
    assert len(lines) == 1, res.err
    assert f"{policy}{where}" in lines[0]
    assert message in lines[0]
    assert res.out == ""
    assert not out.exists()  # no report claims anything


def test_validate_contacts_nothing_and_summarises(tmp_path: Path) -> None:
    res = run_cli(["validate"], cwd=tmp_path)
    assert res.code == 0
    assert res.out.startswith("ok: 1 host, 1 policy")


@pytest.mark.parametrize("argv", [["scan", "--format", "pdf"], ["scan", "--fail-on", "worst"],
                                  ["scan", "--forks", "0"], ["scan", "--bogus"], []])
def test_usage_errors_exit_2(tmp_path: Path, argv: list[str]) -> None:
    res = run_cli(argv, cwd=tmp_path)
    assert res.code == 2
    assert res.err
    assert not (tmp_path / "reports").exists()


def test_missing_policy_file(tmp_path: Path) -> None:
    res = run_cli(["scan", "-p", "nope.yml"], cwd=tmp_path)
    assert res.code == 2
    assert "nope.yml: policy file not found" in res.err


def test_scan_json_only_prints_the_run_and_round_trips(tmp_path: Path) -> None:
    res = run_cli(["scan", "--format", "json", "-o", str(tmp_path)], cwd=tmp_path)
    assert res.code in (0, 1, 3)
    data = json.loads(res.out)
    assert data["schema"] == "fleetcheck.run/3"
    run = RunResult.from_dict(data)
    assert RunResult.from_dict(json.loads(json.dumps(run.to_dict()))) == run
    (written,) = tmp_path.glob("fleetcheck-2*.json")
    assert json.loads(written.read_text()) == data
    assert data["inputs"]["policy"][0]["sha256"]
    assert data["summary"]["exit_code"] == res.code
    host = data["hosts"][0]
    assert host["name"] == "localhost" and host["collector"] in ("ss", "netstat", "proc")


def test_python_dash_m_and_version() -> None:
    out = subprocess.run([sys.executable, "-m", "fleetcheck", "--version"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"fleetcheck {__version__}"


def test_scan_stdout_is_the_summary_and_the_text_report_is_rendered_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = FORMATS["text"]

    def counted(run: RunResult, options: RenderOptions | None = None) -> str:
        calls.append(options.width if options else 0)
        return real.render(run, options)

    monkeypatch.setitem(FORMATS, "text", dataclasses.replace(real, render=counted))
    # Terminal or not, stdout is the summary; the full text report is its file.
    res = run_cli(["scan", "-o", str(tmp_path / "a")], cwd=tmp_path)
    assert res.code in (0, 1, 3)
    (text,) = (tmp_path / "a").glob("fleetcheck-2*.txt")
    first = res.out.splitlines()[0]
    assert first == text.read_text().splitlines()[1]  # the same verdict line
    assert "HOSTS (" not in res.out and "--- localhost" not in res.out  # no host sections
    tail = res.out.splitlines()[-5:]
    assert tail[0] == "Reports:" and f"  {text.relative_to(tmp_path)}" in tail  # paths last
    assert len(calls) == 1
    # -o - prints the one format asked for, laid out for the terminal, and writes no file.
    narrow = run_cli(["scan", "--format", "text", "-o", "-"], cwd=tmp_path / "a",
                     environ={"COLUMNS": "72"})
    assert narrow.code == res.code
    assert len(calls) == 2 and calls[-1] == 72
    assert "--- localhost" in narrow.out
    assert max(map(len, narrow.out.splitlines())) <= 72
    assert len(list((tmp_path / "a").glob("fleetcheck-2*"))) == 4  # nothing more written
    # -q: the verdict line alone.
    quiet = run_cli(["scan", "-q", "-o", str(tmp_path / "q")], cwd=tmp_path)
    assert quiet.out.splitlines() == [first]


def test_dash_o_takes_exactly_one_format(tmp_path: Path) -> None:
    res = run_cli(["scan", "-o", "-"], cwd=tmp_path)
    assert res.code == 2 and "exactly one" in res.err


def test_a_scan_loads_no_library_it_does_not_use(tmp_path: Path) -> None:
    """A scan with every report, without an ansible.cfg or a memory limit, loads neither
    configparser (ansible.cfg), ctypes (malloc arenas) nor uuid (OSCAL ids are hashed
    here), nor the parsers of systems it did not meet: each costs every run's start a few
    milliseconds."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONPATH": str(REPO),
           "LANG": "C.UTF-8"}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "fleetcheck", "scan", "-q",
                           "--format", "all", "-o", str(tmp_path / "r"), "--no-history"],
                          capture_output=True, text=True, check=False, cwd=tmp_path, env=env)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    loaded = {line.rpartition("|")[2].strip() for line in proc.stderr.splitlines()
              if line.startswith("import time:")}
    assert "fleetcheck.evidence.oscal_host" in loaded and "jinja2" in loaded  # it did report
    unused = {"ctypes", "uuid"} | (set() if Path("/etc/ansible/ansible.cfg").exists()
                                   else {"configparser"})
    assert not unused & loaded, unused & loaded
    # This host is Linux: the other systems' dialects, and `parse`'s guesser, stay unloaded.
    others = {f"fleetcheck.parsers.{name}" for name in (
        "bsd_netstat", "bsd_listen", "sockstat", "lsof_fields", "solaris_netstat",
        "windows_netstat", "powershell", "guessing")}
    assert "fleetcheck.parsers.ss" in loaded and not others & loaded, others & loaded


def test_a_command_loads_only_its_own_module() -> None:
    """`scan` parses without loading the other commands (evidence's bundle code, diff,
    history...); the top-level help still lists every command with its help."""
    code = ("import sys; from fleetcheck.cli.main import parse_arguments; "
            "parse_arguments(['scan', '-i', 'box,']); "
            "print(*sorted(m for m in sys.modules if m.startswith('fleetcheck.cli.') "
            "and m.endswith('_cmd')), 'fleetcheck.evidence.bundle' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=REPO).stdout.split()
    assert out[-1] == "False" and "fleetcheck.cli.scan_cmd" in out, out
    others = {f"fleetcheck.cli.{name}_cmd" for name in (
        "validate", "explain", "parse", "report", "inventory", "verify", "merge", "diff",
        "history", "completion", "manpage")}
    assert not others & set(out), out
    for asked in ("--version", "--vers"):  # the version needs no command's options either
        code = (f"import sys; from fleetcheck.cli.main import main; status = main([{asked!r}]); "
                "print(status, *sorted(m for m in sys.modules if m.endswith('_cmd')))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, cwd=REPO).stdout.split()
        assert out[:2] == ["fleetcheck", __version__] and out[2:] == ["0"], out
    top = subprocess.run([sys.executable, "-m", "fleetcheck", "--help"], capture_output=True,
                         text=True, check=True, cwd=REPO).stdout
    for name, words in (("evidence", "pack a saved run"), ("diff", "what changed"),
                        ("scan", "check hosts")):
        assert any(line.split()[:1] == [name] and words in line
                   for line in top.splitlines()), (name, top)


# Numbers argparse's int and float read but nothing can use: NaN and infinity (every
# comparison with them fails, so a host "timed out" at once), and sizes past the OS's
# timers or the calendar (an internal error once the scan was done).
@pytest.mark.parametrize("argv", [
    ["scan", "--list-hosts", "--command-timeout", "nan"],
    ["scan", "--list-hosts", "--deadline", "inf"],
    ["scan", "--list-hosts", "-T", "1e999"],
    ["scan", "--list-hosts", "--history-timeout", "-inf"],
    ["scan", "--list-hosts", "--history-keep-days", "99999999999999999999"],
    ["scan", "--list-hosts", "-f", "99999999999999999999"],
    ["merge", "run.json", "--history-timeout", "nan"],
    ["history", "--last", "99999999999999999999"],
    ["history", "prune", "--keep-days", "1e3"],
    ["worker", "--visibility-timeout", "nan"],
    # only plain ASCII numbers, as everywhere (fleetcheck/numbers.py): int() and float()
    # would read other scripts' digits, blanks around and '_' between digits, exponents
    ["scan", "--list-hosts", "-f", "\u0663"],
    ["scan", "--list-hosts", "-f", " 5"],
    ["scan", "--list-hosts", "--retries", "1_0"],
    ["scan", "--list-hosts", "-T", "\u0661\u0660"],
    ["scan", "--list-hosts", "--command-timeout", "1e3"],
])
def test_unusable_numbers_are_usage_errors(tmp_path: Path, argv: list[str]) -> None:
    res = run_cli(argv, cwd=tmp_path)
    assert res.code == 2
    assert res.err.startswith("fleetcheck: error: argument ") and argv[-2] in res.err
    assert res.err.count("\n") == 1


@pytest.mark.parametrize("last", ["0", "-3"])
def test_history_last_counts_at_least_one_run(tmp_path: Path, last: str) -> None:
    assert run_cli(["scan", "-c", "local", "-o", "r", "-q"], cwd=tmp_path).code in (0, 1)
    res = run_cli(["history", "-o", "r", "--last", last], cwd=tmp_path)
    assert (res.code, res.err) == (2, "fleetcheck: error: --last must be at least 1\n")


def test_a_timeout_from_a_config_file_is_bounded_too(tmp_path: Path) -> None:
    (tmp_path / "fleetcheck.yml").write_text("command_timeout: 99999999999\n")
    res = run_cli(["scan", "-c", "local", "-o", "r"], cwd=tmp_path)
    assert (res.code, res.err) == (
        2, "fleetcheck: error: --command-timeout must be at most 1000000 seconds\n")


LONG = "x" * 300  # past NAME_MAX: every stat() of it fails, not only open()


@pytest.mark.parametrize("argv", [
    ["validate", "-p", LONG], ["scan", "--list-hosts", "-i", LONG],
    ["history", "--history-db", LONG], ["report", f"{LONG}/run.json"],
    ["scan", "-c", "local", "-F", LONG, "-o", "r"], ["config"],
])
def test_a_file_name_too_long_is_bad_input(tmp_path: Path, argv: list[str]) -> None:
    (tmp_path / "fleetcheck.yml").write_text(f"waivers: [{LONG}]\n")
    res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
    if argv == ["config"]:  # only reads the setting
        assert res.code == 0
        return
    assert res.code == 2, res.err
    assert res.err.count("\n") == 1 and LONG in res.err and "Traceback" not in res.err


@pytest.mark.parametrize("argv", [
    ["evidence", "run.json", "-o", "e.zip", "-o", "\x00"], ["manpage", "-o", "a\x00b"],
    ["report", "run.json", "--format", "text", "-o", "\x00"], ["validate", "-p", "\x00"],
])
def test_a_nul_in_an_argument_is_bad_input(tmp_path: Path, argv: list[str]) -> None:
    """No real command line carries a NUL; an in-process caller can (a fuzz seed did):
    exit 2 naming the argument, not an internal error."""
    res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
    n = next(i for i, word in enumerate(argv, 1) if "\x00" in word)
    assert (res.code, res.out) == (2, "")
    assert res.err == (f"fleetcheck: error: argument {n} ({argv[n - 1]!r}) holds a NUL byte, "
                       "which no command line can pass\n")


def test_a_nul_in_a_configured_path_is_bad_input(tmp_path: Path) -> None:
    """The OS refuses it where the path is used, in words that differ by Python version
    ('embedded null byte' before 3.13): either way exit 2, one line, no traceback."""
    (tmp_path / "fleetcheck.yml").write_text('output_dir: "a\\0b"\n')
    res = run_cli(["scan", "-c", "local", "--format", "text"], cwd=tmp_path,
                  environ={"HOME": str(tmp_path)})
    assert (res.code, res.err) == (2, "fleetcheck: error: a file name holds a NUL byte, "
                                      "which no file name can\n")


def test_a_nul_in_an_ssh_config_port_is_a_located_error(tmp_path: Path) -> None:
    # A service name is looked up by the C library, which refuses a NUL with a ValueError;
    # ssh reads a line as a C string, up to the NUL: 'b:w' is what it refuses, and so do we.
    (tmp_path / "ssh_config").write_bytes(b"Host a\n  ProxyJump b:w\x00\n")
    res = run_cli(["scan", "-c", "local", "-F", "ssh_config", "-o", "r"], cwd=tmp_path)
    assert (res.code, res.out) == (2, "")
    assert res.err == f"fleetcheck: error: {tmp_path}/ssh_config:2: invalid ProxyJump 'b:w'\n"


def test_a_bad_fail_on_names_the_option(tmp_path: Path) -> None:
    res = run_cli(["scan", "--list-hosts", "--fail-on", " "], cwd=tmp_path)
    assert (res.code, res.err) == (2, "fleetcheck: error: --fail-on: unknown severity ' ' "
                                      "(expected one of info, low, medium, high, critical)\n")


def test_a_tilde_naming_no_user_stays_as_written(tmp_path: Path) -> None:
    # Path.expanduser raised for '~nosuchuser'; a shell leaves the word as it is.
    res = run_cli(["inventory", "--list", "-i", "~nosuchuser-x/hosts"], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {tmp_path}/~nosuchuser-x/hosts: "
                                      "inventory source not found\n")


@pytest.mark.parametrize(("option", "message"), [
    (["-F", "~"], "-F: ssh config file is a directory"),
    (["-F", "~/gone"], "-F: ssh config file not found"),
    (["--known-hosts", "~/gone"], "--known-hosts: known_hosts file not found (with "
                                   "--host-key-checking accept-new it would be created)"),
    (["--vault-password-file", "~"], "--vault-password-file: vault password file is a "
                                      "directory"),
    (["-e", "@~"], "-e #1: cannot read file: Is a directory"),
    (["-e", "a=1", "-e", "@~/gone"], "-e #2: cannot read file: No such file or directory"),
    (["--private-key", "~/gone"], "--private-key: key file not found"),
])
def test_a_path_option_error_names_the_option(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               option: list[str], message: str) -> None:
    # `~` is expanded before the file is looked at: the path alone would not say which
    # argument wrote it
    monkeypatch.setenv("HOME", str(tmp_path))  # what `~` stands for
    res = run_cli(["scan", "-c", "local", "--list-hosts", *option], cwd=tmp_path,
                  environ={"HOME": str(tmp_path)})
    shown = str(tmp_path / option[-1].lstrip("@").removeprefix("~").lstrip("/")).rstrip("/")
    assert (res.code, res.out, res.err) == (2, "", f"fleetcheck: error: {shown}: {message}\n")


def test_workers_and_the_threads_engine_are_not_both_obeyed(tmp_path: Path) -> None:
    """`--engine threads --workers 3` asks for one process and for three: bad input, never a
    run that quietly took one of them (`--workers 1` is one process, and fits)."""
    base = ["scan", "-c", "local", "--engine", "threads", "-o", "r", "-q"]
    res = run_cli([*base, "--workers", "3"], cwd=tmp_path)
    assert (res.code, res.err) == (2, "fleetcheck: error: --workers 3 starts worker processes, "
                                      "which --engine threads rules out: give one or the other\n")
    assert not (tmp_path / "r").exists()
    assert run_cli([*base, "--workers", "1"], cwd=tmp_path).code in (0, 1)


@pytest.mark.parametrize(("argv", "error"), [
    (["--evidence", "b.zip"], "b.zip: --evidence: a file of that name exists"),
    (["--evidence", "-"], "--evidence -: the bundle is a zip file"),  # never a file '-'
    (["--baseline", "gone.json"], "gone.json: cannot read run"),
    (["--fail-on-new", "--no-history"], "--baseline latest compares with the history"),
])
def test_bad_input_is_said_before_any_prompt(tmp_path: Path, argv: list[str],
                                             error: str) -> None:
    """Outputs and baselines are checked before -k asks for a password (and before the
    report directory is made): nobody types a secret into a run that then stops."""
    (tmp_path / "b.zip").write_bytes(b"kept")
    res = run_cli(["scan", "-c", "local", "-k", "-o", "out", *argv], cwd=tmp_path,
                  stdin="typed\n")
    assert res.code == 2 and error in res.err, res.err
    assert "SSH password" not in res.err and not (tmp_path / "out").exists()
    assert (tmp_path / "b.zip").read_bytes() == b"kept" and not (tmp_path / "-").exists()


def test_evidence_o_dash_is_refused_not_a_file_named_dash(tmp_path: Path) -> None:
    saved = tmp_path / "run.json"
    res = run_cli(["scan", "--no-history", "--format", "json", "-o", "-"], cwd=tmp_path)
    saved.write_text(res.out)
    bad = run_cli(["evidence", str(saved), "-o", "-"], cwd=tmp_path)
    assert bad.code == 2 and "-o -: the bundle is a zip file" in bad.err, bad.err
    assert not (tmp_path / "-").exists() and bad.out == ""
