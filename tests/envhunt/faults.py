"""Environment faults for the client side: the process state fleetcheck itself runs in.

A fault is what a case changes before `fleetcheck` starts (variables, limits, descriptors,
the working directory, files and mounts in a private mount namespace) and what the oracle
may then accept (`allows`): without a permission the run must agree with a clean one.
"""

from __future__ import annotations

import random
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field

# What a fault may change in the outcome (the oracle's permissions):
EXIT2 = "exit2"  # an unusable environment: one line naming it, exit 2, no host contacted
HOSTERR = "hosterr"  # hosts may become errors (never compliant), the run still judged
LOST = "lost"  # reports may be lost (exit 4 for a clean verdict, the verdict otherwise)
NOOUT = "noout"  # stdout cannot be written (its text is not compared)
NOERR = "noerr"  # stderr cannot be written (nothing is read from it)
NOREAD = "noread"  # the reports directory cannot be read back by the hunt
OUTPUT = "output"  # stdout may differ (layout, encoding), the verdict may not


@dataclass(frozen=True)
class Fault:
    """One change to the client's environment."""

    name: str
    env: dict[str, str | None] = field(default_factory=dict)  # None: unset
    pre: tuple[str, ...] = ()  # shell lines (root, private mount namespace), {W} = the case dir
    limits: tuple[str, ...] = ()  # `ulimit`/`umask` lines, run just before fleetcheck
    redirect: str = ""  # replaces a standard stream ("<&-", ">/dev/full", ...)
    cwd: str | None = None  # the working directory (shell words), {W} = the case dir
    out: str | None = None  # the reports directory, when the fault is about it
    known_hosts: str | None = None  # the --known-hosts file, when the fault is about it
    pids_max: int | None = None  # a cgroup whose pids.max holds the run's threads
    allows: frozenset[str] = frozenset()
    wants: str | None = None  # "many": the fault is about many hosts and forks
    home_only: bool = False  # its HOSTERR only when known_hosts is the default (in HOME)
    exit2_for: frozenset[str] = frozenset()  # commands it may make refuse (exit 2)


def _ro(path: str) -> tuple[str, ...]:
    """Shell lines making `path` read-only (a bind mount: root ignores modes)."""
    return (f"mount --bind {path} {path}", f"mount -o remount,ro,bind {path}")


def locale(rng: random.Random) -> Fault:
    value = rng.choice(["C", "POSIX", "C.UTF-8", "xx_YY.UTF-8", "en_US.ISO-8859-1",
                        "tr_TR.UTF-8", "de_DE", "??", "", "/etc/passwd"])
    var = rng.choice(["LANG", "LC_ALL", "LC_CTYPE", "LANGUAGE", "LC_MESSAGES"])
    return Fault(f"{var}={value!r}", env={var: value})


def ioencoding(rng: random.Random) -> Fault:
    value = rng.choice(["ascii", "latin-1", "ascii:strict", "utf-8:strict", "cp1252",
                        "utf-16", ":surrogateescape", "ascii:replace"])
    return Fault(f"PYTHONIOENCODING={value}", env={"PYTHONIOENCODING": value},
                 allows=frozenset({OUTPUT}))


def home(rng: random.Random) -> Fault:
    kind = rng.choice(["unset", "missing", "ro", "file", "empty", "nossh", "devnull"])
    allows = frozenset({HOSTERR})  # the default known_hosts lives there
    if kind == "unset":
        return Fault("HOME unset", env={"HOME": None}, allows=allows, home_only=True)
    if kind == "missing":
        return Fault("HOME missing", env={"HOME": "{W}/nohome"}, allows=allows,
                     home_only=True)
    if kind == "ro":
        return Fault("HOME read-only", env={"HOME": "{W}/home"}, pre=_ro("{W}/home"),
                     allows=allows, home_only=True)
    if kind == "file":
        return Fault("HOME a file", pre=("echo x > {W}/homefile",),
                     env={"HOME": "{W}/homefile"}, allows=allows, home_only=True)
    if kind == "nossh":
        # --known-hosts names the file in it too: missing, it is bad input (exit 2)
        return Fault("~/.ssh missing", pre=("rm -rf {W}/home/.ssh",),
                     allows=frozenset({HOSTERR, EXIT2}))
    if kind == "devnull":
        return Fault("HOME=/dev/null", env={"HOME": "/dev/null"}, allows=allows, home_only=True)
    return Fault("HOME empty", env={"HOME": ""}, allows=allows, home_only=True)


