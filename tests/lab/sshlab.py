"""A lab of real OpenSSH hosts: one network namespace and one sshd per host, behind a bridge.

Topology: a controller namespace holds bridge `br0` (10.77.0.1/24, fd77::1/64);
every host namespace is joined to it by a veth pair and runs its own sshd
(own host key, own sshd_config, own pid file, nothing read from the machine's
/etc/ssh). A bastion host also holds bridge `br1` (10.77.1.1/24): hosts marked
`behind_bastion` hang off it, so only the bastion can reach them.

Each sshd runs in a private mount namespace where the lab's own passwd, group,
shadow and sudoers files are bind-mounted over /etc, and a tmpfs covers /run:
lab users and sudo rules exist for the lab hosts only and the machine's files
are never touched. Tools can be hidden or replaced per host the same way.

A host can emulate another OS (`emulate=`, see tests/lab/emulate.py) while its sshd
stays real: for a POSIX emulation the lab users keep a real login shell (sh, or csh as
FreeBSD root had) and sshd gives their sessions a PATH with the replaying shims first
(`SetEnv`; sudo's `secure_path` likewise), as the OS's own PATH holds its tools; for
Windows the stand-in cmd.exe or PowerShell is the login shell, as Windows OpenSSH's
DefaultShell runs every command. The host's sshd.log counts the sessions it served.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.lab.cgroups import make_cgroup, remove_cgroup
from tests.lab.emulate import Emulation, install, masks, overlay_mounts
from tests.lab.netns import Namespace, Sock, SocketHolders, unique_name
from tests.lab.sshd import keygen, launch_sshd, run, wait_started

OUTER = "10.77.0"
INNER = "10.77.1"
NOTHING_ADDRESS = f"{OUTER}.250"  # on the bridge's subnet; no host ever holds it
LONG_USER = "fc-long-service-account"
NUMERIC_USER = "7001"


@dataclass(frozen=True)
class LabUser:
    """A login on every lab host."""

    name: str
    sudo: str | None  # "nopasswd" | "password" | "true-only" (may run /usr/bin/true) | None
    password: str | None = None
    shell: str = "/bin/sh"  # "@name": the lab's login script LOGIN_SCRIPTS[name]
    bashrc: str | None = None  # its ~/.bashrc (bash reads it in an SSH command session)
    sudo_defaults: tuple[str, ...] = ()  # its own sudoers Defaults (`Defaults:name ...`)


# Login shells of hostile or odd hosts (sshd runs `SHELL -c COMMAND`).
LOGIN_SCRIPTS = {
    # An appliance CLI: ignores the command it is given and echoes whatever it reads.
    "echo": "exec cat\n",
    # A host that fakes sudo's password prompt (as sudo prints it: `%%` becomes `%`) from
    # the -p argument of the command it was given, then prints back what it was sent.
    "phish": ("prompt=$(printf '%s\\n' \"$2\" | sed -n \"s/.*sudo -S -p '\\([^']*\\)'.*/\\1/p\" "
              "| sed 's/%%/%/g')\n"
              "printf '%s' \"$prompt\" >&2\n"
              "IFS= read -r line\n"
              "printf 'you typed: %s\\n' \"$line\"\n"
              "printf 'you typed: %s\\n' \"$line\" >&2\n"),
    # A host that fakes su's (PAM's) prompt on whatever terminal it was given, then prints
    # back what it read (the terminal echoes it too).
    "suphish": ("printf 'Password: ' >&2\n"
                "IFS= read -r line\n"
                "printf 'you typed: %s\\n' \"$line\"\n"),
}


# OpenDoas rules of hosts with `doas=True`: fcops without a password, fcpw with its own.
DOAS_RULES = ("permit nopass fcops as root", "permit fcpw as root",
              "permit nopass fcops as fcpw")


@dataclass(frozen=True)
class HostSpec:
    """One lab host and what is special about it."""

    name: str
    port: int = 22
    sshd: bool = True  # False: nothing listens on the SSH port (connection refused)
    tarpit: bool = False  # the SSH port accepts TCP and never sends a banner
    bastion: bool = False  # also on the inner subnet
    behind_bastion: bool = False  # reachable only through the bastion
    key_types: tuple[str, ...] = ("ed25519",)
    rekeyed: bool = False  # the lab's known_hosts holds an older key than the host serves
    in_known_hosts: bool = True  # False: the lab's known_hosts does not list this host
    hide: tuple[str, ...] = ()  # tools made invisible on this host (no longer executable)
    hide_proc: bool = False  # an empty /proc in sessions: no socket tables to fall back to
    replace: Mapping[str, str] = field(default_factory=dict)  # tool -> script body
    daemon_name: str = "sshd"  # the daemon's process name ("dropbear": 22 not held by sshd)
    emulate: Emulation | None = None  # the OS its lab users' sessions see (tools replayed)
    doas: bool = False  # /etc/doas.conf holds the lab's doas rules (DOAS_RULES)
    # Its own cgroup (v2) and cgroup namespace: containers made for it (tests/lab/
    # containers.py) sit under that root as a runtime puts them under a machine's.
    cgroupns: bool = False
    add_tools: Mapping[str, str] = field(default_factory=dict)  # tool -> script, on its PATH
    # sshd_config lines of its own, before the lab's (sshd keeps a keyword's first value;
    # MaxStartups, whose last value counts, is then left out of the lab's).
    sshd_config: tuple[str, ...] = ()
    # Files the host sees instead of the machine's (absolute path -> text; the path must
    # exist on the machine), e.g. its own /etc/pam.d/sshd: bind-mounted in its namespace.
    files: Mapping[str, str] = field(default_factory=dict)
    # Shell commands run in its mount namespace (as root) before sshd starts, e.g. to
    # build a ChrootDirectory under its own /run, whose path sshd accepts (root's, not
    # writable by others: the lab's directory under /tmp is not).
    setup: tuple[str, ...] = ()


@dataclass
class LabHost:
    """A running lab host."""

    spec: HostSpec
    ns: Namespace
    address: str
    address6: str | None
    host_keys: list[str]  # "type base64" of every key sshd serves
    known_keys: list[str]  # what the lab's known_hosts says (older keys when rekeyed)
    dir: Path
    cgroup: Path | None = None  # the root of its cgroup namespace (HostSpec.cgroupns)

    @property
    def name(self) -> str:
        """The host's inventory name."""
        return self.spec.name


