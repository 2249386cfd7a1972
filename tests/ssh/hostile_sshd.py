"""A hostile SSH server for tests: real protocol (paramiko's server side), misbehaving on purpose.

Run as `python -m tests.ssh.hostile_sshd HOST_KEY AUTHORIZED_PUBKEY`: it listens on
127.0.0.1 (a free port), prints that port, and serves every connection on its own thread.
The login name picks the misbehaviour and a seed for it, `BEHAVIOUR-SEED` (`truncate-7`).
The command is really run here (`sh -c`), so a healthy login returns real probe output;
each behaviour then mangles how that output travels (see BEHAVIOURS). Only a client that
authenticates with the authorized key gets a session.
"""

from __future__ import annotations

import base64
import contextlib
import random
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import paramiko
from paramiko.common import (
    AUTH_FAILED,
    AUTH_SUCCESSFUL,
    MSG_CHANNEL_FAILURE,
    MSG_KEXINIT,
    OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED,
    OPEN_SUCCEEDED,
    cMSG_CHANNEL_CLOSE,
    cMSG_CHANNEL_DATA,
    cMSG_CHANNEL_EXTENDED_DATA,
    cMSG_CHANNEL_REQUEST,
    cMSG_DISCONNECT,
)

HOSTILE = "\x1b]52;c;ZXZpbA==\x07\x1b[2J\u202eevil\r\nstatus: compliant\x9b31m"
# What each behaviour does, by name (the part of the login name before the seed).
BEHAVIOURS = (
    "healthy", "no_exit", "exit_signal", "exit_signal_core", "eof_no_close", "eof_no_exit",
    "close_no_eof", "data_after_eof", "huge_stdout", "stderr_flood", "zero_window",
    "requests", "stall", "banner", "refuse_session", "open_back", "disconnect_auth",
    "one_byte", "exit_then_data", "truncate", "truncate_close", "no_exec_reply",
    "fail_exec", "rekey_stall", "no_pty_reply", "slow_flood",
)


class _Server(paramiko.ServerInterface):
    """Public key auth with one key; one exec per session; misbehaviour by login name."""

    def __init__(self, key: paramiko.PKey, t: paramiko.Transport) -> None:
        self.key, self.t = key, t
        self.behaviour, self.seed = "healthy", 0
        self.command: bytes | None = None
        self.exec_seen = threading.Event()

    def get_allowed_auths(self, username: str) -> str:
        return "publickey"

    def get_banner(self) -> tuple[str | None, str | None]:
        return (f"Welcome {HOSTILE}\n", "en") if self.behaviour == "banner" else (None, None)

    def check_auth_none(self, username: str) -> int:
        self._pick(username)
        return AUTH_FAILED

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        self._pick(username)
        if self.behaviour == "disconnect_auth":
            code = random.Random(self.seed).choice([0, 14, 999, 0xFFFFFFFF])  # noqa: S311
            m = paramiko.Message()
            m.add_byte(cMSG_DISCONNECT)
            m.add_int(code)
            m.add_string(f"go away {HOSTILE}" * (1 + self.seed % 3))
            m.add_string("")
            self.t._send_user_message(m)  # type: ignore[attr-defined]
            time.sleep(0.2)
            self.t.close()
            return AUTH_FAILED
        return AUTH_SUCCESSFUL if key == self.key else AUTH_FAILED

    def _pick(self, username: str) -> None:
        name, _, seed = username.rpartition("-")
        self.behaviour, self.seed = (name, int(seed)) if seed.isdigit() else (username, 0)

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind != "session" or self.behaviour == "refuse_session":
            return OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED
        if self.behaviour == "zero_window":
            self.t.default_window_size = 0  # the client may never send a byte
        return OPEN_SUCCEEDED

    def check_channel_pty_request(self, *args: object) -> bool:
        if self.behaviour == "no_pty_reply":
            time.sleep(3600)  # as no_exec_reply, for the terminal su and doas ask for
        return True

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        if self.behaviour == "no_exec_reply":
            time.sleep(3600)  # the transport thread too: nothing more is ever answered
        self.command = command
        self.exec_seen.set()
        return self.behaviour != "fail_exec"


