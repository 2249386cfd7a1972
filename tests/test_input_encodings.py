"""Input files in other encodings and kinds: every reader refuses a Latin-1 byte or a
UTF-16 file at file:line (exit 2, before any host), takes any byte in a comment where
OpenSSH does, and reads a FIFO nobody writes as empty instead of waiting for ever."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from fleetcheck.errors import InputError
from fleetcheck.evidence import signers
from fleetcheck.transport.ssh.config import SshConfig
from tests.conftest import CliResult, run_cli, run_files

POLICY = b"name: pol\nhosts: all\ndefault: deny\nallow:\n  - id: ssh\n    port: 22\n" \
    b"    reason: VAL\n"
WAIVERS = b"waivers:\n  - id: W-1\n    hosts: all\n    port: 8080\n    reason: VAL\n" \
    b"    owner: alice\n    approved_by: bob\n    created: 2026-01-15\n    expires: 2036-12-31\n"
SSH_CONFIG = b"# cfg\nHost web1\n    User VAL\n    Port 2222\n"


@pytest.fixture(scope="module")
def saved_run(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A real run of this machine (local connection), as `report` and `history` read it."""
    where = tmp_path_factory.mktemp("run")
    res = run_cli(["scan", "-c", "local", "-o", "out", "--format", "json", "-q", "--no-history"],
                  cwd=where, environ={"HOME": str(where)})
    assert res.code in (0, 1), res.err
    return run_files(where / "out")[0].read_bytes()


# One reader of each kind: (file name, its text with VAL on line `line`, argv, line).
READERS: dict[str, tuple[str, bytes, list[str], int]] = {
    "fleetcheck.yml": ("fleetcheck.yml", b"output_dir: VAL\n", ["config"], 1),
    "policy": ("pol.yml", POLICY, ["validate", "-i", "web1,", "-p", "pol.yml"], 7),
    "waivers": ("w.yml", WAIVERS, ["validate", "-i", "web1,", "-w", "w.yml"], 5),
    "extra vars": ("ev.yml", b"a: 1\nnote: VAL\n",
                   ["inventory", "-i", "web1,", "--list", "-e", "@ev.yml"], 2),
    "group_vars": ("inv/group_vars/web.yml", b"owner: VAL\n", ["inventory", "-i", "inv", "--list"],
                   1),
    "INI inventory": ("inv/hosts.ini", b"[web]\nweb1 note=VAL\n",
                      ["inventory", "-i", "inv", "--list"], 2),
    "limit file": ("lim.txt", b"web1\nVAL\n",
                   ["inventory", "-i", "inv", "--list-hosts", "-l", "@lim.txt"], 2),
    "ssh_config": ("ssh_config", SSH_CONFIG,
                   ["scan", "-c", "local", "-F", "ssh_config", "--list-hosts"], 3),
}


def _workspace(ws: Path, name: str, data: bytes) -> None:
    (ws / "inv").mkdir()
    if not name.startswith("inv/hosts"):
        (ws / "inv" / "hosts.ini").write_bytes(b"[web]\nweb1\n")
    target = ws / name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def _error_lines(res: CliResult) -> list[str]:
    return [line for line in (res.err + res.out).splitlines() if "error:" in line]


@pytest.mark.parametrize("kind", sorted(READERS))
def test_reader_takes_the_file_in_utf8_with_crlf_and_a_bom(tmp_path: Path, kind: str) -> None:
    name, text, argv, _ = READERS[kind]
    data = b"\xef\xbb\xbf" + text.replace(b"VAL", b"caf\xc3\xa9").replace(b"\n", b"\r\n")
    if kind in ("ssh_config", "INI inventory"):  # CRLF only: ssh refuses a BOM (see below);
        data = data[3:]  # ansible-core reads it as part of the first INI line (so do we)
    _workspace(tmp_path, name, data)
    res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 0, (res.out, res.err)


