"""Network faults inside a lab host's own namespace: iptables rules, a tc rate limit, the
NFQUEUE shaper (tests/lab/shaper.py: delay, jitter and so reordering, loss, corruption),
a link taken down, a blackhole appearing at a given time.

Every fault acts on the host's side of its link only (its `eth0` and its INPUT/OUTPUT
chains), so the controller and every other host are untouched, and `clear` removes it.
The classes and what each is expected to be (the documented error kinds) are in FAULTS.
"""

from __future__ import annotations

import contextlib
import json
import random
import subprocess
import sys
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

from tests.lab.netns import Namespace, stop_by_stdin

_SHAPER = Path(__file__).with_name("shaper.py")
SSH_PORT = 22

# Fault class -> the error kinds docs/ssh.md documents for it (None: checked, as clean).
# Classes whose kind depends on where the stall lands (a packet count, a size, a time)
# list every phase's kind; the ones ssh decides (an ICMP code) are judged against it.
STALLS = frozenset({"banner_timeout", "handshake_timeout", "auth_timeout", "command_timeout",
                    "deadline"})
LOST = frozenset({"ssh_error", "command_failed"})  # the connection reset or refused mid-way
FAULTS: dict[str, frozenset[str | None]] = {
    "none": frozenset({None}),
    "slow": frozenset({None}),  # latency, jitter, light loss, corruption: within limits
    "rate": frozenset({None}),  # a low rate the probe's output fits in within its timeout
    "drop_syn": frozenset({"connect_timeout"}),
    "reject": frozenset({"connection_refused", "no_route", "connect_timeout"}),
    "link_down": frozenset({"no_route", "connect_timeout"}),
    "mute": frozenset({"banner_timeout"}),  # TCP accepted, then nothing from the server
    "stall_after": STALLS | {None},
    "reset_after": LOST | {None},
    # An ICMP error on an established connection is soft to Linux: it may stall instead.
    "icmp_after": LOST | STALLS | {None},
    "pmtu": STALLS | {None},  # packets over a size dropped, no ICMP frag-needed
    # A rate too low for the limits: even a SYN-ACK may queue behind earlier connections,
    # and the host's ARP answers too (the connect then fails as no route; seed 302).
    "throttle": STALLS | {"connect_timeout", "no_route", None},
    "lossy": STALLS | LOST | {"connect_timeout", None},  # heavy loss: anywhere, or through
    "blackhole_at": STALLS | {"connect_timeout", None},  # everything dropped from a time on
}
REJECTS = ("tcp-reset", "icmp-port-unreachable", "icmp-host-unreachable",
           "icmp-net-unreachable", "icmp-admin-prohibited", "icmp-host-prohibited",
           "icmp-net-prohibited", "icmp-proto-unreachable")


@dataclass(frozen=True)
class Fault:
    """One host's fault: its class and the class's parameters."""

    kind: str = "none"
    count: int = 0  # packets (stall_after, reset_after, icmp_after), bytes (pmtu), kbit (rate)
    reject: str = ""  # iptables' --reject-with
    delay: int = 0  # ms, shaper
    jitter: int = 0  # ms, shaper
    loss: float = 0.0  # shaper
    corrupt: float = 0.0  # shaper
    at: float = 0.0  # seconds after the run starts (blackhole_at)
    seed: int = 0

    def describe(self) -> str:
        """The fault in one line (only what is set)."""
        skip = {"kind", "seed"}
        parts = [f"{k}={v}" for k, v in self.__dict__.items() if k not in skip and v]
        return f"{self.kind}({', '.join(parts)})"

    @property
    def referee_decides(self) -> bool:
        """True when ssh's own outcome on the host fixes the expected kind."""
        # Not link_down: whether a failed ARP comes back as a local ICMP host unreachable
        # (no_route) or as silence (connect_timeout) is the kernel's (neighbour state, ICMP
        # rate limits), and differs between two connects a second apart.
        return self.kind in ("drop_syn", "reject", "mute")


