"""The client environment's faults the hunt found, made real without a lab: closed or full
standard streams, a removed working directory, an output encoding without the characters,
no thread to be had (a real address-space limit). Each runs `python -m fleetcheck` as a
real process (tests/envhunt/hunt.py found them; test_hunt.py replays them against a lab)."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from fleetcheck.cli.env import JSON_ESCAPES
from fleetcheck.errors import ErrorKind, HostFailure, exhausted
from tests.conftest import REPO
from tests.lab.prereq import require

INVENTORY = "[web]\nweb1 ansible_host=192.0.2.10\nweb2 ansible_host=192.0.2.11\n"


def _shell(script: str, tmp: Path, **extra: str) -> tuple[int, str, str]:
    """Run `script` in bash (FC: the fleetcheck command); fleetcheck's status is printed
    last on fd 3, its stderr (unless the script redirects it) goes to a file."""
    fc = f"{sys.executable} -m fleetcheck"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
           "HOME": str(tmp), "LANG": "C.UTF-8", **extra}
    body = f"{script.replace('FC', fc)}\necho $? >&3"
    proc = subprocess.run(["bash", "-c", f"exec 3>{tmp}/status\n{body}"], cwd=tmp, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    return int((tmp / "status").read_text()), proc.stdout, proc.stderr


def _inventory(tmp: Path) -> Path:
    path = tmp / "hosts.ini"
    path.write_text(INVENTORY)
    return path


def test_a_closed_stdout_is_a_lost_output_not_a_crash(tmp_path: Path) -> None:
    inv = _inventory(tmp_path)
    status, _, err = _shell(f"FC inventory -i {inv} --list >&-", tmp_path)
    assert status == 4, err
    assert err.splitlines() == ["fleetcheck: error: standard output: Bad file descriptor"]


def test_every_stream_closed_leaves_the_files_to_their_owners(tmp_path: Path) -> None:
    """With 0, 1 and 2 closed, the report files opened later took their numbers: what was
    printed went into them. Now they are whole, and the status is the verdict's (4: the
    clean verdict's summary could not be written)."""
    run = tmp_path / "run.json"
    composite = REPO / "tests" / "render" / "golden" / "composite.json"
    run.write_bytes(composite.read_bytes())
    status, _, _ = _shell(f"FC report {run} --format json,text -o {tmp_path}/out <&- >&- 2>&-",
                          tmp_path)
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert status in (0, 4)
    assert [n.rsplit(".", 1)[1] for n in written if "latest" not in n] == ["json", "txt"]
    report = next((tmp_path / "out").glob("fleetcheck-2*.json"))
    assert json.loads(report.read_text())["schema"].startswith("fleetcheck.run/")


def test_output_to_a_full_device_is_exit_4_for_every_command(tmp_path: Path) -> None:
    inv = _inventory(tmp_path)
    for command in (f"inventory -i {inv} --list", f"validate -i {inv}"):
        status, _, err = _shell(f"FC {command} >/dev/full", tmp_path)
        assert status == 4, (command, err)
        assert err.rstrip().endswith("standard output: No space left on device"), err
    status, _, err = _shell(f"FC inventory -i {inv} --list | true", tmp_path)
    assert status == 0, err  # a reader that went away (| head) is not a loss
    lost = ["fleetcheck: error: standard output: No space left on device"]
    run = REPO / "tests" / "render" / "golden" / "composite.json"
    status, _, err = _shell(f"FC report {run} >/dev/full", tmp_path)  # was 4 saying nothing
    assert (status, err.splitlines()) == (4, lost)
    # A verdict other than 0 stays, and the lost output is named all the same (was silent).
    assert _shell(f"FC scan -o {tmp_path}/out --evidence {tmp_path}/b.zip -q",
                  tmp_path)[0] in (0, 1, 3)  # this machine, as it is
    status, _, err = _shell(f"FC verify {tmp_path}/b.zip >/dev/full", tmp_path)
    assert (status, err.splitlines()) == (3, lost)


