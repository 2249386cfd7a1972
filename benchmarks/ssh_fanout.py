"""SSH fan-out: fleetcheck's whole scan vs a plain paramiko fan-out vs Ansible, on N hosts.

The hosts are cheap: one network namespace whose loopback carries an optional
netem delay, one real sshd, N addresses (127.0.x.y all reach it), one known_hosts
entry per address, and a stray TCP 1923 plus a UDP listener for every report to
show. Each tool runs as the command a user would type, as a process of its own
(interpreter start and imports included), in rounds whose order rotates:

- fleetcheck: `python -m fleetcheck scan` with the shipped baseline policy and
  every report format (text on stdout too), default --workers;
- the fan-out floor (`benchmarks.fanout_baseline`): thread pool, known_hosts
  loaded once, connect, run `ss -Htlnup`, read; no parsing, no reports (with
  `--aead-fanout`, also the same fan-out asking for AES-GCM first, as fleetcheck does:
  the ratios stay against paramiko's own choice, the floor a user would write);
- `ansible all -m raw -a 'ss -Htlnup'` when ansible-core is installed.

Same forks, same strict host-key checking, same key, same timeouts for all.

    PYTHONPATH=. python -m benchmarks.ssh_fanout --hosts 300,1000 --forks 50

As root, from the repository root; needs iproute2 and OpenSSH's sshd. Prints,
per tool: wall time, hosts/s, client CPU per host (the tool's processes), sshd's
CPU per host (the server side, which shares this machine's cores in this lab)
and the ratios to the fan-out measured in the same round (median and range over
the rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import paramiko

from benchmarks.common import children_cpu, print_table
from benchmarks.known_hosts_scale import bench_known_hosts
from fleetcheck.collect import followups, probe, wrap_command
from fleetcheck.collect.become import Becoming
from fleetcheck.engine.options import worker_ceiling
from fleetcheck.plan import PlannedHost
from fleetcheck.transport.ssh.negotiate import cipher_order
from tests.lab.netns import Namespace, Sock, SocketHolders, in_netns, unique_name
from tests.lab.sshd import keygen, launch_sshd, wait_started

ROOT = Path(__file__).resolve().parent.parent
FANOUT = "paramiko fan-out"
# What every host shows besides sshd: a stray SPICE port (a critical finding) and a UDP socket.
STRAYS = (Sock("tcp", "0.0.0.0", 1923, process="spiced"),
          Sock("udp", "0.0.0.0", 5353, process="mdnsd"))


class BenchHost:
    """One namespace, one sshd, N loopback addresses, known_hosts and an inventory for them."""

    def __init__(self, delay_ms: float) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="fcbench-"))
        self.ns = Namespace(unique_name("fcb"))
        self.delay_ms = delay_ms
        self.key = self.dir / "client"
        self.host_pub = ""
        self.sshd_pid = 0
        self.holders = SocketHolders(self.ns)

    def __enter__(self) -> BenchHost:
        self.ns.create()
        try:
            self.host_pub = keygen(self.dir / "host_ed25519")
            (self.dir / "authorized_keys").write_text(keygen(self.key) + "\n")
            config = [f"HostKey {self.dir}/host_ed25519", "ListenAddress 0.0.0.0",
                      f"AuthorizedKeysFile {self.dir}/authorized_keys",
                      "PermitRootLogin prohibit-password", "PasswordAuthentication no",
                      "MaxStartups 2000:30:4000", "LogLevel ERROR"]
            # The lab's root gets an empty home (in sshd's own mount namespace): this
            # machine's start-up files (a .bashrc that starts a language manager costs
            # ~150 ms per command) are not what a fleet host's login shell runs.
            (self.dir / "home-of-root").mkdir(mode=0o700)
            # cgroup2 as on any current Linux host (ss -e complains on stderr without it).
            (self.dir / "cgroup2").mkdir()
            mounts = [f"mount --bind {self.dir}/home-of-root {pwd.getpwuid(0).pw_dir}",
                      f"{{ mount -t cgroup2 none {self.dir}/cgroup2 || true; }}"]
            pidfile = launch_sshd(self.ns, self.dir, config, mounts=mounts)
            wait_started([pidfile])
            self.sshd_pid = int(pidfile.read_text().split()[0])
            self.holders.hold(STRAYS)
            if self.delay_ms:
                tc = subprocess.run(self.ns.exec_argv(["tc", "qdisc", "add", "dev", "lo", "root",
                                                       "netem", "delay", f"{self.delay_ms}ms"]),
                                    capture_output=True, text=True, check=False)
                if tc.returncode:
                    raise RuntimeError(f"--delay-ms needs the kernel's netem qdisc (sch_netem): "
                                       f"{tc.stderr.strip()}")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.holders.stop()
        self.ns.delete()
        shutil.rmtree(self.dir, ignore_errors=True)

    def server_cpu(self) -> float:
        """CPU seconds sshd and every process it has reaped (sessions, shells, tools) used."""
        fields = Path(f"/proc/{self.sshd_pid}/stat").read_text().rpartition(")")[2].split()
        return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")

    def server_idle(self, timeout: float = 10.0) -> None:
        """Wait until sshd has no session left (so its CPU count is complete)."""
        children = Path(f"/proc/{self.sshd_pid}/task/{self.sshd_pid}/children")
        deadline = time.monotonic() + timeout
        while children.exists() and children.read_text().strip():
            if time.monotonic() > deadline:
                raise RuntimeError("sshd sessions still open after the tool finished")
            time.sleep(0.05)

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


@dataclass(frozen=True)
class Tool:
    """A command to time and how to tell that it checked every host."""

    name: str
    argv: list[str]
    env: dict[str, str]
    check: str  # "fleetcheck" | "fanout" | "ansible"
    cwd: Path = ROOT  # `python -m` puts its working directory first on the path


@dataclass(frozen=True)
class Sample:
    """One timed run: wall seconds, the tool's CPU seconds, sshd's CPU seconds, the peak RSS
    of the tool's largest process (MiB) and the size of each report it wrote (bytes)."""

    wall: float
    cpu: float
    server: float
    rss: float = 0.0
    sizes: tuple[tuple[str, int], ...] = ()


