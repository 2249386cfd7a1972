"""ansible.cfg and ANSIBLE_* read as ansible-core reads them: `ansible-config dump` is the oracle.

Each case writes real files (an ansible.cfg where ANSIBLE_CONFIG, the working directory
or HOME puts it) and runs the real `ansible-config dump` and `fleetcheck config` in the
same environment; every value fleetcheck takes from Ansible must be the one Ansible
resolves, from the same file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.config.settings import SETTINGS
from tests import ahead
from tests.config.ansible_keys import listing
from tests.config.dump_batch import batch, start
from tests.conftest import REPO, run_cli
from tests.inventory.oracle import require_ansible

CFG = """\
[defaults]
inventory = hosts.ini, more/other.yml
remote_user = deploy
private_key_file = keys/id_ed25519
host_key_checking = False
forks = 25
timeout = 7
vault_password_file = ~/vault.txt
vault_identity_list = prod@pw-prod, dev@pw-dev
gathering = smart ; an Ansible key fleetcheck does not read: left alone
[privilege_escalation]
become = yes
become_user = admin
become_method = su
[ssh_connection]
ssh_args = -o ControlMaster=no
ssh_common_args = -o ProxyJump=bastion
ssh_extra_args = -o ServerAliveInterval=5
pipelining = true
"""
SSH_OPTIONS = {"ssh_args", "ssh_common_args", "ssh_extra_args"}
# what fleetcheck's connection takes from ansible-core's ssh plugin options (not the base ones)
FROM_SSH_PLUGIN = {*SSH_OPTIONS, "timeout", "host_key_checking"}


@dataclass
class Case:
    """Where the ansible.cfg goes, and the environment on top of HOME."""

    name: str
    place: str  # "env-file", "env-dir", "cwd", "home", "none"
    text: str = CFG
    environ: dict[str, str] = field(default_factory=dict)


CASES = [
    Case("env-file", "env-file"),
    Case("env-dir", "env-dir"),
    Case("cwd", "cwd"),
    Case("home", "home"),
    Case("none", "none"),
    Case("env-wins", "cwd", environ={"ANSIBLE_REMOTE_USER": "envuser", "ANSIBLE_FORKS": "3",
                                     "ANSIBLE_HOST_KEY_CHECKING": "yes",
                                     "ANSIBLE_INVENTORY": "a.ini,b.ini",
                                     "ANSIBLE_SSH_COMMON_ARGS": "-J jump",
                                     "ANSIBLE_INVENTORY_IGNORE": ".j2, .orig",
                                     "ANSIBLE_INVENTORY_IGNORE_REGEX": "^old-,draft",
                                     "ANSIBLE_HOST_PATTERN_MISMATCH": "ignore"}),
    Case("inventory-ignore", "cwd", text="[defaults]\ninventory_ignore_extensions = .bak, "
                                         "'.j2'\ninventory_ignore_patterns = ^old-\n"),
    Case("inventory-section", "home", text="[inventory]\nignore_extensions = .j2\n"
                                           "ignore_patterns = ^old-, draft\n"
                                           "host_pattern_mismatch = error\n"),
    Case("both-sections", "cwd", text="[defaults]\ninventory_ignore_extensions = .bak\n"
                                      "[inventory]\nignore_extensions = .j2\n"),
    Case("last-wins", "cwd", text="[defaults]\ntimeout = 7\nhost_key_checking = true\n"
                                  "[ssh_connection]\ntimeout = 9\nhost_key_checking = false\n"),
    Case("last-env-wins", "cwd", text="[defaults]\ntimeout = 7\n",
         environ={"ANSIBLE_TIMEOUT": "3", "ANSIBLE_SSH_TIMEOUT": "4"}),
    Case("lenient", "cwd", text="[defaults]\nhost_key_checking = maybe\nforks = 7.0\n"
                                "remote_user = 'quoted'\n[privilege_escalation]\nbecome = on\n"),
    # found by test_ansible_cfg_random: Ansible's words, paths and lists exactly as it reads them
    Case("as-written", "cwd", text="[DEFAULT]\nforks = 3\nbecome = yes\n[defaults]\n"
                                   "host_key_checking = 1.0\nprivate_key_file = 'keys/k'\n"
                                   "inventory = a.ini, ,'b.ini'\nremote_user = \"a\\\"\n"
                                   "inventory_ignore_patterns = x, , \"y\"\n"
                                   "[inventory]\nhost_pattern_mismatch = 'error'\n",
         environ={"ANSIBLE_REMOTE_PORT": ""}),
]


def _place(case: Case, root: Path) -> tuple[Path, dict[str, str]]:
    """Write the case's files under `root`; the working directory and environment to use."""
    cwd, home = root / "cwd", root / "home"
    for d in (cwd, home, root / "etc", home / "tmp"):
        d.mkdir(parents=True, exist_ok=True)
    environ = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(home),
               "LC_ALL": "C.UTF-8", "ANSIBLE_LOCAL_TEMP": str(home / "tmp"), **case.environ}
    target = {"env-file": root / "etc" / "site.cfg", "env-dir": root / "etc" / "ansible.cfg",
              "cwd": cwd / "ansible.cfg", "home": home / ".ansible.cfg"}.get(case.place)
    if target is not None:
        target.write_text(case.text)
    if case.place == "env-file":
        environ["ANSIBLE_CONFIG"] = str(root / "etc" / "site.cfg")
    elif case.place == "env-dir":
        environ["ANSIBLE_CONFIG"] = str(root / "etc")
    return cwd, environ