@pytest.mark.parametrize("form", ["latin1", "utf16"])
@pytest.mark.parametrize("kind", sorted(READERS))
def test_reader_refuses_other_encodings_at_file_and_line(tmp_path: Path, kind: str,
                                                          form: str) -> None:
    # Before, fleetcheck.yml, policies, waivers, limit files and ssh_config said "cannot read
    # file: UnicodeDecodeError: 'utf-8' codec can't decode byte 0xe9 in position 46" (no line).
    name, text, argv, line = READERS[kind]
    data = text.replace(b"VAL", b"caf\xe9")
    if form == "utf16":
        data, line = text.replace(b"VAL", b"cafe").decode().encode("utf-16"), 1
    _workspace(tmp_path, name, data)
    res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 2, (res.out, res.err)
    errors = _error_lines(res)
    assert len(errors) == 1, errors
    assert f"{Path(name).name}:{line}:" in errors[0], errors
    assert ("UTF-16" if form == "utf16" else "not UTF-8 text (byte 0xE9") in errors[0], errors
    assert "codec" not in errors[0], errors


@pytest.mark.parametrize("form", ["latin1", "utf16"])
def test_run_readers_refuse_other_encodings_at_file_and_line(tmp_path: Path, saved_run: bytes,
                                                             form: str) -> None:
    data = saved_run.replace(b'"schema"', b'"sch\xe9ma"', 1) if form == "latin1" \
        else saved_run.decode().encode("utf-16")
    (tmp_path / "run.json").write_bytes(data)
    for argv in (["report", "run.json", "--format", "text", "-o", "-"],
                 ["diff", "run.json", "run.json"],
                 ["history", "--history-db", "h.sqlite3", "import", "run.json"]):
        res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
        assert res.code == 2, (argv, res.err)
        assert res.err.startswith(f"fleetcheck: error: run.json:{2 if form == 'latin1' else 1}: "
                                  ), (argv, res.err)
        assert "codec" not in res.err


def test_non_utf8_bytes_in_comments_are_read_as_openssh_reads_them(tmp_path: Path) -> None:
    # ssh and ssh-keygen take any byte in a comment; a Latin-1 comment once refused the file.
    cfg = tmp_path / "ssh_config"
    cfg.write_bytes(b"# r\xe9seau interne\nHost web1\n    User ops  \n  # \xff\xfe\n")
    assert SshConfig.given(cfg, include_base=tmp_path).lookup("web1")["user"] == "ops"
    hosts = tmp_path / "hosts.ini"  # ansible-core strips a line before it looks for '#', ';'
    hosts.write_bytes(b"[web]\n  # caf\xe9\nweb1\n\t; \xff\n")
    res = run_cli(["inventory", "-i", str(hosts), "--list-hosts"], cwd=tmp_path,
                  environ={"HOME": str(tmp_path)})
    assert (res.code, res.out) == (0, "web1\n"), res.err
    allowed = tmp_path / "allowed_signers"
    allowed.write_bytes(b"# cl\xe9s\nops@example.net ssh-ed25519 "
                        b"AAAAC3NzaC1lZDI1NTE5AAAAIIAUooL52IdzF1jVN0nszyPIy6muEbEv1wWov2FzRP9Q\n")
    (signer,) = signers.load(allowed)
    assert signer.line == 2
    allowed.write_bytes(b"ops@example.net ssh-ed25519 AAAA caf\xe9\n")  # not in a comment
    with pytest.raises(InputError, match="not UTF-8") as caught:
        signers.load(allowed)
    assert caught.value.line == 1


