"""-e/--extra-vars read as ansible-core reads them, and winning over every host's variables.

The oracle is the real `ansible` CLI: `ansible localhost -e ... -m debug` prints what its
extra vars hold, and `ansible all -i INV -e ... -m debug` what each host's connection
variables resolve to (the debug action runs on the controller: nothing is contacted).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from fleetcheck.errors import InputError
from fleetcheck.inventory import load
from fleetcheck.inventory.extravars import read_extra_vars, split_args
from fleetcheck.plan import plan
from tests import ahead
from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, Run, require_ansible

PARSE_CASES: dict[str, list[str]] = {
    "words": ["a=1 b=\"x y\"  c=\\x41\\\\n"],
    "quotes": ["a='single quoted' b=\"dq 'inner'\" c=it\\'s d='' e=\"\""],
    "escaped equals": ["a\\=b=c d=e\\=f", "lone\\=eq"],
    "free words": ["free word", "k=v and more"],
    "newlines": ["a=1\nb=2\n\nc=3"],
    "continuation": ["a=1 \\\n b=2"],
    "spaces": ["  a=1   b=2  ", "x = y"],
    "unicode escapes": ["a=\\u00e9\\N{BULLET} b=\\t|"],
    "json": ['{"x": [1, {"y": null}], "n": 5, "t": true, "f": 1.5}'],
    "yaml": ["{x: 1, y: [a, b], z: yes}"],
    "repeat": ["a=1 b=2", "a=3", '{"b": "4"}', ""],
    "files": ["@vars.yml", "@vars.json", "c=from-kv"],
}
ERROR_CASES: dict[str, list[str]] = {
    "a file without @": ["./vars.yml"],
    "not a mapping": ["[1, 2]"],
    "unbalanced quote": ['a="open'],
    "missing file": ["@nowhere.yml"],
}
FILES = {"vars.yml": "a: from-yaml\nb: [1, 2]\nc: {d: e}\n",
         "vars.json": '{"b": "from-json", "e": null}\n'}


def _debug_keys(keys: list[str]) -> str:
    return (f'msg={{{{ vars | dict2items | selectattr("key", "in", {json.dumps(keys)}) '
            "| items2dict }}")


def _answer(run: Run) -> dict[str, Any]:
    """The JSON an ad-hoc debug printed after `=> ` (one host)."""
    assert run.code == 0, run.err
    data: dict[str, Any] = json.loads(run.out.split("=> ", 1)[1])
    return data


# Every name the cases' -e could define (what Ansible holds of them is compared whole).
NAMES = sorted({"_raw_params", "a", "b", "c", "d", "e", "f", "n", "t", "x", "y", "z", "lone",
                "a\\=b", "k", "free"})


Answers = dict[str, tuple[Path, dict[str, Run]]]


def ask_ahead(root: Path) -> Callable[[], Answers]:
    """Both oracles' answers ('parse', 'plan'), their batches started in the background
    (tests/ahead.py)."""
    parse, plan = _parse_oracle(root / "parse"), _plan_oracle(root / "plan")
    return lambda: {"parse": parse(), "plan": plan()}


def _parse_oracle(root: Path) -> Callable[[], tuple[Path, dict[str, Run]]]:
    runner = Oracle(root)
    for name, text in FILES.items():
        (runner.cwd / name).write_text(text)
    jobs = [(case, args) for case, args in {**PARSE_CASES, **ERROR_CASES}.items()]
    pending = runner.start([("ansible", ["localhost", "-m", "debug", "-a", _debug_keys(NAMES),
                                         *(x for arg in a for x in ("-e", arg))])
                            for _, a in jobs], [], background=True)
    return lambda: (runner.cwd, {case: run for (case, _), run
                                 in zip(jobs, pending.result()[0], strict=True)})


@pytest.fixture(scope="module")
def parse_oracle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Run]]:
    require_ansible()
    answers: Answers = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return answers["parse"]


@pytest.mark.parametrize("case", PARSE_CASES)
def test_extra_vars_read_as_ansible_reads_them(parse_oracle: tuple[Path, dict[str, Run]],
                                               case: str) -> None:
    cwd, runs = parse_oracle
    theirs = _answer(runs[case])["msg"]
    ours = dict(read_extra_vars(PARSE_CASES[case], str(cwd)).values)
    assert ours == theirs


@pytest.mark.parametrize("case", ERROR_CASES)
def test_what_ansible_refuses_is_bad_input(parse_oracle: tuple[Path, dict[str, Run]],
                                          case: str) -> None:
    cwd, runs = parse_oracle
    assert runs[case].code != 0
    with pytest.raises(InputError) as caught:
        read_extra_vars(ERROR_CASES[case], str(cwd))
    assert "open" not in str(caught.value)  # the -e is named, its text (maybe a secret) not


def test_jinja_blocks_and_quotes_keep_words_together() -> None:
    assert split_args("a={{ x | y }} b='1 2' c={% if x %}y{% endif %} d={# c #}", "-e #1") == \
        ["a={{ x | y }}", "b='1 2'", "c={% if x %}y{% endif %}", "d={# c #}"]


INVENTORY = """\
[web]
w1 ansible_host=192.0.2.1 ansible_user=inv ansible_port=22 ansible_become=false
w2 ansible_host=192.0.2.2 ansible_ssh_common_args='-o ProxyJump=inv-jump'