def tools_for(bench: BenchHost, n: int, args: argparse.Namespace) -> list[Tool]:
    """The commands compared for N hosts."""
    known, yml, ini = bench.files(n)
    base_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(bench.dir),
                "PYTHONPATH": str(ROOT), "LANG": "C.UTF-8"}
    # a loaded machine: slow, not broken
    timeouts = ["-T", "60", "--command-timeout", "120"]
    tools = [Tool(FANOUT, [sys.executable, "-m", "benchmarks.fanout_baseline",
                           "--known-hosts", str(known), "--key", str(bench.key),
                           "--forks", str(args.forks), *bench.addresses(n)],
                  base_env, "fanout")]
    if args.aead_fanout:  # the same fan-out with fleetcheck's cipher order: what GCM is worth
        defaults = paramiko.Transport._preferred_ciphers  # type: ignore[attr-defined]  # untyped
        order = ",".join(cipher_order(defaults))
        tools.append(Tool(f"{FANOUT} (AES-GCM first)", [*tools[0].argv[:3], "--ciphers", order,
                                                         *tools[0].argv[3:]],
                          base_env, "fanout"))
    fleetcheck = [sys.executable, "-m", "fleetcheck", "scan", "-i", str(yml),
                  "-o", str(bench.dir / "reports"), "-f", str(args.forks), "--format", "all",
                  "--known-hosts", str(known), "--private-key", str(bench.key), "-u", "root",
                  *timeouts]
    default = worker_ceiling(n)
    tools.append(Tool(f"fleetcheck scan (default: 1 process, up to {default})", fleetcheck,
                      {**base_env, "CI": "true"}, "fleetcheck"))
    if args.json_only:  # what the other report formats cost, by difference
        tools.append(Tool("fleetcheck scan --format json", [*fleetcheck, "--format", "json"],
                          {**base_env, "CI": "true"}, "fleetcheck"))
    for other in _roots(args):
        # another checkout (an older commit, say) in the same rounds: before/after, paired
        tools.append(Tool(f"fleetcheck scan @ {other.name}", fleetcheck,
                          {**base_env, "CI": "true", "PYTHONPATH": str(other)}, "fleetcheck",
                          cwd=other))
    for w in sorted({int(x) for x in args.also_workers.split(",") if x}):
        tools.append(Tool(f"fleetcheck scan --workers {w}", [*fleetcheck, "--workers", str(w)],
                          {**base_env, "CI": "true"}, "fleetcheck"))
    if not args.no_ansible and shutil.which("ansible") and n <= args.ansible_max:
        env = {**base_env, "ANSIBLE_HOST_KEY_CHECKING": "True", "ANSIBLE_NOCOLOR": "1",
               "ANSIBLE_SSH_ARGS": f"-o UserKnownHostsFile={known} -o ControlMaster=no",
               "ANSIBLE_LOCAL_TEMP": str(bench.dir / "ansible-tmp")}
        tools.append(Tool("ansible -m raw", [
            "ansible", "all", "-i", str(ini), "-m", "raw", "-a", "ss -Htlnup",
            "-f", str(args.forks), "-u", "root", "--private-key", str(bench.key), "-T", "60"],
            env, "ansible"))
    return tools