def _raw(chan: paramiko.Channel, request: str, *fields: object, want_reply: bool = False,
         ) -> None:
    """Send a channel request the way a server may, whatever state the channel is in."""
    m = paramiko.Message()
    m.add_byte(cMSG_CHANNEL_REQUEST)
    m.add_int(chan.remote_chanid)
    m.add_string(request)
    m.add_boolean(want_reply)
    for f in fields:
        if isinstance(f, bool):
            m.add_boolean(f)
        else:
            m.add_string(str(f))
    chan.transport._send_user_message(m)  # type: ignore[union-attr]


def _raw_data(chan: paramiko.Channel, data: bytes, stderr: bool = False) -> None:
    """Data on the channel, past window, EOF and all."""
    m = paramiko.Message()
    m.add_byte(cMSG_CHANNEL_EXTENDED_DATA if stderr else cMSG_CHANNEL_DATA)
    m.add_int(chan.remote_chanid)
    if stderr:
        m.add_int(1)
    m.add_string(data)
    chan.transport._send_user_message(m)  # type: ignore[union-attr]


def _raw_close(chan: paramiko.Channel) -> None:
    m = paramiko.Message()
    m.add_byte(cMSG_CHANNEL_CLOSE)
    m.add_int(chan.remote_chanid)
    chan.transport._send_user_message(m)  # type: ignore[union-attr]


def _hold(chan: paramiko.Channel) -> None:
    """Keep the channel open, saying nothing, until the client goes away."""
    while chan.transport is not None and chan.transport.is_active() and not chan.closed:
        time.sleep(0.2)


def _stdin(chan: paramiko.Channel, wait: float = 10.0) -> bytes:
    """What the client writes to the command's stdin up to its end-of-file, passed on as sshd
    passes it (the probe, sent there; nothing, with a become password held back until the
    method asks, which this server's commands never do: then what came within `wait`)."""
    chunks: list[bytes] = []
    chan.settimeout(wait)
    with contextlib.suppress(TimeoutError, OSError):
        while data := chan.recv(65536):
            chunks.append(data)
    chan.settimeout(None)
    return b"".join(chunks)