def known_hosts(rng: random.Random) -> Fault:
    kind = rng.choice(["dir", "dangling", "missing", "garbage", "ro-dir", "empty", "fifo"])
    path = "{W}/home/.ssh/known_hosts"
    allows = frozenset({HOSTERR, EXIT2})
    pre: tuple[str, ...] = {
        "dir": (f"rm -f {path}", f"mkdir {path}"),
        "dangling": (f"rm -f {path}", f"ln -s {{W}}/nowhere {path}"),
        "missing": (f"rm -f {path}",),
        "garbage": (f"head -c 3000 /dev/urandom > {path}",),
        "ro-dir": _ro("{W}/home/.ssh"),
        "empty": (f": > {path}",),
        "fifo": (f"rm -f {path}", f"mkfifo {path}"),  # nobody writes: read as empty
    }[kind]
    return Fault(f"known_hosts {kind}", pre=pre, allows=allows, known_hosts=path)


def cwd(rng: random.Random) -> Fault:
    kind = rng.choice(["deleted", "ro", "root", "proc"])
    shown = frozenset({OUTPUT})  # paths are shown relative to the working directory
    if kind == "deleted":
        return Fault("cwd deleted", pre=("mkdir -p {W}/gone",), cwd="{W}/gone && rmdir {W}/gone",
                     allows=shown)
    if kind == "ro":
        return Fault("cwd read-only", pre=("mkdir -p {W}/rocwd", *_ro("{W}/rocwd")),
                     cwd="{W}/rocwd", allows=shown)
    return Fault(f"cwd {kind}", cwd="/" if kind == "root" else "/proc/self", allows=shown)


def tmpdir(rng: random.Random) -> Fault:
    kind = rng.choice(["missing", "file", "ro", "empty"])
    pre: tuple[str, ...] = ()
    value = {"missing": "{W}/notmp", "file": "{W}/tmpfile", "ro": "{W}/rotmp",
             "empty": ""}[kind]
    if kind == "file":
        pre = ("echo x > {W}/tmpfile",)
    if kind == "ro":
        pre = ("mkdir -p {W}/rotmp", *_ro("{W}/rotmp"))
    return Fault(f"TMPDIR {kind}", env={"TMPDIR": value}, pre=pre)


def umask(rng: random.Random) -> Fault:
    value = rng.choice(["000", "077", "777", "027", "222"])
    return Fault(f"umask {value}", limits=(f"umask {value}",))


def nofile(rng: random.Random) -> Fault:
    value = rng.choice([24, 32, 48, 64, 128])
    return Fault(f"ulimit -n {value}", limits=(f"ulimit -n {value}",),
                 allows=frozenset({HOSTERR, LOST}), wants="many")


def threads(rng: random.Random) -> Fault:
    value = rng.choice([4, 8, 12, 20, 40])
    return Fault(f"pids.max {value}", pids_max=value, allows=frozenset({HOSTERR, LOST}),
                 wants="many")


def memory(rng: random.Random) -> Fault:
    # Not below: at 400 MiB a native dependency's allocation fails and it aborts the
    # process (SIGABRT, "memory allocation of 1 bytes failed"), which nothing can catch.
    value = rng.choice([600, 900, 1500])
    return Fault(f"ulimit -v {value}M", limits=(f"ulimit -v {value * 1024}",),
                 allows=frozenset({HOSTERR, LOST}), wants=rng.choice(["many", None]))


def stack(rng: random.Random) -> Fault:
    value = rng.choice([256, 512, 1024, 2048])  # below, the interpreter itself crashes
    return Fault(f"ulimit -s {value}", limits=(f"ulimit -s {value}",),
                 wants=rng.choice(["many", None]))


def fsize(rng: random.Random) -> Fault:
    value = rng.choice([1, 4, 16])
    # `history` reads its database in WAL mode: the shared-memory file it needs is 32 KiB,
    # so under a smaller limit the database is unusable (exit 2, one line naming it).
    return Fault(f"ulimit -f {value}", limits=(f"ulimit -f {value}",),
                 allows=frozenset({LOST}), exit2_for=frozenset({"history"}))


def streams(rng: random.Random) -> Fault:
    kind = rng.choice(["<&-", ">&-", "2>&-", "<&- >&- 2>&-", ">&- 2>&-", ">/dev/full",
                       "2>/dev/full", ">/dev/full 2>/dev/full", "<&- >&-", "</dev/full"])
    allows = set()
    if ">" in kind.replace("2>", ""):
        allows |= {NOOUT, LOST}
    if "2>" in kind:
        allows.add(NOERR)
    return Fault(f"streams {kind}", redirect=kind, allows=frozenset(allows))