def run_tool(bench: BenchHost, tool: Tool, n: int, tries: int = 2) -> Sample:
    """Run one tool to completion; its figures, after checking it reached every host.

    A run that missed a host is run again (once by default) and only the full run's
    figures count: under this load paramiko now and then reads a packet it cannot
    frame ("Invalid packet blocking"), which would otherwise cost the whole benchmark.
    """
    for attempt in range(1, tries + 1):
        try:
            return _run_once(bench, tool, n)
        except RuntimeError as exc:
            if attempt == tries:
                raise
            print(f"{tool.name}: {str(exc)[:200]}; running it again", file=sys.stderr)
    raise AssertionError("unreachable")


def _run_once(bench: BenchHost, tool: Tool, n: int) -> Sample:
    """One run of `tool` against `n` hosts (see run_tool)."""
    shutil.rmtree(bench.dir / "reports", ignore_errors=True)
    bench.server_idle()
    server0, cpu0, wall0 = bench.server_cpu(), children_cpu(), time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        child = subprocess.Popen(tool.argv, env=tool.env, cwd=tool.cwd, stdout=out, stderr=err,
                                 text=True)
        _, status, usage = os.wait4(child.pid, 0)  # this child's own peak RSS
        child.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - wall0
        out.seek(0)
        err.seek(0)
        proc = subprocess.CompletedProcess(tool.argv, child.returncode, out.read(), err.read())
    cpu = children_cpu() - cpu0
    bench.server_idle()
    server = bench.server_cpu() - server0
    _verify(bench, tool, n, proc)
    sizes = tuple((p.name.split(".", 1)[1], p.stat().st_size)
                  for p in sorted((bench.dir / "reports").glob("fleetcheck-2*")))
    return Sample(wall, cpu, server, usage.ru_maxrss / 1024, sizes)


def _verify(bench: BenchHost, tool: Tool, n: int, proc: subprocess.CompletedProcess[str]) -> None:
    """Every host checked, with the stray listener found where findings are made."""
    tail = (proc.stdout[-400:] + proc.stderr[-800:]).strip()
    if tool.check == "fanout":
        ok = proc.returncode == 0 and proc.stdout.startswith(f"{n} hosts")
    elif tool.check == "ansible":
        ok = proc.stdout.count("| CHANGED | rc=0") == n and proc.stdout.count(":1923 ") == n
    else:
        report = json.loads(next(p for p in (bench.dir / "reports").glob("*.json")
                                 if not p.name.endswith(".oscal.json")).read_text())
        summary = report["summary"]
        spice = sum(any(f["port"] == 1923 for f in h["findings"]) for h in report["hosts"])
        ok = proc.returncode == 1 and summary["noncompliant"] == n and spice == n
        tail = f"{summary} {tail}"
    if not ok:
        raise RuntimeError(f"{tool.name} did not check all {n} hosts (exit "
                           f"{proc.returncode}): {tail}")


def _spread(values: list[float], fmt: str = "{:.2f}") -> str:
    return fmt.format(statistics.median(values)) + (
        f" ({fmt.format(min(values))}–{fmt.format(max(values))})" if len(values) > 1 else "")