def test_ssh_config_with_a_byte_order_mark_is_refused_as_ssh_refuses_it(tmp_path: Path) -> None:
    # Before, the BOM made "\ufeffHost web1" an unknown keyword, skipped: the block's
    # options then applied to every host. ssh refuses the file ("Bad configuration option").
    cfg = tmp_path / "ssh_config"
    cfg.write_bytes(b"\xef\xbb\xbfHost web1\n    User bob\n")
    with pytest.raises(InputError, match="byte order mark") as caught:
        SshConfig.given(cfg, include_base=tmp_path)
    assert (caught.value.path, caught.value.line) == (str(cfg), 1)
    ssh = shutil.which("ssh")
    assert ssh is not None, "the OpenSSH client is a test prerequisite"
    probe = subprocess.run([ssh, "-G", "-F", str(cfg), "web2"], capture_output=True, check=False)
    assert probe.returncode == 255 and b"Bad configuration option" in probe.stderr
    cfg.write_bytes(b"Host web1\n    Us\xc3\xa9r bob\n")  # no ssh keyword has such a letter
    with pytest.raises(InputError, match="Bad configuration option") as caught:
        SshConfig.given(cfg, include_base=tmp_path)
    assert caught.value.line == 2


@pytest.fixture
def deadline() -> Iterator[None]:
    """Fail, rather than hang the suite, when a command waits for a FIFO's writer."""
    def expired(signum: int, frame: object) -> None:
        raise TimeoutError("waited for a FIFO nobody writes")
    previous: Callable[..., object] | int | None = signal.signal(signal.SIGALRM, expired)
    signal.alarm(30)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.usefixtures("deadline")
def test_key_signers_and_run_fifos_nobody_writes_do_not_hang(tmp_path: Path,
                                                             saved_run: bytes) -> None:
    # Before, `--sign`, `--allowed-signers` and `history import` opened these with a
    # blocking read: a FIFO nobody wrote (a `<(...)` already read) hung the command.
    (tmp_path / "run.json").write_bytes(saved_run)
    os.mkfifo(tmp_path / "fifo")
    env = {"HOME": str(tmp_path)}
    res = run_cli(["evidence", "run.json", "-o", "e.zip", "--sign", "fifo"], cwd=tmp_path,
                  environ=env)
    assert res.code == 2 and "fifo: not a usable SSH private or public key" in res.err, res.err
    res = run_cli(["history", "--history-db", "h.sqlite3", "import", "fifo"], cwd=tmp_path,
                  environ=env)
    assert res.code == 2 and res.err.startswith("fleetcheck: error: fifo:1:1: not valid JSON")
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption())
    (tmp_path / "key").write_bytes(key)
    res = run_cli(["evidence", "run.json", "-o", "e.zip", "--sign", "key"], cwd=tmp_path,
                  environ=env)
    assert res.code == 0, res.err
    res = run_cli(["verify", "e.zip", "--allowed-signers", "fifo"], cwd=tmp_path, environ=env)
    assert res.code == 1 and res.out.startswith("FAILED"), (res.out, res.err)
    res = run_cli(["validate", "-i", "web1,", "-p", "fifo"], cwd=tmp_path, environ=env)
    assert res.code == 2 and "fifo: error: policy path is neither a regular file nor a " \
        "directory" in res.out, res.out