def terminal(rng: random.Random) -> Fault:
    env: dict[str, str | None] = {}
    env["TERM"] = rng.choice([None, "dumb", "xterm-256color", "", "vt52"])
    for var in rng.sample(["COLUMNS", "LINES"], rng.randint(1, 2)):
        env[var] = rng.choice(["0", "-1", "99999999999", "abc", "", "1", "3"])
    shown = " ".join(f"{k}={v!r}" for k, v in env.items())
    return Fault(f"terminal {shown}", env=env, allows=frozenset({OUTPUT}))


def tz(rng: random.Random) -> Fault:
    value = rng.choice(["Nowhere/Land", ":/etc/passwd", "UTC+99", "", "EST5EDT",
                        "Pacific/Kiritimati", "../../../etc/passwd", "<+14>-14"])
    return Fault(f"TZ={value!r}", env={"TZ": value})


def reports(rng: random.Random) -> Fault:
    kind = rng.choice(["file", "dangling", "ro", "full", "ro-parent", "dangling-dir"])
    allows = frozenset({EXIT2, NOREAD})
    if kind == "file":
        return Fault("reports dir a file", pre=("echo x > {W}/outfile",), out="{W}/outfile",
                     allows=allows)
    if kind == "dangling":
        return Fault("reports dir a dangling symlink", pre=("ln -s {W}/nowhere/x {W}/outlink",),
                     out="{W}/outlink", allows=allows)
    if kind == "dangling-dir":
        return Fault("reports dir a symlink to a missing dir",
                     pre=("ln -s {W}/later {W}/outlink",), out="{W}/outlink",
                     allows=frozenset({EXIT2}))
    if kind == "ro":
        return Fault("reports dir read-only", pre=("mkdir -p {W}/roout", *_ro("{W}/roout")),
                     out="{W}/roout", allows=allows)
    if kind == "ro-parent":
        return Fault("reports dir under a read-only dir",
                     pre=("mkdir -p {W}/roparent", *_ro("{W}/roparent")),
                     out="{W}/roparent/out", allows=allows)
    return Fault("reports dir full", pre=(
        "mkdir -p {W}/full", "mount -t tmpfs -o size=64k tmpfs {W}/full",
        "dd if=/dev/zero of={W}/full/filler bs=4k 2>/dev/null || true"),
        out="{W}/full", allows=frozenset({LOST, EXIT2}))


def agent(rng: random.Random) -> Fault:
    kind = rng.choice(["missing", "file", "dir", "closes", "empty", "silent"])
    pre: tuple[str, ...] = ()
    value = {"missing": "{W}/noagent", "file": "{W}/agentfile", "dir": "{W}",
             "closes": "{W}/agent.sock", "silent": "{W}/agent.sock", "empty": ""}[kind]
    if kind == "file":
        pre = ("echo x > {W}/agentfile",)
    if kind in ("closes", "silent"):
        pre = (f"{{PY}} -c {shlex.quote(_AGENT.format(mode=kind))} {{W}}/agent.sock &",
               "for i in $(seq 50); do [ -S {W}/agent.sock ] && break; sleep 0.1; done")
    return Fault(f"SSH_AUTH_SOCK {kind}", env={"SSH_AUTH_SOCK": value}, pre=pre)


# A stand-in agent: accepts and closes at once, or accepts and never answers.
_AGENT = ("import socket, sys, time\n"
          "s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64)\n"
          "held = []\n"
          "while True:\n"
          "    c, _ = s.accept()\n"
          "    held.append(c) if '{mode}' == 'silent' else c.close()\n")


def ansible_config(rng: random.Random) -> Fault:
    kind = rng.choice(["dir", "missing", "garbage", "empty-dir-cfg", "devnull", "fifo"])
    pre: tuple[str, ...] = ()
    value = {"dir": "{W}/cfgdir", "missing": "{W}/nocfg", "garbage": "{W}/garbage.cfg",
             "empty-dir-cfg": "{W}/cfgdir2", "devnull": "/dev/null",
             "fifo": "{W}/fifo.cfg"}[kind]
    if kind == "fifo":
        pre = ("mkfifo {W}/fifo.cfg",)
    if kind == "dir":
        pre = ("mkdir -p {W}/cfgdir",)
    if kind == "garbage":
        pre = ("head -c 2000 /dev/urandom > {W}/garbage.cfg",)
    if kind == "empty-dir-cfg":
        pre = ("mkdir -p {W}/cfgdir2/ansible.cfg",)
    return Fault(f"ANSIBLE_CONFIG {kind}", env={"ANSIBLE_CONFIG": value}, pre=pre,
                 allows=frozenset({EXIT2}))