def bench_fleet(args: argparse.Namespace) -> None:
    """The fan-out table: every tool, every N, medians and ranges over the rounds."""
    rows = []
    with BenchHost(args.delay_ms) as bench, in_netns(bench.ns.name):
        for n in (int(s) for s in args.hosts.split(",")):
            tools = tools_for(bench, n, args)
            samples: dict[str, list[Sample]] = {t.name: [] for t in tools}
            rounds: list[dict[str, Sample]] = []
            for r in range(args.repeat):  # rotated: drift on a shared machine hits every tool
                got: dict[str, Sample] = {}
                for tool in tools[r % len(tools):] + tools[:r % len(tools)]:
                    if tool.check == "ansible" and r >= args.ansible_repeat:
                        continue  # minutes per run, and far behind anyway
                    got[tool.name] = s = run_tool(bench, tool, n)
                    samples[tool.name].append(s)
                    print(f"{n} hosts, round {r + 1}, {tool.name}: {s.wall:.2f}s wall, "
                          f"{s.cpu:.2f}s CPU, sshd {s.server:.2f}s", file=sys.stderr, flush=True)
                rounds.append(got)
            for tool in tools:
                ss = samples[tool.name]
                walls = [r[tool.name].wall / r[FANOUT].wall for r in rounds if tool.name in r]
                cpus = [r[tool.name].cpu / r[FANOUT].cpu for r in rounds if tool.name in r]
                wall = statistics.median(s.wall for s in ss)
                rows.append([n, tool.name, _spread([s.wall for s in ss], "{:.1f}"),
                             f"{n / wall:.1f}", _spread([1e3 * s.cpu / n for s in ss]),
                             _spread([1e3 * s.server / n for s in ss]),
                             _spread(walls), _spread(cpus)])
        print_table(f"SSH fan-out, forks {args.forks}, netem delay {args.delay_ms} ms, "
                    f"{os.cpu_count()} CPUs shared by client and sshd; median (min–max) of "
                    f"{args.repeat} rounds (Ansible: {min(args.ansible_repeat, args.repeat)}); "
                    "ratios paired within each round",
                    ["hosts", "tool", "wall s", "hosts/s", "client CPU ms/host",
                     "sshd CPU ms/host", "wall ÷ fan-out", "client CPU ÷ fan-out"], rows)
        if args.probe_runs:
            bench_probe_cost(bench, args.probe_runs, others=_roots(args))


def _roots(args: argparse.Namespace) -> list[Path]:
    """The other checkouts --also-root names."""
    return [Path(x).resolve() for x in args.also_root.split(",") if x]