def test_a_removed_working_directory(tmp_path: Path) -> None:
    """Absolute paths work as anywhere; a relative one is one line and exit 2."""
    inv = _inventory(tmp_path)
    gone = f"mkdir {tmp_path}/gone && cd {tmp_path}/gone && rmdir {tmp_path}/gone && "
    status, out, err = _shell(gone + f"FC inventory -i {inv} --list", tmp_path)
    assert status == 0, err
    assert set(json.loads(out)["web"]["hosts"]) == {"web1", "web2"}
    status, out, err = _shell(gone + "FC inventory -i hosts.ini --list", tmp_path)
    assert status == 2
    assert err.splitlines() == ["fleetcheck: error: hosts.ini: a relative path, but the "
                                "working directory no longer exists (it was removed, or "
                                "cannot be read)"]


def test_an_ascii_only_output_shows_escapes(tmp_path: Path) -> None:
    run = REPO / "tests" / "render" / "golden" / "composite.json"
    clean = _shell(f"FC report {run}", tmp_path)
    status, out, err = _shell(f"FC report {run}", tmp_path, PYTHONIOENCODING="ascii")
    assert (status, err) == (clean[0], clean[2])
    assert "\u00b7" in clean[1]  # the text report's separators are not ASCII
    assert out == clean[1].encode("ascii", JSON_ESCAPES).decode("ascii")
    assert "\\u00b7" in out


def test_json_on_an_ascii_stdout_stays_json_with_the_same_data(tmp_path: Path) -> None:
    # Python's escapes (`\xe9`, `\U0001f525`) made `inventory --list` print no JSON at all;
    # a data document on a pipe is now the UTF-8 a file holds (tests/outputs/test_data_encoding.py).
    inv = tmp_path / "inv.ini"
    inv.write_text("[web]\nw\u00e9b1 note='caf\u00e9 \u2014 \U0001f525 \\\\x'\n", "utf-8")
    for argv in (f"FC inventory -i {inv} --list", f"FC inventory -i {inv} --host w\u00e9b1",
                 f"FC validate -i {inv} --format json"):
        clean = _shell(argv, tmp_path)
        status, out, err = _shell(argv, tmp_path, PYTHONIOENCODING="ascii")
        assert (status, err) == (clean[0], clean[2])
        assert out == clean[1] and json.loads(out), out


# A real address-space limit so low that no worker thread (8 MiB of stack each) can start.
_NO_THREADS = textwrap.dedent("""
    import resource, threading
    from fleetcheck.engine.runner import run_all
    threading.stack_size(64 << 20)
    with open("/proc/self/statm") as f:
        size = int(f.read().split()[0]) * resource.getpagesize()
    resource.setrlimit(resource.RLIMIT_AS, (size + (32 << 20),) * 2)
    out = run_all(list(range(7)), lambda i: f"ok {i}", lambda i, e: f"failed {i}: {e}",
                  forks=4)
    print(out.complete, *out.results, sep="\\n")
""")


def _drain(fd: int) -> None:
    with contextlib.suppress(OSError):  # EIO once the last writer is gone
        while os.read(fd, 65536):
            pass


def test_a_terminal_of_no_width_is_not_a_crash(tmp_path: Path) -> None:
    # A pty nobody sized (`script`, a serial line, some CI runners) says 0 columns: `diff`
    # and `history` wrapped their text to width 0, a traceback (exit 70).
    run = REPO / "tests" / "render" / "golden" / "composite.json"
    primary, secondary = os.openpty()  # a fresh pty has no size: 0 rows, 0 columns
    drain = threading.Thread(target=_drain, args=(primary,), daemon=True)
    drain.start()  # a pty holds little: read what is printed, or the printer waits
    try:
        assert os.get_terminal_size(secondary).columns == 0
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(REPO),
               "HOME": str(tmp_path), "LANG": "C.UTF-8", "TERM": "dumb"}
        for argv in (["diff", str(run), str(run)], ["report", str(run), "--format", "text"]):
            proc = subprocess.run([sys.executable, "-m", "fleetcheck", *argv], cwd=tmp_path,
                                  env=env, stdout=secondary, stderr=subprocess.PIPE,
                                  stdin=subprocess.DEVNULL, timeout=120, check=False)
            assert proc.returncode in (0, 1) and not proc.stderr, (argv, proc.stderr[-800:])
    finally:
        os.close(secondary)
        drain.join(10)
        os.close(primary)