@pytest.mark.parametrize(("name", "data", "argv", "hint"), [
    ("ansible.cfg", b"\xef\xbb\xbf[defaults]\nforks = 5\n", ["config"], "UTF-8 byte order mark"),
    ("ansible.cfg", "[defaults]\nforks = 5\n".encode("utf-16"), ["config"], "UTF-16 text"),
    ("hosts.ini", b"\xef\xbb\xbf[web]\nweb1\n", ["inventory", "-i", "hosts.ini", "--list"],
     "UTF-8 byte order mark"),
])
def test_what_ansible_refuses_for_an_invisible_mark_says_so(tmp_path: Path, name: str,
                                                            data: bytes, argv: list[str],
                                                            hint: str) -> None:
    # ansible-core refuses these too ("File contains no section headers", "host range must
    # be begin:end"): words that do not point at a mark no editor shows.
    (tmp_path / name).write_bytes(data)
    res = run_cli(argv, cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 2 and res.err.count("\n") == 1, res.err
    assert res.err.startswith(f"fleetcheck: error: {tmp_path / name}:1: ") and hint in res.err


def test_a_saved_run_with_a_byte_order_mark_reads_as_without(tmp_path: Path,
                                                             saved_run: bytes) -> None:
    # Python's json refused it: "Unexpected UTF-8 BOM (decode using utf-8-sig)".
    (tmp_path / "run.json").write_bytes(saved_run)
    (tmp_path / "bom.json").write_bytes(b"\xef\xbb\xbf" + saved_run.replace(b"\n", b"\r\n"))
    env = {"HOME": str(tmp_path)}
    clean = run_cli(["report", "run.json", "--format", "json", "-o", "-"], cwd=tmp_path,
                    environ=env)
    marked = run_cli(["report", "bom.json", "--format", "json", "-o", "-"], cwd=tmp_path,
                     environ=env)
    assert (marked.code, marked.out, marked.err) == (clean.code, clean.out, clean.err)
    res = run_cli(["diff", "run.json", "bom.json"], cwd=tmp_path, environ=env)
    assert res.code == 0, res.err


def _both_read(cfg: Path, tmp_path: Path) -> tuple[Mapping[str, Any], dict[str, str]]:
    """web1's options from `cfg` as fleetcheck reads them, and as `ssh -G` prints them."""
    ours = SshConfig.given(cfg, include_base=tmp_path).lookup("web1")
    ssh = shutil.which("ssh")
    assert ssh is not None, "the OpenSSH client is a test prerequisite"
    probe = subprocess.run([ssh, "-G", "-F", str(cfg), "web1"], capture_output=True, text=True,
                           check=True)
    return ours, dict(line.split(" ", 1) for line in probe.stdout.splitlines() if " " in line)


def test_ssh_config_lines_end_at_a_nul_as_ssh_reads_them(tmp_path: Path) -> None:
    # ssh reads each line as a C string: "Port 22\0 33" is port 22, not two arguments.
    cfg = tmp_path / "ssh_config"
    cfg.write_bytes(b"Host web1\n  User ops\0junk\n  Port 2222\0 33\n")
    ours, theirs = _both_read(cfg, tmp_path)
    assert (ours["user"], ours["port"]) == (theirs["user"], theirs["port"]) == ("ops", "2222")


def test_ssh_config_keywords_quoted_or_after_an_equals_sign_as_ssh_reads_them(
        tmp_path: Path) -> None:
    # ssh's strdelim takes '"User" bob' and '=Port 2201'; the keyword read as '' made the
    # line an unknown keyword, skipped: the host was reached as another user, port.
    cfg = tmp_path / "ssh_config"
    cfg.write_bytes(b'Host web1\n"User" bob\n=Port 2201\nHostName = h1.example\n'
                    b'  "IdentityFile"=x\n')
    ours, theirs = _both_read(cfg, tmp_path)
    assert [ours["user"], ours["port"], ours["hostname"], ours["identityfile"]] == \
        [theirs["user"], theirs["port"], theirs["hostname"], [theirs["identityfile"]]] == \
        ["bob", "2201", "h1.example", ["=x"]]


@pytest.mark.parametrize(("data", "why"), [
    (b"# my key\xe9\n", "bytes that are not UTF-8"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\n".encode("utf-16"), "no private key in a format"),
])
def test_a_key_file_that_is_no_key_says_so_in_its_own_words(tmp_path: Path, saved_run: bytes,
                                                            data: bytes, why: str) -> None:
    # Was the reading library's: "'utf-8' codec can't decode byte 0xe9 in position 9", or
    # "Unable to load PEM file. See https://cryptography.io/... MalformedFraming".
    key = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption())
    (tmp_path / "key").write_bytes(data + key if data.startswith(b"#") else data)
    (tmp_path / "run.json").write_bytes(saved_run)
    res = run_cli(["evidence", "run.json", "-o", "e.zip", "--sign", "key"], cwd=tmp_path,
                  environ={"HOME": str(tmp_path)})
    assert res.code == 2 and res.err.count("\n") == 1, res.err
    assert res.err.startswith("fleetcheck: error: key: not a usable SSH private or public key")
    assert why in res.err and "codec" not in res.err and "http" not in res.err, res.err