def bench_probe_listeners(n: int, runs: int, others: Sequence[Path] = ()) -> None:
    """The per-host command table on a host with `n` more listeners, two a process, every
    other process not root's (as a real server's services): what the probe's steps for
    each listed pid (its comm) and user (its name) cost where a host runs many services,
    which the fleet lab's three listeners, all root's, hide."""
    with BenchHost(0) as bench, in_netns(bench.ns.name):
        bench.holders.hold([Sock("udp" if i % 3 == 0 else "tcp", "0.0.0.0", 9000 + i,
                                 process=f"daemon{i // 2}",
                                 user="nobody" if i // 2 % 2 else None) for i in range(n)])
        print(f"\nWith {n} more listeners held by {(n + 1) // 2} processes, every other "
              "one nobody's:")
        bench_probe_cost(bench, runs, others=others)


def _probe_of(checkout: Path, nonce: str) -> tuple[str, bytes | None]:
    """The probe's command line, and what it reads on stdin, as another checkout of
    fleetcheck builds them (checkouts before the probe went on stdin: nothing)."""
    code = ("import json, sys\n"
            "from fleetcheck.collect import probe, wrap_command\n"
            "from fleetcheck.plan import PlannedHost\n"
            "plain = PlannedHost('bench', 'bench', (), ())\n"
            "b = wrap_command(probe.build_probe(sys.argv[1]), plain)\n"
            "print(json.dumps([b.command, getattr(b, 'script', None)]))\n")
    command, script = json.loads(subprocess.run(
        [sys.executable, "-c", code, nonce], cwd=checkout, check=True,
        env={**os.environ, "PYTHONPATH": str(checkout)}, capture_output=True, text=True).stdout)
    return command, None if script is None else f"{script}\n".encode()


def _as_run(becoming: Becoming) -> tuple[str, bytes | None]:
    """A probe's command line and its stdin (bytes, or nothing)."""
    stdin = becoming.stdin
    return becoming.command, stdin if isinstance(stdin, bytes) else None


def _probe_variants(others: Sequence[Path] = ()) -> dict[str, tuple[str, bytes | None]]:
    """The command lines whose cost on a host is compared: the probe, its parts, bare ss,
    and the probe of each other checkout."""
    nonce = secrets.token_hex(8)
    plain = PlannedHost("bench", "bench", (), ())
    saved = dict(followups.FOLLOW_UPS)
    followups.FOLLOW_UPS.clear()  # the probe as it would be without the user-name lookup
    probe.probe_parts.cache_clear()
    try:
        no_users = _as_run(wrap_command(probe.build_probe(nonce), plain))
    finally:
        followups.FOLLOW_UPS.update(saved)
        probe.probe_parts.cache_clear()
    return {"login shell alone (bash -c true)": ("true", None),
            "fan-out's command (ss -Htlnup)": ("ss -Htlnup", None),
            "the probe's listing alone (ss -tulnpe)": ("ss -tulnpe", None),
            "fleetcheck's probe, as run": _as_run(wrap_command(probe.build_probe(nonce), plain)),
            "probe without the user-name lookup": no_users,
            **{f"fleetcheck's probe @ {o.name}": _probe_of(o, nonce) for o in others}}


def command_costs(bench: BenchHost, variants: dict[str, tuple[str, bytes | None]], runs: int,
                  rounds: int) -> dict[str, list[float]]:
    """CPU ms per run of each command line (with its stdin) as sshd's login shell would run
    it on `bench`'s host, one figure a round; rounds alternate the commands."""
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(bench.dir / "home-of-root")}
    costs: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(rounds):
        for name, (command, stdin) in variants.items():
            cpu0 = children_cpu()
            for _ in range(runs):
                subprocess.run(["bash", "-c", command], env=env, capture_output=True, check=True,
                               input=stdin if stdin is not None else b"")
            costs[name].append(1e3 * (children_cpu() - cpu0) / runs)
    return costs


def bench_probe_cost(bench: BenchHost, runs: int, rounds: int = 5,
                     others: Sequence[Path] = ()) -> None:
    """CPU per run on the host of what each tool asks sshd's login shell to run."""
    costs = command_costs(bench, _probe_variants(others), runs, rounds)
    base = statistics.median(costs["fan-out's command (ss -Htlnup)"])
    print_table(f"What runs on each host, in this lab's namespace: CPU per run, median (min–max) "
                f"of {rounds} rounds of {runs}",
                ["command", "CPU ms per run", "÷ ss -Htlnup"],
                [[k, _spread(v), f"{statistics.median(v) / base:.2f}"]
                 for k, v in costs.items()])


def bench_scale(args: argparse.Namespace) -> None:
    """One round per N of the fan-out and fleetcheck: throughput, memory, report sizes, and
    the largest HTML report in headless Chromium (first screen, every host reachable)."""
    rows, sizes, html = [], [], None
    with BenchHost(args.delay_ms) as bench, in_netns(bench.ns.name):
        for n in (int(x) for x in args.scale_hosts.split(",")):
            fanout, fleetcheck = tools_for(bench, n, argparse.Namespace(
                **{**vars(args), "no_ansible": True, "json_only": False, "also_workers": "",
                   "aead_fanout": False}))
            base, got = run_tool(bench, fanout, n), run_tool(bench, fleetcheck, n)
            for tool, s in ((fanout, base), (fleetcheck, got)):
                rows.append([n, tool.name, f"{s.wall:.1f}", f"{n / s.wall:.1f}",
                             f"{1e3 * s.cpu / n:.2f}", f"{1e3 * s.server / n:.2f}",
                             f"{s.wall / base.wall:.2f}", f"{s.cpu / base.cpu:.2f}",
                             f"{s.rss:.0f}"])
            sizes += [[n, kind, f"{size / 1e6:.1f}", f"{size / n:.0f}"] for kind, size in got.sizes]
            html = next((bench.dir / "reports").glob("fleetcheck-2*.html"))
            if args.browser:
                html = html.rename(bench.dir / f"largest-{n}.html")
        print_table("Fleet scale: one round per N (ratios within it)",
                    ["hosts", "tool", "wall s", "hosts/s", "client CPU ms/host",
                     "sshd CPU ms/host", "wall ÷ fan-out", "client CPU ÷ fan-out",
                     "peak RSS MiB (largest process)"], rows)
        print_table("Report sizes of those scans", ["hosts", "report", "MB", "bytes/host"], sizes)
        if args.browser and html is not None:
            browser_row(html)


def browser_row(html: Path) -> None:
    """The HTML report opened in headless Chromium: first screen, load, every host reachable."""
    from benchmarks.render import _browser_load  # Chromium's driver, as for synthetic fleets
    from tests.render.cdp import chromium_path

    binary = chromium_path()
    if binary is None:
        raise RuntimeError("--browser needs Chromium")
    text = html.read_text()
    host = "h00000"
    with tempfile.TemporaryDirectory() as tmp:
        seconds, paint, load, filtered, hosts = _browser_load(text, binary, Path(tmp), host)
    print_table(f"{html.name} in headless Chromium", ["MB", "first paint s", "load s",
                "host filter s", "navigation s", "host sections"],
                [[f"{len(text.encode()) / 1e6:.1f}", paint, load, filtered, seconds, hosts]])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmarks named on the command line and print their tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("--hosts", default="300,1000", help="comma-separated N (300,1000)")
    parser.add_argument("--forks", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3, help="rounds per N")
    parser.add_argument("--delay-ms", type=float, default=0.0,
                        help="netem delay on the loopback (each way)")
    parser.add_argument("--also-workers", default="",
                        help="also time fleetcheck with these fixed --workers (comma-separated)")
    parser.add_argument("--json-only", action="store_true",
                        help="also time fleetcheck writing only the JSON report")
    parser.add_argument("--no-ansible", action="store_true")
    parser.add_argument("--also-root", default="",
                        help="comma-separated checkouts of fleetcheck (another commit's worktree) "
                             "to run as tools of their own in the same rounds")
    parser.add_argument("--aead-fanout", action="store_true",
                        help="also time the fan-out asking for AES-GCM first, as fleetcheck does")
    parser.add_argument("--ansible-max", type=int, default=1000,
                        help="largest N Ansible is timed on (it is slow)")
    parser.add_argument("--ansible-repeat", type=int, default=1,
                        help="how many of the rounds include Ansible")
    parser.add_argument("--probe-runs", type=int, default=100,
                        help="runs per round of the per-host command cost table (0: skip it)")
    parser.add_argument("--probe-listeners", type=int, default=0,
                        help="also cost the probe on a host holding N more listeners (N/2 "
                             "processes): its per-pid steps grow with them")
    parser.add_argument("--known-hosts-entries", type=int, default=50000,
                        help="known_hosts benchmark size (0: skip it)")
    parser.add_argument("--paramiko-known-hosts-entries", type=int, default=2000)
    parser.add_argument("--scale-hosts", default="",
                        help="one round at each N (e.g. 5000,10000): memory and report sizes")
    parser.add_argument("--browser", action="store_true",
                        help="open the largest --scale-hosts HTML report in headless Chromium")
    args = parser.parse_args(argv)
    if os.geteuid() != 0 or not Path("/usr/sbin/sshd").is_file():
        print("needs root and OpenSSH's sshd", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # clean up the lab on TERM too
    if args.hosts:
        try:
            bench_fleet(args)
        except RuntimeError as exc:
            print(f"ssh_fanout: {exc}", file=sys.stderr)
            return 1
    if args.scale_hosts:
        bench_scale(args)
    if args.probe_listeners:
        bench_probe_listeners(args.probe_listeners, args.probe_runs or 100, _roots(args))
    if args.known_hosts_entries:
        bench_known_hosts(args.known_hosts_entries, args.paramiko_known_hosts_entries)
    return 0


if __name__ == "__main__":
    sys.exit(main())