def dumped(cwd: Path, environ: dict[str, str]) -> list[Any]:
    """`ansible-config dump` and its `-t connection`, each as JSON, in `cwd` and `environ`."""
    runs = batch([{"cwd": str(cwd), "environ": environ, "argsets": [[], ["-t", "connection"]]}])
    return [_answer(run) for run in runs[0]]


def _answer(run: dict[str, Any]) -> Any:
    assert run["code"] == 0, run["err"]
    return json.loads(run["out"])


def _theirs(cwd: Path, environ: dict[str, str]) -> dict[str, tuple[Any, str]]:
    """ansible-core's (value, origin) of each setting fleetcheck reads, by fleetcheck's name."""
    return theirs_from(*dumped(cwd, environ))


def theirs_from(base_dump: Any, connection_dump: Any) -> dict[str, tuple[Any, str]]:
    """(value, origin) by fleetcheck's name, from `ansible-config dump` and its `-t connection`."""
    base = {e["name"]: e for e in base_dump if "name" in e}
    ssh = next(opts for block in connection_dump
               for plugin, opts in block.items() if plugin == "ssh")
    by_option = {o["name"]: o for o in ssh}
    out: dict[str, tuple[Any, str]] = {}
    for s in SETTINGS:
        entry = by_option.get(s.name) if s.name in FROM_SSH_PLUGIN else base.get(s.ansible or "")
        if entry is not None:
            out[s.name] = (entry["value"], entry["origin"])
    return out


def disagreements(theirs: dict[str, tuple[Any, str]], ours: dict[str, Any]) -> list[str]:
    """Where `fleetcheck config --format json`'s settings differ from ansible-core's."""
    found = []
    for name, (value, origin) in theirs.items():
        mine = ours[name]
        if name in SSH_OPTIONS and origin == "default":
            if mine["value"] is not None:  # Ansible's default ssh_args mean nothing here
                found.append(f"{name}: {mine!r}, Ansible's default")
            continue
        expected = value
        if name == "timeout" and origin == "default":
            expected = None  # unset: ssh_config's ConnectTimeout, else 10 (Ansible's 10)
        if name == "forks" and origin == "default":
            expected = 10  # fleetcheck's default (Ansible's is 5)
        if name == "inventory" and origin == "default":
            expected = []  # without -i: this machine, not /etc/ansible/hosts
        if mine["value"] != expected:
            found.append(f"{name}: {mine!r}, Ansible: {value!r} from {origin}")
        elif origin == "default":
            if mine["origin"] != "default":
                found.append(f"{name}: from {mine['origin']}, Ansible's default")
        elif origin.startswith("env: "):
            if mine["origin"] != f"env {origin[5:]}":
                found.append(f"{name}: from {mine['origin']}, Ansible: from {origin}")
        elif not mine["origin"].startswith(origin + ":"):  # ansible-config names the file only
            found.append(f"{name}: from {mine['origin']}, Ansible: from {origin}")
    return found


@pytest.fixture(scope="module")
def placed(tmp_path_factory: pytest.TempPathFactory,
           ) -> dict[str, tuple[Path, dict[str, str], list[dict[str, Any]]]]:
    """Each case's files written, with its working directory, environment and the runs of
    `ansible-config dump` and its `-t connection` there (every case in one batch)."""
    require_ansible()
    placed: dict[str, tuple[Path, dict[str, str], list[dict[str, Any]]]] = ahead.take(
        __name__, tmp_path_factory, ask_ahead)
    return placed


def ask_ahead(root: Path) -> Callable[[], dict[str, tuple[Path, dict[str, str],
                                                       list[dict[str, Any]]]]]:
    """`placed`'s files written under `root`, its batch started in the background
    (tests/ahead.py)."""
    where = [_place(case, root / case.name) for case in CASES]
    pending = start([{"cwd": str(cwd), "environ": environ,
                      "argsets": [[], ["-t", "connection"]]} for cwd, environ in where],
                    root, background=True)
    return lambda: {case.name: (cwd, environ, done) for case, (cwd, environ), done
                    in zip(CASES, where, pending(), strict=True)}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_settings_resolve_as_ansible_config_dump_says(
        placed: dict[str, tuple[Path, dict[str, str], list[dict[str, Any]]]], case: Case) -> None:
    cwd, environ, runs = placed[case.name]
    theirs = theirs_from(*(_answer(run) for run in runs))
    res = run_cli(["config", "--format", "json"], cwd=cwd, environ=environ)
    assert res.code == 0, res.err
    assert theirs, "the oracle must answer"
    assert disagreements(theirs, {s["name"]: s for s in json.loads(res.out)["settings"]}) == []