def _act(server: _Server, chan: paramiko.Channel) -> None:
    """Run the command for real, then deliver its output as the behaviour says."""
    if not server.exec_seen.wait(30):
        return
    rng = random.Random(server.seed)  # noqa: S311  # a test's reproducible choices
    b = server.behaviour
    if b == "zero_window":  # ask for the become password, which can never be sent
        asked = re.search(rb"\[fleetcheck [0-9a-f]+%%\] password: ", server.command or b"")
        chan.sendall_stderr(asked.group().replace(b"%%", b"%") if asked else b"Password: ")
        _hold(chan)
        return
    ran = subprocess.run(["/bin/sh", "-c", server.command or b""], capture_output=True,
                         input=_stdin(chan), timeout=60, check=False)
    out, err, status = ran.stdout, ran.stderr, ran.returncode
    cut = rng.randrange(1, max(2, len(out)))
    if b == "requests":
        # paramiko's server side closes a channel whose request the client refused; a real
        # server keeps it (OpenSSH's keepalives expect the refusal), and so does this one.
        server.t._channel_handler_table = {  # type: ignore[attr-defined]
            **paramiko.Transport._channel_handler_table,  # type: ignore[attr-defined]
            MSG_CHANNEL_FAILURE: lambda chan, m: None}
        threading.Thread(target=server.t.global_request,
                         args=("keepalive@openssh.com",), daemon=True).start()
        _raw(chan, "keepalive@openssh.com", want_reply=True)
        _raw(chan, f"x-{HOSTILE}@example.com", HOSTILE, want_reply=True)
        _raw(chan, "eow@openssh.com", want_reply=False)
    if b == "open_back":
        for kind in ("x11", "auth-agent@openssh.com", "forwarded-tcpip"):
            # the client must refuse each (an exception here); then the session goes on
            with contextlib.suppress(Exception):
                server.t.open_channel(kind, ("127.0.0.1", 22) if kind == "forwarded-tcpip"
                                      else None, ("127.0.0.1", 4242) if kind != "x11"
                                      else ("127.0.0.1", 6010), timeout=2)
    if b in ("huge_stdout", "stderr_flood"):
        block = bytes(rng.randrange(256) for _ in range(4096)) if b == "huge_stdout" \
            else (HOSTILE.encode() + b"\n") * 200
        if b == "stderr_flood":
            chan.sendall(out[:cut])
        while not chan.closed and chan.transport is not None and chan.transport.is_active():
            try:
                chan.sendall_stderr(block) if b == "stderr_flood" else chan.sendall(block)
            except Exception:  # the client gave up: done
                return
        return
    if b == "slow_flood":  # endless, but slower than any output cap is reached in time
        chan.sendall(out[:cut])
        with contextlib.suppress(Exception):
            while not chan.closed:
                chan.sendall(b"#" * 512 if rng.random() < 0.5 else b"\n")
                time.sleep(0.01)
        return
    if b == "one_byte":
        for i in range(len(out)):
            chan.send(out[i:i + 1])
    elif b == "rekey_stall":  # start a key re-exchange and never finish it
        chan.sendall(out[:cut])
        server.t._handler_table[MSG_KEXINIT] = lambda m: time.sleep(3600)  # type: ignore[attr-defined]
        server.t._send_kex_init()  # type: ignore[attr-defined]
        _hold(chan)
        return
    elif b == "stall":
        chan.sendall(out[:cut])
        chan.sendall_stderr(err[:rng.randrange(0, len(err) + 1)])
        _hold(chan)
        return
    elif b == "exit_then_data":
        chan.send_exit_status(status)
        time.sleep(0.1)
        chan.sendall(out)
    elif b in ("truncate", "truncate_close"):
        if b == "truncate":  # after a section's closing fence: what is left looks whole
            lines = out.splitlines(keepends=True)
            ends = [sum(map(len, lines[:n + 1])) for n, line in enumerate(lines[:-1])
                    if b" end " in line]
            cut = rng.choice(ends) if ends else cut
        out = out[:cut]
        chan.sendall(out)
    elif b != "fail_exec":
        chan.sendall(out)
    if b not in ("stall", "truncate_close"):
        chan.sendall_stderr(err)
    if b == "exit_signal":
        _raw(chan, "exit-signal", "KILL", False, HOSTILE, "en")
    elif b == "exit_signal_core":
        _raw(chan, "exit-signal", "SEGV", True, "", "")
    elif b not in ("no_exit", "eof_no_exit", "exit_then_data", "close_no_eof",
                   "truncate_close"):
        chan.send_exit_status(status)
    if b in ("close_no_eof", "truncate_close"):
        _raw_close(chan)
        _hold(chan)
        return
    chan.shutdown_write()
    if b == "data_after_eof":
        _raw_data(chan, b"\nextra-after-eof " + HOSTILE.encode() + b"\n")
        _raw_data(chan, HOSTILE.encode(), stderr=True)
    if b in ("eof_no_close", "eof_no_exit"):
        _hold(chan)
        return
    time.sleep(0.05)
    chan.close()


def _serve(conn: socket.socket, host_key: paramiko.PKey, client_key: paramiko.PKey,
           hostile_version: bool) -> None:
    t = paramiko.Transport(conn)
    server = _Server(client_key, t)
    if hostile_version:
        t.local_version = f"SSH-2.0-{HOSTILE}"[:250].replace("\r\n", "")
    t.add_server_key(host_key)
    t.start_server(server=server)
    chan = t.accept(30)
    if chan is None:
        return
    _act(server, chan)


def _prelude(conn: socket.socket, seed: int) -> None:
    """Lines before the version line (allowed by RFC 4253): control characters, a long one."""
    lines = [f"hello {HOSTILE}\r\n".encode(), b"x" * (200 + seed * 37) + b"\r\n",
             b"\x00\x07\x1b[31m\r\n"]
    conn.sendall(b"".join(lines[: 1 + seed % 3]))


def main() -> None:
    host_key = paramiko.Ed25519Key.from_private_key_file(sys.argv[1])
    kind, blob = Path(sys.argv[2]).read_text().split()[:2]
    client_key = paramiko.PKey.from_type_string(kind, base64.b64decode(blob))
    prelude_port = len(sys.argv) > 3
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    print(listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        if prelude_port:
            _prelude(conn, int(sys.argv[3]))
        threading.Thread(target=_serve, args=(conn, host_key, client_key, prelude_port),
                         daemon=True).start()


if __name__ == "__main__":
    main()