class SshLab:
    """N real sshd hosts in namespaces; `start` builds it, `stop` removes every trace."""

    USERS: tuple[LabUser, ...] = (
        LabUser("fcops", "nopasswd"),
        LabUser("fcpw", "password", password="lab-pw-7Gq2"),  # noqa: S106 - lab only
        LabUser("fcplain", "true-only"),
        LabUser("fcnoshell", None, shell="/bin/false"),  # noqa: S604 - logs in, runs nothing
        LabUser("fcecho", "password", password="echo-pw-Zr81", shell="@echo"),  # noqa: S106, S604
        LabUser("fcphish", "password", password="phish-pw-Qm45", shell="@phish"),  # noqa: S106, S604
        LabUser("fcsuphish", None, password="suphish-pw-Lk37", shell="@suphish"),  # noqa: S106, S604
        # A chatty login (its .bashrc prints on stdout and stderr) that sudo lectures.
        LabUser("fcbash", "password", password="bash-pw-Hh31", shell="/bin/bash",  # noqa: S106, S604
                bashrc="echo 'welcome to this host'\necho 'rc on stderr' >&2\n",
                sudo_defaults=("lecture=always",)),
        # sudo refuses them without a terminal (RHEL's old `Defaults requiretty`).
        LabUser("fctty", "password", password="tty-pw-Rt52",  # noqa: S106 - lab only
                sudo_defaults=("requiretty",)),
        LabUser("fcttyn", "nopasswd", sudo_defaults=("requiretty",)),
        # Owners of sockets only (SshLab.hold runs processes as them): a name longer than
        # the 8 characters some tools' columns give, and one of digits only, as an LDAP
        # directory may hold, which only its place tells from a uid.
        LabUser(LONG_USER, None, shell="/bin/false"),  # noqa: S604 - never logs in
        LabUser(NUMERIC_USER, None, shell="/bin/false"),  # noqa: S604 - never logs in
    )

    def __init__(self, specs: Sequence[HostSpec]) -> None:
        self.specs = list(specs)
        self.root = Path(tempfile.mkdtemp(prefix="fclab-"))
        self.root.chmod(0o755)  # lab users must reach their keys and scripts
        self.controller = Namespace(unique_name("fcc"))
        self.hosts: dict[str, LabHost] = {}
        self.passphrase = "lab-passphrase-3k9"  # noqa: S105 - a throwaway lab key
        # root's password in the lab's own shadow file (for su): the machine's is untouched
        self.root_password = "lab-root-Vx52"  # noqa: S105 - lab only
        self.key = self.root / "client_ed25519"
        self.encrypted_key = self.root / "client_encrypted"
        self.rsa_pem_key = self.root / "client_rsa_pem"
        self.known_hosts = self.root / "known_hosts"
        self.unauthorized_key = self.root / "client_unauthorized"  # valid, but no host accepts it
        self._holders: list[SocketHolders] = []
        self._namespaces: list[Namespace] = []
        self._uids: dict[str, int] = {}
        self._gid = 0  # the lab users' group
        self._procs: list[subprocess.Popen[str]] = []

    # -- building ---------------------------------------------------------------------------

    def start(self) -> SshLab:
        """Create keys, users, namespaces, links and start every sshd; waits until all listen."""
        try:
            self._client_keys()
            self._accounts()
            self._network()
            self._start_hosts()
            self._write_known_hosts()
        except BaseException:
            self.stop()
            raise
        return self

    def _client_keys(self) -> None:
        pubs = [keygen(self.key), keygen(self.encrypted_key, passphrase=self.passphrase),
                keygen(self.rsa_pem_key, "rsa", fmt="PEM")]
        keygen(self.unauthorized_key)
        keys_dir = self.root / "authorized_keys"
        keys_dir.mkdir()
        for user in self.USERS:
            (keys_dir / user.name).write_text("".join(f"{p}\n" for p in pubs))
        (keys_dir).chmod(0o755)

    def _accounts(self) -> None:
        """Lab passwd/group/shadow (the machine's plus the lab users) and sudoers."""
        etc = self.root / "etc"
        etc.mkdir()
        passwd = Path("/etc/passwd").read_text()
        used = {int(line.split(":")[2]) for line in passwd.splitlines() if line.count(":") >= 6}
        gid = self._gid = next(g for g in range(42000, 60000) if g not in used)
        lines_p, lines_s = [], []
        uid = gid
        for user in self.USERS:
            uid += 1
            while uid in used:
                uid += 1
            self._uids[user.name] = uid
            home = self.root / "home" / user.name
            home.mkdir(parents=True)
            os.chown(home, uid, gid)
            if user.bashrc is not None:
                (home / ".bashrc").write_text(user.bashrc)
            shell = self._login_script(user.shell[1:]) if user.shell.startswith("@") \
                else user.shell
            lines_p.append(f"{user.name}:x:{uid}:{gid}:fleetcheck lab:{home}:{shell}\n")
            pw_hash = "*"
            if user.password:
                pw_hash = run(["openssl", "passwd", "-6", "-stdin"], user.password).strip()
            lines_s.append(f"{user.name}:{pw_hash}:19000:0:99999:7:::\n")
        (etc / "passwd").write_text(passwd + "".join(lines_p))
        (etc / "group").write_text(Path("/etc/group").read_text() + f"fclab:x:{gid}:\n")
        shadow = etc / "shadow"
        root_hash = run(["openssl", "passwd", "-6", "-stdin"], self.root_password).strip()
        machine = [f"root:{root_hash}:{line.split(':', 2)[2]}" if line.startswith("root:")
                   else line for line in Path("/etc/shadow").read_text().splitlines()]
        shadow.write_text("".join(f"{line}\n" for line in machine) + "".join(lines_s))
        shadow.chmod(0o640)
        rules = ["Defaults !fqdn, !lecture, env_reset", "root ALL=(ALL:ALL) ALL"]
        for user in self.USERS:
            rules += [f"Defaults:{user.name} {default}" for default in user.sudo_defaults]
            if user.sudo == "nopasswd":
                rules.append(f"{user.name} ALL=(ALL:ALL) NOPASSWD: ALL")
            elif user.sudo == "password":
                rules.append(f"{user.name} ALL=(ALL:ALL) ALL")
            elif user.sudo == "true-only":  # no password asked, so sudo says what it refuses
                rules += [f"Defaults:{user.name} !authenticate",
                          f"{user.name} ALL=(ALL:ALL) /usr/bin/true"]
        sudoers = etc / "sudoers"
        sudoers.write_text("\n".join(rules) + "\n")
        sudoers.chmod(0o440)
        doas = etc / "doas.conf"
        doas.write_text("\n".join(DOAS_RULES) + "\n")
        doas.chmod(0o600)

    def _login_script(self, name: str) -> str:
        """Write LOGIN_SCRIPTS[name] as an executable every lab user can run; its path."""
        path = self.root / "shells" / name
        path.parent.mkdir(mode=0o755, exist_ok=True)
        path.write_text(f"#!/bin/sh\n{LOGIN_SCRIPTS[name]}")
        path.chmod(0o755)
        return str(path)

    def _network(self) -> None:
        """Namespaces, veth pairs and the two bridges, in a handful of `ip -batch` calls."""
        self.controller.create()
        self._namespaces.append(self.controller)
        bastion = next((s for s in self.specs if s.bastion), None)
        outer_no, inner_no = 10, 10
        root_batch, ctrl_batch = [], ["link add br0 type bridge",
                                      f"addr add {OUTER}.1/24 dev br0",
                                      "addr add fd77::1/64 dev br0 nodad", "link set br0 up"]
        host_batches: dict[str, list[str]] = {}
        for i, spec in enumerate(self.specs):
            ns = Namespace(unique_name("fch"))
            ns.create()
            self._namespaces.append(ns)
            d = self.root / "hosts" / spec.name
            d.mkdir(parents=True)
            if spec.behind_bastion:
                assert bastion is not None, "a host behind a bastion needs a bastion host"
                address, address6 = f"{INNER}.{inner_no}", None
                inner_no += 1
            else:
                address, address6 = f"{OUTER}.{outer_no}", f"fd77::{outer_no:x}"
                outer_no += 1
            self.hosts[spec.name] = LabHost(spec, ns, address, address6, [], [], d)
            peer = f"v{i}"
            uplink_ns = self.controller.name
            if spec.behind_bastion:
                uplink_ns = "@bastion"  # patched below, once the bastion's namespace exists
            root_batch.append((peer, uplink_ns, ns.name))
            cmds = [f"addr add {address}/24 dev eth0", "link set eth0 up"]
            if address6:
                cmds.insert(1, f"addr add {address6}/64 dev eth0 nodad")
            if spec.behind_bastion:
                cmds.append(f"route add default via {INNER}.1")
            host_batches[spec.name] = cmds
        bastion_ns = self.hosts[bastion.name].ns.name if bastion else ""
        lines = []
        for peer, uplink, ns_name in root_batch:
            where = bastion_ns if uplink == "@bastion" else uplink
            lines.append(f"link add {peer} netns {where} type veth peer name eth0 netns {ns_name}")
        run(["ip", "-batch", "-"], "\n".join(lines) + "\n")
        bastion_batch = ["link add br1 type bridge", f"addr add {INNER}.1/24 dev br1",
                         "link set br1 up"] if bastion else []
        for peer, uplink, _ in root_batch:
            target = bastion_batch if uplink == "@bastion" else ctrl_batch
            target += [f"link set {peer} master {'br1' if uplink == '@bastion' else 'br0'}",
                       f"link set {peer} up"]
        run(["ip", "-n", self.controller.name, "-batch", "-"], "\n".join(ctrl_batch) + "\n")
        for spec in self.specs:
            batch = host_batches[spec.name]
            if spec.bastion:
                batch = batch + bastion_batch
            run(["ip", "-n", self.hosts[spec.name].ns.name, "-batch", "-"],
                 "\n".join(batch) + "\n")

    def _start_hosts(self) -> None:
        pidfiles = []
        for host in self.hosts.values():
            if host.spec.tarpit:
                self.hold(host.name, [Sock("tcp", "0.0.0.0", host.spec.port, process="tarpit")])
            if not host.spec.sshd or host.spec.tarpit:
                continue
            pidfiles.append(self._launch_sshd(host))
        wait_started(pidfiles)

    def _launch_sshd(self, host: LabHost) -> Path:
        spec, d = host.spec, host.dir
        keys = []
        for key_type in spec.key_types:
            path = d / f"host_{key_type}"
            if spec.rekeyed:  # the key the lab's known_hosts remembers, then the new one
                host.known_keys.append(keygen(d / f"old_{key_type}", key_type))
            pub = keygen(path, key_type)
            host.host_keys.append(pub)
            if not spec.rekeyed:
                host.known_keys.append(pub)
            keys.append(f"HostKey {path}")
        config = [
            *spec.sshd_config, f"Port {spec.port}", *keys,
            f"AuthorizedKeysFile {self.root}/authorized_keys/%u",
            "PasswordAuthentication yes", "PermitRootLogin no", "MaxSessions 50",
            "LogLevel VERBOSE", "AllowTcpForwarding yes",
        ]
        # sshd keeps the last MaxStartups it reads, unlike most keywords: a host's own wins
        # only when the lab's is left out.
        if not any(line.split()[:1] == ["MaxStartups"] for line in spec.sshd_config):
            config.append("MaxStartups 200:30:400")
        etc = {name: self.root / "etc" / name for name in ("passwd", "group", "shadow", "sudoers")}
        mounts: list[str] = []
        if spec.emulate is not None:
            more_config, mounts = self._emulate(host, spec.emulate, etc)
            config += more_config
        if spec.doas:  # /etc gets a file the machine does not have: an overlay, in /run
            mounts += ["mkdir -p /run/fc-etc/u /run/fc-etc/w",
                       f"cp {self.root / 'etc' / 'doas.conf'} /run/fc-etc/u/doas.conf",
                       "mount -t overlay overlay -o lowerdir=/etc,upperdir=/run/fc-etc/u,"
                       "workdir=/run/fc-etc/w /etc"]
        mounts += [f"mount --bind {path} /etc/{name}" for name, path in etc.items()]
        for tool in spec.hide:
            real = shutil.which(tool)
            if real:  # a non-executable file over the tool: `command -v` no longer finds it
                stub = d / f"hidden-{tool}"
                stub.write_text("")
                stub.chmod(0o644)
                mounts.append(f"mount --bind {stub} {os.path.realpath(real)}")
        for tool, body in spec.replace.items():
            real = shutil.which(tool)
            assert real, f"{tool} is not installed"
            script = d / f"replaced-{tool}"
            script.write_text(f"#!/bin/sh\n{body}\n")
            script.chmod(0o755)
            mounts.append(f"mount --bind {script} {os.path.realpath(real)}")
        for number, (where, text) in enumerate(spec.files.items()):
            own = d / f"file-{number}"
            own.write_text(text)
            own.chmod(0o644)
            mounts.append(f"mount --bind {own} {where}")
        mounts += spec.setup
        if spec.hide_proc:
            mounts.append("mount -t tmpfs -o mode=555 tmpfs /proc")
        if spec.add_tools:  # tools the machine lacks, first on the PATH of its sessions
            tools = d / "added-tools"
            tools.mkdir()
            for tool, body in spec.add_tools.items():
                (tools / tool).write_text(f"#!/bin/sh\n{body}\n")
                (tools / tool).chmod(0o755)
            tools.chmod(0o755)
            mounts.append(f"mount --bind {tools} /usr/local/bin")
        if spec.cgroupns:  # its own cgroup tree, mounted where a machine has it
            host.cgroup = make_cgroup(unique_name("fclab"))
            mounts.append("mount -t cgroup2 none /sys/fs/cgroup")
        return launch_sshd(host.ns, d, config, mounts, name=spec.daemon_name,
                           cgroup=host.cgroup)

    def _emulate(self, host: LabHost, emulation: Emulation,
                 etc: dict[str, Path]) -> tuple[list[str], list[str]]:
        """Install `emulation` for `host`'s lab users (own passwd and sudoers in `etc`);
        returns the sshd_config lines and the mounts it needs."""
        installed = install(emulation, host.dir / "emulated")
        # /run is the host's own tmpfs: the overlay's upper layer lives there.
        mounts = [*overlay_mounts(installed.overlay, Path("/run/fc-overlay")), *masks(emulation)]
        shells = {u.name: installed.login_shell for u in self.USERS if u.shell == "/bin/sh"}
        lines = []
        for line in etc["passwd"].read_text().splitlines():
            fields = line.split(":")
            if len(fields) == 7 and fields[0] in shells:
                fields[6] = shells[fields[0]]
            lines.append(":".join(fields))
        etc["passwd"] = host.dir / "passwd"
        etc["passwd"].write_text("\n".join(lines) + "\n")
        if installed.path is None:
            return [], mounts
        sudoers = host.dir / "sudoers"
        sudoers.write_text(f'Defaults secure_path="{installed.path}"\n'
                           + etc["sudoers"].read_text())
        sudoers.chmod(0o440)
        etc["sudoers"] = sudoers
        return [f"SetEnv PATH={installed.path}"], mounts

    def sessions(self, name: str) -> list[str]:
        """The sessions `name`'s sshd started so far ('command', 'shell', ...), from its log."""
        log = self.hosts[name].dir / "sshd.log"
        text = log.read_text() if log.exists() else ""
        return [line.split("Starting session: ", 1)[1].split()[0]
                for line in text.splitlines() if "Starting session: " in line]

    def _write_known_hosts(self) -> None:
        names = [n for n, h in self.hosts.items() if h.spec.in_known_hosts]
        self.known_hosts.write_text("".join(self.known_hosts_lines(*names)))

    # -- scenarios ---------------------------------------------------------------------------

    def known_hosts_lines(self, *names: str) -> list[str]:
        """known_hosts lines (plain, OpenSSH format) with the keys the lab remembers for `names`."""
        out = []
        for name in names:
            host = self.hosts[name]
            pattern = host.address if host.spec.port == 22 else f"[{host.address}]:{host.spec.port}"
            out += [f"{pattern} {key}\n" for key in host.known_keys]
            if host.address6:
                p6 = host.address6 if host.spec.port == 22 \
                    else f"[{host.address6}]:{host.spec.port}"
                out += [f"{p6} {key}\n" for key in host.known_keys]
        return out

    def hold(self, host: str, socks: Sequence[Sock]) -> SocketHolders:
        """Open real listening sockets inside `host`; closed by `release` or `stop`. A
        socket's user may be a lab user (which only the lab's hosts know) or the machine's."""
        holders = SocketHolders(self.hosts[host].ns)
        holders.hold(socks, {name: (uid, self._gid) for name, uid in self._uids.items()})
        self._holders.append(holders)
        return holders

    def release(self, holders: SocketHolders) -> None:
        """Close sockets opened by `hold`."""
        holders.stop()
        with contextlib.suppress(ValueError):
            self._holders.remove(holders)

    def flaky_port(self, host: str, port: int, fail_first: int) -> Path:
        """A port on `host` that resets its first `fail_first` connections, then relays to sshd.

        Returns the file holding how many connections it has accepted.
        """
        count = self.hosts[host].dir / f"flaky-{port}.count"
        count.write_text("0")
        self._helper(host, "flaky.py", port, self.hosts[host].spec.port, fail_first, count)
        return count

    def stall_port(self, host: str, port: int, mode: str) -> str:
        """An SSH server on `host` that stalls after its banner (`banner`) or in `auth`.

        Returns its host key as 'type base64'.
        """
        key = self.hosts[host].dir / f"stall-{port}"
        pub = keygen(key)
        self._helper(host, "stall.py", mode, port, key)
        return pub

    def _helper(self, host: str, script: str, *args: object) -> None:
        """Run one of the lab's helper scripts inside `host` until the lab stops."""
        argv = [sys.executable, str(Path(__file__).with_name(script)), *map(str, args)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        proc = subprocess.Popen(self.hosts[host].ns.exec_argv(argv), stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, text=True, env=env)
        assert proc.stdout is not None
        if proc.stdout.readline().strip() != "ready":
            proc.kill()
            raise RuntimeError(f"{script} did not start in {host}")
        self._procs.append(proc)

    def uid(self, name: str) -> int:
        """The uid of lab user `name`."""
        return self._uids[name]

    def user(self, name: str) -> LabUser:
        """The lab user called `name`."""
        return next(u for u in self.USERS if u.name == name)

    def stop(self) -> None:
        """Stop every process and remove every namespace and file the lab created."""
        for holders in self._holders:
            with contextlib.suppress(Exception):
                holders.stop()
        self._holders.clear()
        for proc in self._procs:
            proc.kill()
            proc.wait()
        self._procs.clear()
        for ns in reversed(self._namespaces):
            with contextlib.suppress(Exception):
                ns.delete()
        self._namespaces.clear()
        for host in self.hosts.values():
            if host.cgroup is not None:
                remove_cgroup(host.cgroup)
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> SshLab:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running_lab(specs: Sequence[HostSpec]) -> Iterator[SshLab]:
    """A started lab, removed on exit even when the body fails."""
    lab = SshLab(specs)
    try:
        yield lab.start()
    finally:
        lab.stop()