def path(rng: random.Random) -> Fault:
    value = rng.choice([None, "", "/nonexistent", "{W}", "/usr/bin", ".:"])
    return Fault(f"PATH={value!r}", env={"PATH": value}, allows=frozenset({HOSTERR}))


def pywarnings(rng: random.Random) -> Fault:
    value = rng.choice(["error", "always", "error::DeprecationWarning", "default"])
    return Fault(f"PYTHONWARNINGS={value}", env={"PYTHONWARNINGS": value},
                 allows=frozenset({OUTPUT}))


def xdg(rng: random.Random) -> Fault:
    kind = rng.choice(["file", "missing", "dir-cfg"])
    pre: tuple[str, ...] = ()
    if kind == "file":
        pre = ("echo x > {W}/xdgfile",)
    if kind == "dir-cfg":
        pre = ("mkdir -p {W}/xdg/fleetcheck/fleetcheck.yml",)
    value = {"file": "{W}/xdgfile", "missing": "{W}/noxdg", "dir-cfg": "{W}/xdg"}[kind]
    return Fault(f"XDG_CONFIG_HOME {kind}", env={"XDG_CONFIG_HOME": value}, pre=pre,
                 allows=frozenset({EXIT2}))


def step_summary(rng: random.Random) -> Fault:
    kind = rng.choice(["dir", "missing-parent", "full", "ro", "devnull"])
    pre: tuple[str, ...] = ()
    value = {"dir": "{W}", "missing-parent": "{W}/no/such/summary.md", "full": "/dev/full",
             "ro": "{W}/rosum/summary.md", "devnull": "/dev/null"}[kind]
    if kind == "ro":
        pre = ("mkdir -p {W}/rosum", "echo '# before' > {W}/rosum/summary.md", *_ro("{W}/rosum"))
    return Fault(f"GITHUB_STEP_SUMMARY {kind}", env={"GITHUB_STEP_SUMMARY": value}, pre=pre,
                 allows=frozenset({LOST}))


def passwd(rng: random.Random) -> Fault:
    """Running as a uid the password database does not know (a container's random uid)."""
    home = rng.choice(["keep", "unset"])
    # nss-systemd makes up root (home /root) when the files lack it: files only, so the
    # run really finds no home (and never writes to the machine's /root).
    pre = ("grep -v '^root:' /etc/passwd > {W}/passwd.nouser",
           "mount --bind {W}/passwd.nouser /etc/passwd",
           "printf 'passwd: files\\ngroup: files\\nshadow: files\\n' > {W}/nsswitch.conf",
           "mount --bind {W}/nsswitch.conf /etc/nsswitch.conf")
    env: dict[str, str | None] = {"HOME": None, "USER": None, "LOGNAME": None} \
        if home == "unset" else {"USER": None, "LOGNAME": None}
    return Fault(f"no passwd entry, HOME {home}", pre=pre, env=env,
                 allows=frozenset({HOSTERR, EXIT2}) if home == "unset" else frozenset(),
                 home_only=True)


def proc(rng: random.Random) -> Fault:
    """No /proc (a minimal container): the local connection has no socket tables to read."""
    return Fault("/proc hidden", pre=("mount -t tmpfs -o mode=555 tmpfs /proc",),
                 allows=frozenset({HOSTERR}))


def colour(rng: random.Random) -> Fault:
    var = rng.choice(["NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"])
    value = rng.choice(["", "1", "0", "yes", "\x1b[31m"])
    return Fault(f"{var}={value!r}", env={var: value})


KINDS: dict[str, Callable[[random.Random], Fault]] = {
    f.__name__: f for f in (locale, ioencoding, home, known_hosts, cwd, tmpdir, umask, nofile,
                            threads, memory, stack, fsize, streams, terminal, tz, reports,
                            agent, ansible_config, path, pywarnings, xdg, step_summary,
                            passwd, proc, colour)}


def draw(rng: random.Random) -> list[Fault]:
    """One to three faults of different kinds."""
    kinds = rng.sample(sorted(KINDS), rng.choice([1, 1, 2, 2, 3]))
    return [KINDS[k](rng) for k in kinds]
