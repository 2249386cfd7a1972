"""The reachability hunt: seeded rounds of random binds, each read by every tool and judged,
against what really answered. As root:

    python3 -m tests.lab.reach_hunt SEED ROUNDS [routed|unrouted]

prints each disagreement and a count; it is a tool, not a test (tests/collect has the
fixed cases that came out of it)."""

from __future__ import annotations

import random
import sys
import tempfile
from collections import Counter
from pathlib import Path

from fleetcheck.addresses import address_scope
from tests.lab import reach
from tests.lab.reach import Bind


def kinds(rng: random.Random, proto: str) -> list[dict[str, object]]:
    """Every way of binding the hunt knows, for `proto` (multicast joins for UDP)."""
    v6 = rng.choice([True, False, None])
    out: list[dict[str, object]] = [
        {"address": "0.0.0.0"}, {"address": "::", "v6only": v6},
        {"address": "::", "v6only": None}, {"address": "::", "v6only": False},
        {"address": "::ffff:127.0.0.1", "v6only": False},
        {"address": "::ffff:10.77.0.1", "v6only": rng.choice([False, None])},
        {"address": "::ffff:0.0.0.0", "v6only": False},
        {"address": "127.0.0.1"}, {"address": "127.0.0.2"}, {"address": "::1", "v6only": v6},
        {"address": reach.SERVER_V4}, {"address": reach.SERVER_V6},
        {"address": f"{reach.SERVER_LL}%ra"}, {"address": reach.DUMMY_V4},
        {"address": reach.DUMMY_V6},
        {"address": "0.0.0.0", "device": "lo"}, {"address": "0.0.0.0", "device": "ra"},
        {"address": "::", "device": "ra", "v6only": v6}, {"address": "::", "device": "lo",
                                                           "v6only": v6},
        {"address": "127.0.0.1", "device": "ra"}, {"address": reach.SERVER_V4, "device": "lo"},
        {"address": "10.99.0.5", "freebind": True}, {"address": "fd99::5", "freebind": True},
        {"address": reach.GONE_V4},
    ]
    if proto == "udp":
        out += [{"address": "0.0.0.0", "join": f"{reach.GROUP_V4}%ra"},
                {"address": reach.GROUP_V4, "join": f"{reach.GROUP_V4}%ra"},
                {"address": "::", "v6only": v6, "join": f"{reach.GROUP_V6}%ra"},
                {"address": reach.GROUP_V6, "join": f"{reach.GROUP_V6}%ra"}]
    return out


def round_binds(rng: random.Random, base_port: int, count: int) -> list[Bind]:
    """`count` groups of binds, each on its own port: one socket, or a pair (SO_REUSEPORT
    twins, TCP and UDP, a socket two processes hold, IPv4 and IPv6-only twins)."""
    binds: list[Bind] = []
    for i in range(count):
        port = base_port + i
        proto = rng.choice(["tcp", "udp"])
        kind = rng.choice(kinds(rng, proto))
        one = Bind(proto=proto, port=port, **kind)  # type: ignore[arg-type]
        shape = rng.choice(["one", "one", "one", "reuseport", "both", "shared", "twins"])
        if shape == "reuseport":
            one = Bind(**{**one.__dict__, "reuseport": True})
            binds += [one, one]
        elif shape == "both":
            other = "udp" if proto == "tcp" else "tcp"
            binds += [one, Bind(**{**one.__dict__, "proto": other, "join": None})]
        elif shape == "shared":
            binds.append(Bind(**{**one.__dict__, "shared": True}))
        elif shape == "twins":
            binds += [Bind(proto, "0.0.0.0", port), Bind(proto, "::", port, v6only=True)]
        else:
            binds.append(one)
    return binds


def run_round(seed: int, tmp: Path, *, routed: bool | None = None) -> tuple[int, list[str]]:
    """One round: (sockets judged, disagreements); `routed` forces route_localnet on/off."""
    rng = random.Random(seed)  # noqa: S311 - a replayable draw, no secret
    bindv6only = rng.choice([0, 0, 1])
    binds = round_binds(rng, 20000 + (seed % 50) * 100, rng.randint(6, 12))
    lines: list[str] = []
    draw = rng.random() < 0.25
    routed = draw if routed is None else routed
    with reach.world(bindv6only=bindv6only, nonlocal_bind=rng.choice([0, 1]),
                     route_localnet=routed) as w:
        held: list[Bind] = []
        for b in binds:  # one at a time: a bind the kernel refuses is skipped, noted
            try:
                reach.hold(w, [b])
                held.append(b)
            except RuntimeError as exc:
                lines.append(f"  (refused {b}: {str(exc).strip().splitlines()[-1]})")
        if any(b.address == reach.GONE_V4 for b in held):
            reach.drop_gone(w)
        ports = sorted({(b.proto, b.port) for b in held})
        reached = reach.reach(w, ports)
        tools = reach.scan(w, tmp)
        for proto, port in ports:
            mine = [b for b in held if (b.proto, b.port) == (proto, port)]
            got = reached[(proto, port)]
            for tool, listeners in tools.items():
                ours = [li for li in listeners if (li.proto, li.port) == (proto, port)]
                if not ours:
                    lines.append(f"seed {seed} v6only={bindv6only} {tool} {proto}/{port} "
                                 f"{mine}: no listener (reached {sorted(got)})")
                    continue
                for problem in reach.listing_problems(tool, mine, ours):
                    lines.append(f"seed {seed} v6only={bindv6only} {tool} {proto}/{port} "
                                 f"{[_short(b) for b in mine]}: {problem}")
                split = len({":" in b.address for b in mine}) > 1
                for li in ours:
                    v = reach.verdicts(li)
                    for d in reach.disagreements(v, reach.attributed(got, li, split),
                                                 facts=tool not in reach.PARSE_ONLY):
                        shown = (li.address, li.iface, li.family, li.dual_stack,
                                 address_scope(li.address))
                        lines.append(f"seed {seed} bindv6only={bindv6only} "
                                     f"routed={routed} {tool} "
                                     f"{proto}/{port} {[_short(b) for b in mine]} "
                                     f"shown {shown}: {d}")
    return len(held), lines


def _short(b: Bind) -> str:
    opts = [f"{k}={v}" for k, v in b.__dict__.items()
            if k not in ("proto", "address", "port") and v not in (None, False)]
    return f"{b.proto} {b.address} {' '.join(opts)}".strip()


def main() -> None:
    seed, rounds = int(sys.argv[1]), int(sys.argv[2])
    forced = {"routed": True, "unrouted": False}.get(sys.argv[3]) if len(sys.argv) > 3 else None
    total, found = 0, Counter[str]()
    with tempfile.TemporaryDirectory() as tmp:
        for s in range(seed, seed + rounds):
            n, lines = run_round(s, Path(tmp), routed=forced)
            total += n
            for line in lines:
                print(line, flush=True)
                found["refused" if line.startswith("  (") else "disagreement"] += 1
    print(f"sockets {total}, {dict(found)}")


if __name__ == "__main__":
    main()
