"""One builder per command for the bad-input fuzz tests: a workspace with damaged inputs
and the argv that reads them. Nothing here contacts a host other than this machine."""

from __future__ import annotations

import contextlib
import random
import sqlite3
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.badinput import copy_seed, damage_tree, mutate_bytes, mutate_file, odd_value
from tests.conftest import REPO

INVENTORIES = (
    REPO / "inventories" / "fleet", REPO / "inventories" / "lab.ini",
    *(REPO / "tests" / "fixtures" / "inventories" / "valid" / name for name in (
        "constructed", "constructed-vars", "constructed-extra", "formats", "generator",
        "ini-details", "multi-source", "patterns", "precedence", "yaml-details")),
)
POLICIES = (*sorted((REPO / "policies").glob("*.yml")),
            REPO / "fleetcheck" / "data" / "baseline.yml")
EXTRA_VARS = REPO / "tests" / "fixtures" / "inventories" / "extra-vars.yml"
TOOL_OUTPUTS = tuple(sorted((REPO / "tests" / "fixtures").glob("*/*.out")))
TOOLS = ("bsd-netstat", "busybox-netstat", "lsof", "lsof-fields", "netstat", "powershell",
         "proc-net", "sockstat", "solaris-netstat", "ss", "windows-netstat", "auto")

WAIVERS = b"""waivers:
  - id: WEB-1
    hosts: web
    proto: tcp
    port: 8080
    process: gunicorn
    reason: Legacy app server exposed until the nginx migration.
    ticket: OPS-1234
    owner: alice
    approved_by: bob
    created: 2026-01-15
    expires: 2036-12-31
  - id: DB-2
    hosts: [databases]
    port: 5432-5433
    reason: Replication.
    owner: carol
    approved_by: dave
    created: 2026-02-01
    expires: 2036-01-01
"""
FLEETCHECK_YML = b"""policies: [policies]
waivers: [waivers.yml]
output_dir: reports
formats: [text, json]
command_timeout: 120
fail_on: high
strict_inventory: false
"""
ANSIBLE_CFG = b"""[defaults]
inventory = hosts.ini
remote_user = ops
private_key_file = ~/.ssh/id_ed25519
host_key_checking = False
forks = 20
remote_port = 2222
timeout = 15
[privilege_escalation]
become = true
become_user = root
become_method = sudo
[ssh_connection]
ssh_args = -o ControlMaster=auto
[inventory]
ignore_extensions = .bak, .orig
host_pattern_mismatch = warning
"""
SSH_CONFIG = b"""Host web* !web3
    User ops
    Port 2222
    ConnectTimeout 1m30s
    IdentityFile ~/.ssh/id_%h
    StrictHostKeyChecking accept-new
Match host db* user root
    HostName %h.internal
    ProxyJump jump1:22,jump2
Host *
    ConnectionAttempts 2
    UserKnownHostsFile "/a b" /c
    ServerAliveInterval 5
"""
# Odd values for an argument: empty, '-', blank, a lone surrogate as Python decodes an
# invalid UTF-8 argv byte, a control character, a huge number, a path that is a directory.
ODD_ARGS = ("", "-", " ", "--", "\udcff", "a\x1bb", "99999999999999999999", "-1", "0", ".",
            "all", "nan", "1e999", "web[", "~[", "@", "@missing", "a,b:22,", "::1", ":", "!",
            "&", "é", "x" * 5000)


@dataclass(frozen=True)
class Seeds:
    """A real run (JSON) of this machine and its evidence bundle, and a history database."""

    run: Path
    bundle: Path
    history: Path


Case = tuple[list[str], list[Path]]


def _inventory(rnd: random.Random, ws: Path, damage: bool = True) -> tuple[list[str], list[Path]]:
    seed = rnd.choice(INVENTORIES)
    inv = copy_seed(seed, ws / seed.name)
    touched = damage_tree(inv, rnd, rnd.choice([1, 1, 2])) if damage else []
    return ["-i", inv.name], touched


def _maybe_limit(rnd: random.Random, argv: list[str]) -> None:
    if rnd.random() < 0.3:
        argv += ["-l", rnd.choice(["web", "all:!db", "web[0]", "~web\\d+", "fra*", "@lim.txt",
                                  *ODD_ARGS])]


def _maybe_extra_vars(rnd: random.Random, ws: Path, argv: list[str],
                      touched: list[Path]) -> None:
    roll = rnd.random()
    if roll < 0.15:
        ev = copy_seed(EXTRA_VARS, ws / "ev.yml")
        ev.write_bytes(mutate_file(ev.read_bytes(), ev.name, rnd))
        argv += ["-e", "@ev.yml"]
        touched.append(ev)
    elif roll < 0.3:
        argv += ["-e", rnd.choice(["a=1", "ansible_port=x", "ansible_host=", "{a: [",
                                  "[1, 2]", "ansible_port=70000", "@", "x y=z", *ODD_ARGS])]


