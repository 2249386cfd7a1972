"""Run inside a lab host: an SSH server that stalls at one stage of the protocol.

argv: mode port host_key_file. Modes: `banner` sends OpenSSH's banner and then
nothing (the key exchange never finishes); `hostile` does the same with a banner full of
terminal escape sequences; `version` claims an SSH version made of them (the client
refuses it, quoting it); `auth` is a real SSH server
(paramiko's server side) that completes the key exchange and never answers
authentication. Prints 'ready' once listening.
"""

from __future__ import annotations

import socket
import sys
import threading
import time

import paramiko
from paramiko.common import AUTH_FAILED


class _NeverAnswers(paramiko.ServerInterface):
    """Every authentication request waits forever."""

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        time.sleep(3600)
        return AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        time.sleep(3600)
        return AUTH_FAILED


BANNERS = {
    "banner": b"SSH-2.0-OpenSSH_9.2\r\n",
    "hostile": b"SSH-2.0-\x1b]52;c;SGk=\x07\x1b[2J\xe2\x80\xaeevil\rX\r\n",
    "version": b"SSH-\x1b]0;pwn\x07\xc2\x9b2J-x\r\n",
}


def _serve_auth(conn: socket.socket, key: paramiko.PKey) -> None:
    t = paramiko.Transport(conn)
    t.add_server_key(key)
    t.start_server(server=_NeverAnswers())


def main() -> None:
    mode, port, key_file = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    key = paramiko.Ed25519Key.from_private_key_file(key_file)
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(64)
    print("ready", flush=True)
    held = []
    while True:
        conn, _ = server.accept()
        held.append(conn)
        if mode in BANNERS:
            conn.sendall(BANNERS[mode])
        else:
            threading.Thread(target=_serve_auth, args=(conn, key), daemon=True).start()


if __name__ == "__main__":
    main()