[web:vars]
ansible_become_method=sudo
dc=fra
"""
GROUP_VARS = "ansible_become_user: grp\n"
PLAN_CASES: dict[str, list[str]] = {
    "kv": ["ansible_user=cli-e ansible_port=2222 ansible_become=true"],
    "yaml and file": ['{"ansible_become": true, "ansible_become_method": "su"}', "@conn.yml"],
    "templates see -e": ["dc=ams", "ansible_host={{ inventory_hostname }}.{{ dc }}.example"],
    "later wins": ["ansible_user=first", "ansible_user=second ansible_become=yes",
                   "ansible_become=no"],
}
CONN_FILE = "ansible_become_user: from-file\nansible_ssh_common_args: -o ProxyJump=file-jump\n"
CONNECTION_VARS = ["ansible_host", "ansible_port", "ansible_user", "ansible_become",
                   "ansible_become_method", "ansible_become_user", "ansible_ssh_common_args"]


def _plan_oracle(root: Path) -> Callable[[], tuple[Path, dict[str, Run]]]:
    runner = Oracle(root)
    (runner.cwd / "hosts.ini").write_text(INVENTORY)
    (runner.cwd / "group_vars").mkdir()
    (runner.cwd / "group_vars" / "web.yml").write_text(GROUP_VARS)
    (runner.cwd / "conn.yml").write_text(CONN_FILE)
    msg = "msg={{ [" + ", ".join(f"{v} | default(None)" for v in CONNECTION_VARS) + "] }}"
    pending = runner.start([("ansible", ["all", "-i", "hosts.ini", "-m", "debug", "-a", msg,
                                         *(x for arg in args for x in ("-e", arg))])
                            for args in PLAN_CASES.values()], [], background=True)
    return lambda: (runner.cwd, dict(zip(PLAN_CASES, pending.result()[0], strict=True)))


@pytest.fixture(scope="module")
def plan_oracle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Run]]:
    require_ansible()
    answers: Answers = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return answers["plan"]


def _per_host(run: Run) -> dict[str, list[Any]]:
    assert run.code == 0, run.err
    out: dict[str, list[Any]] = {}
    for block in run.out.split("\n}\n"):
        if " | SUCCESS => " in block:
            name, body = block.split(" | SUCCESS => ")
            out[name.strip()] = json.loads(body + "\n}")["msg"]
    return out


@pytest.mark.parametrize("case", PLAN_CASES)
def test_extra_vars_win_over_every_hosts_variables(plan_oracle: tuple[Path, dict[str, Run]],
                                                   case: str) -> None:
    """The planned connection equals what ansible-core resolves with the same -e."""
    cwd, runs = plan_oracle
    theirs = _per_host(runs[case])
    extra = read_extra_vars(PLAN_CASES[case], str(cwd))
    hosts = {h.name: h for h in plan(load([str(cwd / "hosts.ini")]), [], extra_vars=extra)}
    assert set(hosts) == set(theirs) == {"w1", "w2"}
    for name, host in hosts.items():
        address, port, user, become, method, become_user, common = theirs[name]
        assert host.address == address
        assert (str(host.port) if host.port else None) == (str(port) if port else None)
        assert host.user == user
        becoming = str(become).lower() in ("true", "yes", "1")
        assert (host.become is not None) == becoming, (name, become)
        if host.become is not None:
            assert (host.become.method, host.become.user) == (method, become_user)
        assert host.ssh_args == tuple((common or "").split())


def test_an_unusable_extra_var_names_its_e(tmp_path: Path) -> None:
    (tmp_path / "hosts.ini").write_text("h1 ansible_host=192.0.2.1\n")
    res = run_cli(["scan", "-i", "hosts.ini", "-e", "x=1", "-e", "ansible_port=http",
                   "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.err) == (2, "fleetcheck: error: -e #2: host 'h1': ansible_port must "
                                      "be a port number (1-65535), not 'http'\n")
    (tmp_path / "bad.yml").write_text("# connection\nansible_become: maybe\n")
    res = run_cli(["scan", "-i", "hosts.ini", "-e", "@bad.yml", "--list-hosts"], cwd=tmp_path)
    assert res.code == 2
    assert res.err == (f"fleetcheck: error: {tmp_path / 'bad.yml'}:2:1: host 'h1': "
                       "ansible_become must be a boolean (yes/no, true/false), not 'maybe'\n")


@pytest.mark.parametrize(("sources", "limit", "hosts"), [
    (["a,b:2222,"], "all", "a\nb\n"),  # a host list's port: a variable written nowhere
    (["hosts.ini"], "localhost,w1", "localhost\nw1\n"),  # the implicit localhost's own
    (["hosts.ini"], "127.0.0.1", "127.0.0.1\n"),
])
def test_extra_vars_over_variables_without_an_origin(tmp_path: Path, sources: list[str],
                                                      limit: str, hosts: str) -> None:
    """-e over a host whose variables include some no file wrote (it was an internal error)."""
    (tmp_path / "hosts.ini").write_text("w1 ansible_host=192.0.2.1\n")
    argv = [a for s in sources for a in ("-i", s)]
    res = run_cli(["scan", *argv, "-e", "x=1", "--limit", limit, "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.out, res.err) == (0, hosts, "")
    inventory = load([str(tmp_path / s) if s == "hosts.ini" else s for s in sources])
    for host in inventory.select(limit):
        origins = dict(host.origins)  # every name it yields has an origin
        assert set(origins) <= set(host.vars)
        assert origins.get("ansible_port") is None


def test_vaulted_extra_vars_need_the_vault_password(tmp_path: Path) -> None:
    """-e @file with a !vault value is read with --vault-password-file, never shown."""
    require_ansible()
    runner = Oracle(tmp_path / "o")
    (tmp_path / "pw").write_text("vault-pw\n")
    made = runner.run("ansible-vault", ["encrypt_string", "--vault-password-file",
                                        str(tmp_path / "pw"), "become-Secr3t",
                                        "--name", "ansible_become_password"])
    assert made.code == 0, made.err
    (tmp_path / "secret.yml").write_text(made.out)
    (tmp_path / "hosts.ini").write_text("h1 ansible_connection=local\n")
    res = run_cli(["scan", "-i", "hosts.ini", "-e", "@secret.yml", "-b", "--list-hosts"],
                  cwd=tmp_path)
    assert res.code == 2 and "vault" in res.err, res.err
    extra = read_extra_vars(["@secret.yml"], str(tmp_path))
    assert "Secr3t" not in repr(extra)
    res = run_cli(["scan", "-i", "hosts.ini", "-e", "@secret.yml", "-b", "--format", "json",
                   "-o", "-", "--vault-password-file", "pw"], cwd=tmp_path)
    assert "Secr3t" not in res.out + res.err
    host = json.loads(res.out)["hosts"][0]
    assert host["name"] == "h1"
