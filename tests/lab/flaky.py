"""Run inside a lab host: a TCP port that resets its first N connections, then relays to sshd.

argv: listen_port upstream_port fail_first count_file. Prints 'ready' once listening;
writes the number of connections accepted so far to count_file after each one.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import sys
import threading
from pathlib import Path


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


def main() -> None:
    port, upstream, fail_first = (int(a) for a in sys.argv[1:4])
    count_file = Path(sys.argv[4])
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", port))
    server.listen(64)
    print("ready", flush=True)
    accepted = 0
    while True:
        conn, _ = server.accept()
        accepted += 1
        count_file.write_text(str(accepted))
        if accepted <= fail_first:  # RST, as a dropped or overloaded path looks
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()
            continue
        up = socket.create_connection(("127.0.0.1", upstream))
        threading.Thread(target=_pipe, args=(conn, up), daemon=True).start()
        threading.Thread(target=_pipe, args=(up, conn), daemon=True).start()


if __name__ == "__main__":
    main()