def test_no_thread_to_be_had_fails_each_item_instead_of_the_run(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _NO_THREADS], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == ["True", *(f"failed {i}: can't start new thread" for i in range(7))]


@pytest.mark.lab
def test_no_home_at_all_is_one_line(tmp_path: Path) -> None:
    """HOME unset and no password entry (a container's random uid): ssh's files have
    nowhere to be. It was a traceback (pathlib cannot expand ~); now exit 2, one line,
    before any host is contacted. A private mount namespace hides root's entry (and
    nss-systemd, which makes one up)."""
    require(os.geteuid() == 0, "root (to bind-mount a password file in a mount namespace)")
    (tmp_path / "passwd").write_text("".join(
        line for line in Path("/etc/passwd").read_text().splitlines(keepends=True)
        if not line.startswith("root:")))
    (tmp_path / "nsswitch.conf").write_text("passwd: files\ngroup: files\n")
    script = (f"mount --bind {tmp_path}/passwd /etc/passwd && "
              f"mount --bind {tmp_path}/nsswitch.conf /etc/nsswitch.conf && "
              f"exec env -u HOME {sys.executable} -m fleetcheck scan -i 192.0.2.1, "
              f"-o {tmp_path}/out")
    proc = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False,
                          env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
                               "PYTHONPATH": str(REPO), "PYTHONDONTWRITEBYTECODE": "1"})
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines() == [
        "fleetcheck: error: no home directory: HOME is not set and user id 0 has no entry "
        "in the password database; set HOME"]


def test_what_ran_out_is_named_through_the_failures_raised_from_it() -> None:
    """The kinds `local_resources` names: a failure raised while handling one (a command's
    connection lost to EMFILE, said as command_failed) is still the machine's limit."""
    def lost_mid_command() -> HostFailure:
        try:
            raise OSError(errno.EMFILE, "Too many open files")
        except OSError:
            try:
                raise HostFailure(ErrorKind.COMMAND_FAILED, "connection failed") from None
            except HostFailure as failure:
                return failure

    assert exhausted(RuntimeError("can't start new thread")) == "threads"
    assert exhausted(lost_mid_command()) == "open files"
    assert exhausted(MemoryError()) == "memory"
    assert exhausted(ImportError("x.so: failed to map segment from shared object")) == "memory"
    assert exhausted(OSError(errno.ECONNREFUSED, "refused")) is None
    assert exhausted(RuntimeError("other")) is None


def test_a_fifo_nobody_writes_is_read_as_empty_not_waited_on(tmp_path: Path) -> None:
    """ANSIBLE_CONFIG, ~/.ssh/config and ~/.ssh/known_hosts as FIFOs without a writer hung
    the start for ever (open() waits for a writer); now they read as empty. A pipe being
    written (`-i <(...)`) reads as before. The one host is 127.0.0.1 on a closed port."""
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    for fifo in (tmp_path / "ansible.cfg", home / ".ssh" / "config",
                 home / ".ssh" / "known_hosts"):
        os.mkfifo(fifo)
    status, out, err = _shell("FC validate -i <(printf '[web]\\nweb1\\n')", tmp_path,
                              ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"), HOME=str(home))
    assert (status, out) == (0, "ok: 1 host, 1 policy, 4 rules, 0 waivers\n"), err
    status, out, err = _shell("FC scan -i h1, -e ansible_host=127.0.0.1 -e ansible_port=1 "
                              "--retries 0 -o out -q", tmp_path, HOME=str(home))
    assert status == 3, err
    assert out.startswith("NOT VERIFIED"), out