def test_a_world_writable_directory_is_no_ansible_cfg_source(tmp_path: Path) -> None:
    require_ansible()
    cwd, environ = _place(Case("public", "cwd"), tmp_path)
    cwd.chmod(0o777)  # as /tmp is (without the sticky bit mattering)
    try:
        theirs = _theirs(cwd, environ)
        res = run_cli(["config", "--format", "json"], cwd=cwd, environ=environ)
    finally:
        cwd.chmod(0o755)
    assert theirs["remote_user"] == (None, "default")
    assert json.loads(res.out)["ansible_cfg"] is None
    assert res.err == (f"fleetcheck: warning: Ansible is being run in a world writable directory "
                       f"({cwd}), ignoring it as an ansible.cfg source\n")


@pytest.mark.parametrize(("text", "where", "message"), [
    ("[defaults]\nremote_usr = deploy\n", "2",
     "[defaults] remote_usr: unknown key (did you mean 'remote_user'?) (neither ansible-core "
     "nor fleetcheck knows it)"),
    ("[privilege_escalation]\nbecome_mehod = su\n", "2",
     "[privilege_escalation] become_mehod: unknown key (did you mean 'become_method'?) "
     "(neither ansible-core nor fleetcheck knows it)"),
    ("[defaults]\n\nforks = many\n", "3",
     "[defaults] forks: forks must be a whole number, not 'many'"),
    ("[defaults]\nremote_user = a\nremote_user = b\n", "3",
     "cannot read ansible.cfg: While reading from '{cfg}' [line  3]: option 'remote_user' in "
     "section 'defaults' already exists"),
    ("remote_user = a\n", "1", "cannot read ansible.cfg: File contains no section headers."),
    # ansible-core's DEFAULT_TIMEOUT reads [defaults] only, and refuses it under a good one
    ("[defaults]\ntimeout = x\n[ssh_connection]\ntimeout = 5\n", "2",
     "[defaults] timeout: timeout must be a whole number, not 'x'"),
    ("[defaults]\n[inventory]\nhost_pattern_mismatch = Error\n", "3",
     "[inventory] host_pattern_mismatch: host_pattern_mismatch must be one of warning, error, "
     "ignore, not 'Error'"),
    # An editor's indentation: configparser takes an indented header or first key (the line
    # was 0); a line indented under a key continues its value, and is no key of its own.
    ("\t[defaults]\n\tforks = many\n", "2",
     "[defaults] forks: forks must be a whole number, not 'many'"),
    ("[defaults]\r\n  remote_user = a\r\n\t\t\tforks = 2\r\n\r\nforks = many\r\n", "5",
     "[defaults] forks: forks must be a whole number, not 'many'"),
])
def test_a_typo_in_ansible_cfg_is_a_located_error(tmp_path: Path, text: str, where: str,
                                                  message: str) -> None:
    (tmp_path / "ansible.cfg").write_text(text)
    environ = {"HOME": str(tmp_path / "home")}
    cfg = tmp_path / "ansible.cfg"
    for argv in (["config"], ["validate"], ["inventory", "--list"]):
        res = run_cli(argv, cwd=tmp_path, environ=environ)
        assert (res.code, res.out) == (2, ""), argv
        assert res.err == f"fleetcheck: error: {cfg}:{where}: {message.format(cfg=cfg)}\n"


def test_keys_of_ansible_and_its_plugins_are_no_typos(tmp_path: Path) -> None:
    (tmp_path / "ansible.cfg").write_text(
        "[defaults]\nremote_port = 2222\nremote_tmp = /tmp/x\nroles_path = roles\n"
        "[ssh_connection]\nretries = 3\ncontrol_path = %%(directory)s/x\n"
        "[colors]\nanything = goes\n")
    res = run_cli(["config"], cwd=tmp_path, environ={"HOME": str(tmp_path)})
    assert res.code == 0, res.err


def test_an_environment_value_of_the_wrong_type_names_the_variable(tmp_path: Path) -> None:
    res = run_cli(["config"], cwd=tmp_path, environ={"HOME": str(tmp_path),
                                                     "ANSIBLE_FORKS": "lots"})
    assert (res.code, res.err) == (2, "fleetcheck: error: environment variable ANSIBLE_FORKS: "
                                      "forks must be a whole number, not 'lots'\n")


def test_the_shipped_list_of_ansible_keys_is_current(tmp_path: Path) -> None:
    require_ansible()
    shipped = (REPO / "fleetcheck" / "data" / "ansible_cfg_keys.txt").read_text()
    assert shipped == listing(tmp_path), "regenerate: python -m tests.config.ansible_keys"