def validate(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`validate` over a damaged inventory, policy or waiver file."""
    pol = copy_seed(rnd.choice(POLICIES), ws / "policy.yml")
    waivers = ws / "waivers.yml"
    waivers.write_bytes(WAIVERS)
    which = rnd.randrange(3)
    argv, touched = _inventory(rnd, ws, damage=which == 0)
    if which == 1:
        pol.write_bytes(mutate_file(pol.read_bytes(), pol.name, rnd))
        touched = [pol]
    elif which == 2:
        waivers.write_bytes(mutate_file(waivers.read_bytes(), waivers.name, rnd))
        touched = [waivers]
    argv = ["validate", *argv, "-p", "policy.yml", "-w", "waivers.yml",
            *rnd.choice([[], ["--strict"], ["--format", "json"], ["--today", "2031-06-01"]])]
    _maybe_limit(rnd, argv)
    return argv, touched


def list_hosts(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`scan --list-hosts` or `inventory --list/--host/--graph/--list-hosts`."""
    argv, touched = _inventory(rnd, ws)
    command = rnd.choice([["scan", "--list-hosts"], ["inventory", "--list"],
                          ["inventory", "--list", "--export"], ["inventory", "--list-hosts"],
                          ["inventory", "--graph"], ["inventory", "--graph", "--vars"],
                          ["inventory", "--graph", rnd.choice(["web", "all", *ODD_ARGS])],
                          ["inventory", "--host", rnd.choice(["web-fra-01.example.net",
                                                              "localhost", *ODD_ARGS])]])
    argv = [*command, *argv]
    _maybe_limit(rnd, argv)
    _maybe_extra_vars(rnd, ws, argv, touched)
    if rnd.random() < 0.2:
        argv.append("--strict-inventory")
    return argv, touched


def _damaged_run(rnd: random.Random, ws: Path, seeds: Seeds, name: str = "run.json") -> Path:
    run = copy_seed(seeds.run, ws / name)
    run.write_bytes(mutate_file(run.read_bytes(), run.name, rnd))
    return run


def run_readers(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`report`, `explain --run`, `diff`, `merge`, `evidence` and `history import` over a
    damaged run."""
    run = _damaged_run(rnd, ws, seeds)
    good = copy_seed(seeds.run, ws / "good.json")
    formats = rnd.choice(["text", "json", "html", "junit", "csv", "csv-groups", "markdown",
                          "register", "oscal", "all", "text,json", *ODD_ARGS[:4]])
    argv = rnd.choice([
        ["report", "run.json", "--format", formats],
        ["report", "run.json", "--format", formats, "-o", "rep"],
        ["explain", "--run", "run.json", rnd.choice(["localhost", *ODD_ARGS]),
         rnd.choice(["22", "22/tcp", "ssh", "68/udp", *ODD_ARGS])],
        ["diff", *rnd.sample(["run.json", "good.json"], 2)],
        ["diff", "run.json", "good.json", "--format", "json"],
        ["merge", *rnd.sample(["run.json", "good.json"], 2), "--no-history", "-o", "m"],
        ["merge", "run.json", "--no-history", "-o", "-", "--format", "json"],
        ["evidence", "run.json", "-o", "out.zip"],
        ["history", "--history-db", "h.sqlite3", "import", "run.json"],
    ])
    return argv, [run, good]


def history(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`history` (each view and action) over a garbage, foreign or damaged database."""
    db = ws / "h.sqlite3"
    roll = rnd.randrange(5)
    if roll == 0:
        db.write_bytes(mutate_bytes(seeds.history.read_bytes(), rnd))
    elif roll == 1:
        with sqlite3.connect(db) as con:  # another application's database
            con.execute("CREATE TABLE runs (id INTEGER, x TEXT)")
            con.execute("INSERT INTO runs VALUES (1, 'y')")
        con.close()
    elif roll == 2:
        db.mkdir()
    else:
        copy_seed(seeds.history, db)
        _damage_rows(db, rnd)
    argv = ["history", "--history-db", "h.sqlite3", *rnd.choice([
        [], ["--daily"], ["--format", "json"], ["--host", rnd.choice(["localhost", *ODD_ARGS])],
        ["--since", rnd.choice(["2020-01-01", "2020-01-01T00:00:00Z", *ODD_ARGS])],
        ["--last", rnd.choice(["1", *ODD_ARGS])], ["prune", "--keep-days", "0"],
        ["prune", "--keep-days", rnd.choice(["1", *ODD_ARGS])],
        ["import", copy_seed(seeds.run, ws / "run.json").name]])]
    if rnd.random() < 0.15:  # a scan of this machine comparing with the damaged database
        argv = ["scan", "-c", "local", "--history-db", "h.sqlite3", "-o", "r", "-q",
                "--format", "json"]
    return argv, [db]


def _damage_rows(db: Path, rnd: random.Random) -> None:
    """Overwrite one column of every row of a random table with a value of another type."""
    with sqlite3.connect(db) as con:
        tables = [r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'")]
        table = rnd.choice(tables)
        columns = [r[1] for r in con.execute(f"PRAGMA table_info({table})")]
        column = rnd.choice(columns)
        value = rnd.choice([None, -1, 2**62, 1.5, "", "x", "2030-13-45", b"\xff\x00", "{",
                            "[1]", '{"a": 1}', "\udcff".encode("utf-8", "surrogatepass")])
        if rnd.random() < 0.2:
            con.execute(f"DROP TABLE {table}")
        else:
            with contextlib.suppress(sqlite3.IntegrityError):  # NOT NULL, UNIQUE: kept
                con.execute(f"UPDATE {table} SET {column} = ?",  # noqa: S608 - its own names
                            (value,))
    con.close()


def bundles(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`verify` over a damaged evidence bundle (and a damaged allowed_signers)."""
    bundle = ws / "ev.zip"
    with zipfile.ZipFile(seeds.bundle) as source:
        members = {info.filename: source.read(info) for info in source.infolist()}
    roll = rnd.randrange(4)
    if roll == 0:
        bundle.write_bytes(mutate_bytes(seeds.bundle.read_bytes(), rnd))
    else:
        name = rnd.choice(sorted(members))
        if roll == 1:
            members[name] = mutate_file(members[name], name, rnd)
        elif roll == 2:
            del members[name]
        else:
            members[rnd.choice(["../evil", "/abs", "dir/", "SHA256SUMS.sig", "é\udcff".encode(
                "utf-8", "surrogateescape").decode("utf-8", "replace"), name + "/x"])] = b"x"
        with zipfile.ZipFile(bundle, "w") as out:
            for member, data in members.items():
                out.writestr(member, data)
    argv = ["verify", "ev.zip"]
    if rnd.random() < 0.3:
        signers = ws / "signers"
        signers.write_bytes(mutate_bytes(b'ops@example.net namespaces="fleetcheck" '
                                         b"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIO1Ybg\n", rnd))
        argv += ["--allowed-signers", "signers", "-I", rnd.choice(["ops@example.net",
                                                                   *ODD_ARGS])]
        return argv, [bundle, signers]
    return argv, [bundle]


def parse(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`parse --tool T FILE` over a damaged capture of any tool."""
    out = copy_seed(rnd.choice(TOOL_OUTPUTS), ws / "capture.out")
    damage_tree(out, rnd)
    return ["parse", "--tool", rnd.choice(TOOLS), "capture.out"], [out]


def configs(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`config`, `validate` and `inventory` under a damaged ansible.cfg or fleetcheck.yml."""
    name, seed = rnd.choice([("ansible.cfg", ANSIBLE_CFG), ("fleetcheck.yml", FLEETCHECK_YML)])
    target = ws / name
    target.write_bytes(seed)
    (ws / "policies").mkdir()
    (ws / "waivers.yml").write_bytes(WAIVERS)
    (ws / "hosts.ini").write_bytes(b"[web]\nweb1\n")
    touched = damage_tree(target, rnd)
    argv = rnd.choice([["config"], ["config", "--format", "json"], ["config", "--only-changed"],
                       ["validate"], ["inventory", "--list"], ["scan", "--list-hosts"]])
    return argv, touched


def ssh_configs(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """`scan -c local` (this machine only) with a damaged ssh_config given by -F."""
    cfg = ws / "ssh_config"
    cfg.write_bytes(mutate_bytes(SSH_CONFIG, rnd))
    return ["scan", "-c", "local", "-F", "ssh_config", "--no-history", "-o", "r",
            "--format", "json", "-q"], [cfg]


def odd_argv(rnd: random.Random, ws: Path, seeds: Seeds) -> Case:
    """Any command with odd option values, options given twice and unknown choices."""
    copy_seed(seeds.run, ws / "run.json")
    command = rnd.choice([
        ["validate"], ["scan", "--list-hosts"], ["inventory", "--list"], ["config"],
        ["report", "run.json"], ["diff", "run.json", "run.json"], ["parse", "--tool", "ss", "-"],
        ["explain", "--run", "run.json", "localhost", "22"], ["history", "--history-db", "h"],
        ["verify", "run.json"], ["evidence", "run.json", "-o", "e.zip"]])
    options = ["-i", "-l", "-p", "-w", "--today", "--format", "-o", "-e", "--fail-on", "-f",
               "-T", "--retries", "--deadline", "--max-output", "--shard", "--history-db",
               "--last", "--since", "--keep-days", "--waiver-warning-days", "--baseline",
               "--vault-password-file", "--report", "--command-timeout", "--workers", "-F",
               "--known-hosts", "--color", "--host-key-checking", "--engine"]
    argv = list(command)
    for _ in range(rnd.randint(1, 3)):
        value = rnd.choice(ODD_ARGS) if rnd.random() < 0.8 else str(odd_value(rnd))
        argv += [rnd.choice(options), value]
    if rnd.random() < 0.3:
        argv += argv[-2:]  # the same option twice
    return argv, []


BUILDERS: dict[str, Callable[[random.Random, Path, Seeds], Case]] = {
    f.__name__: f for f in (validate, list_hosts, run_readers, history, bundles, parse,
                            configs, ssh_configs, odd_argv)}