def draw(rng: random.Random, connect_timeout: float, command_timeout: float) -> Fault:
    """A random fault, its parameters drawn relative to the run's timeouts."""
    kind = rng.choice([k for k in FAULTS if k != "none"])
    seed = rng.randrange(1 << 30)
    if kind == "slow":  # well inside the limits: an RTT of at most a tenth of -T
        top = max(10, int(connect_timeout * 1000 / 10 / 2))
        delay = rng.randint(5, top)
        return Fault(kind, delay=delay, jitter=rng.randint(0, delay // 3),
                     loss=rng.choice([0.0, 0.0, 0.01, 0.03]),
                     corrupt=rng.choice([0.0, 0.0, 0.01]), seed=seed)
    if kind == "rate":
        return Fault(kind, count=rng.choice([256, 512, 1024, 4096]))
    if kind == "throttle":
        return Fault(kind, count=rng.choice([1, 2, 4, 8]))
    if kind == "reject":
        return Fault(kind, reject=rng.choice(REJECTS))
    if kind in ("stall_after", "reset_after"):
        return Fault(kind, count=rng.randint(2, 40))
    if kind == "icmp_after":
        return Fault(kind, count=rng.randint(2, 40),
                     reject=rng.choice(["icmp-port-unreachable", "icmp-host-unreachable",
                                        "icmp-admin-prohibited"]))
    if kind == "pmtu":
        return Fault(kind, count=rng.choice([300, 576, 900, 1200, 1400]))
    if kind == "lossy":
        return Fault(kind, loss=rng.choice([0.1, 0.2, 0.35, 0.5]), seed=seed)
    if kind == "blackhole_at":
        return Fault(kind, at=round(rng.uniform(0.0, connect_timeout + command_timeout), 2))
    return Fault(kind)


@dataclass
class Applied:
    """A fault in place in one namespace: what `clear` must undo."""

    ns: Namespace
    fault: Fault
    procs: list[subprocess.Popen[str]] = field(default_factory=list)
    timer: threading.Timer | None = None


def _in(ns: Namespace, *argv: str) -> None:
    subprocess.run(ns.exec_argv(argv), check=True, capture_output=True, text=True)


def _rule(ns: Namespace, chain: str, *match: str) -> None:
    _in(ns, "iptables", "-w", "-A", chain, *match)


def _after(fault: Fault) -> list[str]:
    """Matches the packets of an SSH connection from its `count`th client packet on."""
    return ["-m", "connbytes", "--connbytes", f"{fault.count}:", "--connbytes-dir", "original",
            "--connbytes-mode", "packets"]


def apply(ns: Namespace, fault: Fault) -> Applied:
    """Put `fault` in place inside `ns` (a lab host's namespace, link `eth0`)."""
    done = Applied(ns, fault)
    k, port = fault.kind, str(SSH_PORT)
    tcp_in = ["-p", "tcp", "--dport", port]
    tcp_out = ["-p", "tcp", "--sport", port]
    if k == "drop_syn":
        _rule(ns, "INPUT", *tcp_in, "-j", "DROP")
    elif k == "reject":
        _rule(ns, "INPUT", *tcp_in, "-j", "REJECT", "--reject-with", fault.reject)
    elif k == "link_down":
        _in(ns, "ip", "link", "set", "eth0", "down")
    elif k == "mute":  # the SYN-ACK is the server's first packet; nothing after it
        _rule(ns, "OUTPUT", *tcp_out, "-m", "connbytes", "--connbytes", "2:",
              "--connbytes-dir", "reply", "--connbytes-mode", "packets", "-j", "DROP")
    elif k == "stall_after":
        _rule(ns, "INPUT", *tcp_in, *_after(fault), "-j", "DROP")
        _rule(ns, "OUTPUT", *tcp_out, *_after(fault), "-j", "DROP")
    elif k in ("reset_after", "icmp_after"):
        how = "tcp-reset" if k == "reset_after" else fault.reject
        _rule(ns, "INPUT", *tcp_in, *_after(fault), "-j", "REJECT", "--reject-with", how)
    elif k == "pmtu":
        _rule(ns, "OUTPUT", "-o", "eth0", "-m", "length", "--length", f"{fault.count}:65535",
              "-j", "DROP")
    elif k in ("rate", "throttle"):
        _in(ns, "tc", "qdisc", "add", "dev", "eth0", "root", "tbf", "rate",
            f"{fault.count}kbit", "burst", "1600", "latency", "5s")
    elif k in ("slow", "lossy"):
        _shape(done, {"delay": fault.delay, "jitter": fault.jitter, "loss": fault.loss,
                      "corrupt": fault.corrupt, "seed": fault.seed})
    elif k == "blackhole_at":
        done.timer = threading.Timer(fault.at, _blackhole, (ns,))
        done.timer.daemon = True
    return done


def start_timers(applied: list[Applied]) -> None:
    """Start the faults that come at a time (the run starts now)."""
    for a in applied:
        if a.timer is not None:
            a.timer.start()


def _blackhole(ns: Namespace) -> None:
    with contextlib.suppress(subprocess.CalledProcessError):
        _in(ns, "iptables", "-w", "-I", "INPUT", "-i", "eth0", "-j", "DROP")
        _in(ns, "iptables", "-w", "-I", "OUTPUT", "-o", "eth0", "-j", "DROP")


def _shape(done: Applied, spec: dict[str, object]) -> None:
    """The shaper on queue 0, fed the host's outgoing packets (and incoming ones for loss)."""
    argv = [sys.executable, str(_SHAPER), json.dumps({"queue": 0, **spec})]
    proc = subprocess.Popen(done.ns.exec_argv(argv), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    if proc.stdout.readline().strip() != "ready":
        proc.kill()
        raise RuntimeError(f"shaper did not start: {proc.stderr.read()}")
    done.procs.append(proc)
    _rule(done.ns, "OUTPUT", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", "0")


def clear(done: Applied) -> None:
    """Remove the fault: timer, shaper, rules, qdisc, link state."""
    if done.timer is not None:
        done.timer.cancel()
    for proc in done.procs:
        stop_by_stdin(proc)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    ns = done.ns
    for argv in (["iptables", "-w", "-F", "INPUT"], ["iptables", "-w", "-F", "OUTPUT"],
                 ["tc", "qdisc", "del", "dev", "eth0", "root"],
                 ["ip", "link", "set", "eth0", "up"]):
        subprocess.run(ns.exec_argv(argv), check=False, capture_output=True)


def with_seed(fault: Fault, seed: int) -> Fault:
    """The same fault with another shaper seed."""
    return replace(fault, seed=seed)
