"""SSH fan-out: fleetcheck's whole scan vs a plain paramiko fan-out vs Ansible, on N hosts.

The hosts are cheap: one network namespace whose loopback carries an optional
netem delay, one real sshd, N addresses (127.0.x.y all reach it), one known_hosts
entry per address. In one run, per N and repeat: fleetcheck's CLI (inventory,
policies, every report format, default --workers), a plain paramiko fan-out
(thread pool, known_hosts loaded once, connect, run `ss -Htlnup`, read; no
parsing, no reports) and, when installed, `ansible all -m raw -a 'ss -Htlnup'`.

    sudo PYTHONPATH=. python -m benchmarks.ssh_fanout --hosts 300,1000 --forks 50

Needs root, iproute2 and OpenSSH's sshd. Prints wall time, hosts/s, client CPU
per host (this process and its children) and the ratios to the fan-out.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

import paramiko

from benchmarks.common import Measurement, measure, print_table
from fleetcheck.cli.env import Env
from fleetcheck.cli.main import main as fleetcheck_main
from fleetcheck.render import FORMATS
from tests.lab.netns import Namespace, in_netns, unique_name
from tests.lab.sshd import keygen, launch_sshd, wait_started


class BenchHost:
    """One namespace, one sshd, N loopback addresses, known_hosts and an inventory for them."""

    def __init__(self, delay_ms: float) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fcbench-"))
        self.ns = Namespace(unique_name("fcb"))
        self.delay_ms = delay_ms
        self.key = self.dir / "client"
        self.host_pub = ""

    def __enter__(self) -> BenchHost:
        self.ns.create()
        try:
            self.host_pub = keygen(self.dir / "host_ed25519")
            (self.dir / "authorized_keys").write_text(keygen(self.key) + "\n")
            config = [f"HostKey {self.dir}/host_ed25519", "ListenAddress 0.0.0.0",
                      f"AuthorizedKeysFile {self.dir}/authorized_keys",
                      "PermitRootLogin prohibit-password", "PasswordAuthentication no",
                      "MaxStartups 2000:30:4000", "LogLevel ERROR"]
            wait_started([launch_sshd(self.ns, self.dir, config)])
            if self.delay_ms:
                subprocess.run(self.ns.exec_argv(["tc", "qdisc", "add", "dev", "lo", "root",
                                                  "netem", "delay", f"{self.delay_ms}ms"]),
                               check=True)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.ns.delete()
        shutil.rmtree(self.dir, ignore_errors=True)

    @staticmethod
    def addresses(n: int) -> list[str]:
        """N distinct loopback addresses."""
        return [f"127.0.{1 + i // 250}.{1 + i % 250}" for i in range(n)]

    def files(self, n: int) -> tuple[Path, Path, Path]:
        """known_hosts, a YAML inventory (fleetcheck) and an INI one (Ansible) for N hosts."""
        addrs = self.addresses(n)
        known = self.dir / f"known_hosts.{n}"
        known.write_text("".join(f"{a} {self.host_pub}\n" for a in addrs))
        yml = self.dir / f"inv.{n}.yml"
        yml.write_text("all:\n  hosts:\n" + "".join(
            f"    h{i:05d}: {{ansible_host: {a}}}\n" for i, a in enumerate(addrs)))
        ini = self.dir / f"inv.{n}.ini"
        ini.write_text("".join(f"h{i:05d} ansible_host={a}\n" for i, a in enumerate(addrs)))
        return known, yml, ini


def run_fleetcheck(bench: BenchHost, known: Path, inventory: Path, forks: int,
                   n: int, workers: int | None = None) -> None:
    """The whole product: CLI, inventory, policies, scan, every report format."""
    out = bench.dir / "reports"
    shutil.rmtree(out, ignore_errors=True)
    env = Env(stdout=io.StringIO(), stderr=io.StringIO(), stdin=io.StringIO(),
              environ={"HOME": str(bench.dir), "CI": "true"}, cwd=bench.dir)
    code = fleetcheck_main(["scan", "-i", str(inventory), "-o", str(out), "-f", str(forks),
                            "--format", ",".join(FORMATS), "--known-hosts", str(known),
                            "--private-key", str(bench.key), "-u", "root",
                            "--connect-timeout", "60", "-T", "120",
                            *(["--workers", str(workers)] if workers else [])], env)
    summary = json.loads(next(out.glob("*.json")).read_text())["summary"]
    checked = summary["compliant"] + summary["noncompliant"]
    if code not in (0, 1) or checked != n:
        raise RuntimeError(f"fleetcheck checked {checked} of {n} hosts: {summary}")


def run_fanout(bench: BenchHost, known: Path, n: int, forks: int) -> None:
    """The floor: connect, run `ss -Htlnup`, read; nothing else."""
    keys = {}  # read once into a dict (paramiko's HostKeys lookups are linear scans)
    for line in known.read_text().splitlines():
        entry = paramiko.hostkeys.HostKeyEntry.from_line(line)
        if entry is not None:
            keys.update(dict.fromkeys(entry.hostnames, entry.key))
    pkey = paramiko.PKey.from_path(str(bench.key))

    def one(address: str) -> int:
        # The best a hand-written fan-out does: no Nagle delay on the handshake's small packets.
        sock = socket.create_connection((address, 22), timeout=60)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = paramiko.Transport(sock)
        try:
            t.connect(hostkey=keys[address], username="root", pkey=pkey)
            chan = t.open_session()
            chan.exec_command("ss -Htlnup")
            out = chan.makefile("rb").read()
            chan.makefile_stderr("rb").read()
            if chan.recv_exit_status() != 0 or not out:
                raise RuntimeError(f"{address}: ss failed")
            return len(out)
        finally:
            t.close()

    with ThreadPoolExecutor(max_workers=forks) as pool:
        done = list(pool.map(one, bench.addresses(n)))
    if len(done) != n:
        raise RuntimeError("fan-out lost hosts")


def run_ansible(bench: BenchHost, known: Path, ini: Path, forks: int, n: int) -> None:
    """ansible all -m raw -a 'ss -Htlnup' with the same forks and strict host keys."""
    env = {**os.environ, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={known} -o ControlMaster=no",
           "HOME": str(bench.dir), "ANSIBLE_LOCAL_TEMP": str(bench.dir / "ansible-tmp")}
    proc = subprocess.run(["ansible", "all", "-i", str(ini), "-m", "raw", "-a", "ss -Htlnup",
                           "-f", str(forks), "-u", "root", "--private-key", str(bench.key)],
                          env=env, capture_output=True, text=True, check=False)
    ok = proc.stdout.count("| CHANGED | rc=0")
    if ok != n:
        raise RuntimeError(f"ansible succeeded on {ok} of {n}: {proc.stdout[-500:]}")


def _median(values: list[Measurement]) -> Measurement:
    return Measurement(statistics.median(m.wall for m in values),
                       statistics.median(m.cpu for m in values))


def bench_fleet(args: argparse.Namespace) -> None:
    """The fan-out table: every tool, every N, medians of the repeats."""
    sizes = [int(s) for s in args.hosts.split(",")]
    with_ansible = not args.no_ansible and shutil.which("ansible") is not None
    rows = []
    with BenchHost(args.delay_ms) as bench, in_netns(bench.ns.name):
        for n in sizes:
            known, yml, ini = bench.files(n)
            tools: dict[str, Callable[[], None]] = {
                "paramiko fan-out": partial(run_fanout, bench, known, n, args.forks),
                "fleetcheck scan": partial(run_fleetcheck, bench, known, yml, args.forks, n),
                "fleetcheck --workers 1": partial(run_fleetcheck, bench, known, yml,
                                                  args.forks, n, 1),
            }
            if with_ansible and n <= args.ansible_max:
                tools["ansible -m raw"] = partial(run_ansible, bench, known, ini, args.forks, n)
            results: dict[str, list[Measurement]] = {t: [] for t in tools}
            for round_no in range(args.repeat):  # interleaved: drift on a shared machine hits all
                for name, fn in tools.items():
                    if name.startswith("ansible") and round_no >= args.ansible_repeat:
                        continue  # minutes per run, and far behind anyway
                    results[name].append(m := measure(fn))
                    print(f"{n} hosts, {name}: {m.wall:.2f}s wall, {m.cpu:.2f}s CPU",
                          file=sys.stderr, flush=True)
            base = _median(results["paramiko fan-out"])
            for name, ms in results.items():
                m = _median(ms)
                rows.append([n, name, m.wall, n / m.wall, 1000 * m.cpu / n, m.wall / base.wall,
                             m.cpu / base.cpu, " ".join(f"{x.wall:.2f}" for x in ms)])
    print_table(f"SSH fan-out, forks {args.forks}, netem delay {args.delay_ms} ms, "
                f"{os.cpu_count()} CPUs, median of {args.repeat} (Ansible: {args.ansible_repeat})",
                ["hosts", "tool", "wall s", "hosts/s", "CPU ms/host", "wall ÷ fan-out",
                 "CPU ÷ fan-out", "walls"], rows)


def _known_hosts_files(tmp: Path, entries: int) -> dict[str, Path]:
    """A plain known_hosts of `entries` lines and its `ssh-keygen -H` twin."""
    pub = keygen(tmp / f"k{entries}")
    plain = tmp / f"plain{entries}"
    plain.write_text("".join(f"10.{i // 65536}.{i // 256 % 256}.{i % 256} {pub}\n"
                             for i in range(entries)))
    hashed = tmp / f"hashed{entries}"
    hashed.write_text(plain.read_text())
    subprocess.run(["ssh-keygen", "-H", "-f", str(hashed)], capture_output=True, check=True)
    return {"plain": plain, "hashed": hashed}


def bench_known_hosts(entries: int, paramiko_entries: int) -> None:
    """Indexing and looking up a large known_hosts: fleetcheck's index vs paramiko's HostKeys.

    paramiko's HostKeys is timed on a smaller file: loading is quadratic (each
    added entry is compared with all before it) and takes minutes at 50,000.
    """
    from fleetcheck.transport.ssh.known_hosts import KnownHosts

    tmp = Path(tempfile.mkdtemp(prefix="fcbench-kh-"))
    try:
        rows = []
        for size, who in ((entries, "fleetcheck"), (paramiko_entries, "paramiko")):
            for label, path in _known_hosts_files(tmp, size).items():
                names = [f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"
                         for i in range(0, size, max(1, size // 50))]
                t0 = time.perf_counter()
                if who == "fleetcheck":
                    index = KnownHosts.load([path])
                    t1 = time.perf_counter()
                    for name in names:
                        assert index.entries_for(name)
                else:
                    hk = paramiko.HostKeys(str(path))
                    t1 = time.perf_counter()
                    for name in names:
                        assert hk.lookup(name)
                t2 = time.perf_counter()
                rows.append([who, label, size, t1 - t0, 1e3 * (t2 - t1) / len(names)])
        print_table("known_hosts: load once, then one lookup per host",
                    ["reader", "file", "entries", "load s", "ms per lookup"], rows)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named on the command line and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--hosts", default="300,1000", help="comma-separated N (300,1000)")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="netem delay on the loopback (each way)")
    parser.add_argument("--no-ansible", action="store_true")
    parser.add_argument("--ansible-max", type=int, default=1000,
                        help="largest N Ansible is timed on (it is slow)")
    parser.add_argument("--ansible-repeat", type=int, default=1,
                        help="how many of the repeats include Ansible")
    parser.add_argument("--known-hosts-entries", type=int, default=50000)
    parser.add_argument("--paramiko-known-hosts-entries", type=int, default=2000)
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").is_file():
        print("needs root and OpenSSH's sshd", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up the lab on TERM too
    bench_fleet(args)
    if args.known_hosts_entries:
        bench_known_hosts(args.known_hosts_entries, args.paramiko_known_hosts_entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
