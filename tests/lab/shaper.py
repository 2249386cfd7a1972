"""Run inside a lab host: a packet shaper on a netfilter queue (NFQUEUE), for kernels
without netem. Every packet iptables queues to it is held for a delay (plus jitter, so
packets overtake each other: reordering), dropped with a probability, or has one byte of
its TCP payload flipped (corruption, the checksum left as it was), then given back.

argv: one JSON object {"queue": N, "delay": ms, "jitter": ms, "loss": p, "corrupt": p,
"seed": n}. Speaks nfnetlink_queue over a raw netlink socket (no library). Prints
'ready' once bound; exits when stdin closes.
"""

from __future__ import annotations

import heapq
import json
import random
import socket
import struct
import sys
import threading
import time

NETLINK_NETFILTER = 12
NFNL_SUBSYS_QUEUE = 3
MSG_PACKET, MSG_VERDICT, MSG_CONFIG = 0, 1, 2
NLM_F_REQUEST, NLM_F_ACK = 1, 4
NLMSG_ERROR = 2
CFG_CMD, CFG_PARAMS, CFG_QUEUE_MAXLEN = 1, 2, 3
CMD_BIND = 1
COPY_PACKET = 2
ATTR_PACKET_HDR, ATTR_VERDICT_HDR, ATTR_PAYLOAD = 1, 2, 10
NF_DROP, NF_ACCEPT = 0, 1


def _attr(kind: int, data: bytes) -> bytes:
    head = struct.pack("=HH", 4 + len(data), kind)
    return head + data + b"\0" * (-len(data) % 4)


def _message(kind: int, queue: int, attrs: bytes, flags: int = NLM_F_REQUEST) -> bytes:
    body = struct.pack("=BBH", socket.AF_UNSPEC, 0, socket.htons(queue)) + attrs
    return struct.pack("=IHHII", 16 + len(body), (NFNL_SUBSYS_QUEUE << 8) | kind, flags, 0,
                       0) + body


def _attrs(data: bytes) -> dict[int, bytes]:
    out: dict[int, bytes] = {}
    at = 0
    while at + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, at)
        if length < 4:
            break
        out[kind & 0x7FFF] = data[at + 4:at + length]
        at += (length + 3) & ~3
    return out


def _corrupt(packet: bytes, rng: random.Random) -> bytes:
    """One byte of the TCP payload flipped (a packet with no payload is left alone)."""
    if len(packet) < 20 or packet[9] != socket.IPPROTO_TCP:
        return packet
    ihl = (packet[0] & 0x0F) * 4
    if len(packet) < ihl + 20:
        return packet
    start = ihl + (packet[ihl + 12] >> 4) * 4
    if start >= len(packet):
        return packet
    at = rng.randrange(start, len(packet))
    return packet[:at] + bytes([packet[at] ^ 0xFF]) + packet[at + 1:]


def main() -> None:
    spec = json.loads(sys.argv[1])
    queue = int(spec["queue"])
    rng = random.Random(spec.get("seed", 0))  # noqa: S311 - a replayable draw, no secret
    delay, jitter = spec.get("delay", 0) / 1000, spec.get("jitter", 0) / 1000
    loss, corrupt = spec.get("loss", 0.0), spec.get("corrupt", 0.0)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_NETFILTER)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    sock.bind((0, 0))
    for attrs in (_attr(CFG_CMD, struct.pack("=BxH", CMD_BIND, 0)),
                  _attr(CFG_PARAMS, struct.pack(">IB", 0xFFFF, COPY_PACKET)),
                  _attr(CFG_QUEUE_MAXLEN, struct.pack(">I", 8192))):
        sock.send(_message(MSG_CONFIG, queue, attrs, NLM_F_REQUEST | NLM_F_ACK))
        reply = sock.recv(65536)
        if struct.unpack_from("=H", reply, 4)[0] == NLMSG_ERROR:
            code = struct.unpack_from("=i", reply, 16)[0]
            if code != 0:
                raise SystemExit(f"nfqueue config failed: errno {-code}")
    held: list[tuple[float, int, int, bytes | None]] = []
    cond = threading.Condition()
    send_lock = threading.Lock()

    def verdict(packet_id: int, what: int, payload: bytes | None) -> None:
        attrs = _attr(ATTR_VERDICT_HDR, struct.pack(">II", what, packet_id))
        if payload is not None:
            attrs += _attr(ATTR_PAYLOAD, payload)
        with send_lock:
            sock.send(_message(MSG_VERDICT, queue, attrs))

    def release() -> None:
        while True:
            with cond:
                while not held or held[0][0] > time.monotonic():
                    cond.wait(None if not held else held[0][0] - time.monotonic())
                _, packet_id, what, payload = heapq.heappop(held)
            verdict(packet_id, what, payload)

    def receive() -> None:
        while True:
            try:
                data = sock.recv(1 << 17)
            except OSError:  # ENOBUFS: the queue overran us; those packets are lost
                continue
            at = 0
            while at + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, at)
                if length < 16:
                    break
                if kind == (NFNL_SUBSYS_QUEUE << 8) | MSG_PACKET:
                    attrs = _attrs(data[at + 20:at + length])
                    packet_id = struct.unpack(">I", attrs[ATTR_PACKET_HDR][:4])[0]
                    payload = attrs.get(ATTR_PAYLOAD, b"")
                    what, new = NF_ACCEPT, None
                    if loss and rng.random() < loss:
                        what = NF_DROP
                    elif corrupt and rng.random() < corrupt:
                        new = _corrupt(payload, rng)
                    wait = delay + (rng.uniform(-jitter, jitter) if jitter else 0.0)
                    with cond:
                        heapq.heappush(held, (time.monotonic() + max(0.0, wait), packet_id,
                                              what, new))
                        cond.notify()
                at += (length + 3) & ~3

    for target in (release, receive):
        threading.Thread(target=target, daemon=True).start()
    print("ready", flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    main()
