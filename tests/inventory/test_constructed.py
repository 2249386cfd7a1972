"""The constructed inventory plugin: errors are located and exit 2, failures on a host are
skipped as ansible-core skips them (or stop the run with `strict`), and the Ansible filters
and tests fleetcheck has behave as ansible-core's own (compared on generated input).

What constructed makes of a whole inventory is compared with ansible-inventory by the
oracle tests (the `constructed` case in cases.py).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleetcheck.inventory import ansible_filters
from fleetcheck.inventory.constructed import safe_group_name
from tests.conftest import run_cli
from tests.inventory.oracle import Oracle, require_ansible

HOSTS = "all:\n  hosts:\n    web1: {os: linux, n: 3}\n    db1: {os: '', n: 1}\n"


def _inventory(tmp_path: Path, config: str) -> Path:
    (tmp_path / "01-hosts.yml").write_text(HOSTS)
    (tmp_path / "02-constructed.yml").write_text("plugin: constructed\n" + config)
    return tmp_path


def _listed(tmp_path: Path, config: str) -> tuple[int, str, str]:
    res = run_cli(["inventory", "-i", str(_inventory(tmp_path, config)), "--list"],
                  cwd=tmp_path)
    return res.code, res.out, res.err


ERRORS = [
    ("strict: true\ncompose:\n  ok: n + 1\n  bad: nosuch + 1\n", 5,
     "constructed: could not set bad for host web1: 'nosuch' is undefined"),
    ("strict: true\ngroups:\n  g: \"'yes'\"\n", 4,
     "constructed: could not add host web1 to group g: the condition gave 'yes', "
     "not a boolean"),
    ("strict: true\nkeyed_groups:\n  - key: os\n  - key: nosuch\n    prefix: x\n", 5,
     "constructed: could not make a group for host web1 from 'nosuch': 'nosuch' is "
     "undefined"),
    ("strict: true\nkeyed_groups:\n  - key: os\n", 4,
     "constructed: no key or key resulted empty for 'os' in host db1"),
    ("compose:\n  x: os | to_json\n", 3,
     "constructed: compose x: No filter named 'to_json' here (fleetcheck has only "
     "Ansible's bool, ternary, regex_replace, regex_search and the match, search and regex "
     "tests); export the inventory with 'ansible-inventory --list > inventory.json' and "
     "read that file"),
    ("groups:\n  g: os is version('1', '>')\n", 3,
     "constructed: groups g: No test named 'version' here"),
    ("keyed_groups:\n  - key: os\n    parent_group: '{{ n }}'\n", 3,
     "constructed: parent_group for host web1 must be text, not 3"),
    ("use_extra_vars: perhaps\n", 2,
     "constructed: use_extra_vars must be a boolean, not 'perhaps'"),
    ("strict: maybe\n", 2, "constructed: strict must be a boolean, not 'maybe'"),
    ("compose: [x]\n", 2, "constructed: compose must be a mapping of names to expressions"),
    ("keyed_groups:\n  - key: os\n  - key: os\n    default_value: x\n"
     "    trailing_separator: false\n", 4,
     "constructed: parameters are mutually exclusive for keyed groups: "
     "default_value|trailing_separator"),
    ("strict: true\ncompose:\n  x: \"('a' * 2000) | regex_replace('', 'b' * 1000)\"\n", 4,
     "would be larger than the 1,048,576 characters a template value may hold"),
    # a pattern that is no regular expression is the expression's error, as any bad argument
    ("strict: true\ncompose:\n  d: \"inventory_hostname | regex_search('(web', '\\\\1')\"\n", 4,
     "constructed: could not set d for host web1: ValueError: regex_search: '(web' is no "
     "regular expression (missing ), unterminated subpattern at position 0)"),
    ("strict: true\ncompose:\n  d: os | regex_replace('l', '\\\\2')\n", 4,
     "regex_replace: replacement '\\\\2' cannot be used (invalid group reference 2"),
    ("strict: true\ngroups:\n  g: inventory_hostname is match('[web')\n", 4,
     "match: '[web' is no regular expression (unterminated character set"),
    ("strict: true\ngroups:\n  g: inventory_hostname is regex('a{2,1}')\n", 4,
     "regex: 'a{2,1}' is no regular expression (min repeat greater than max repeat"),
]


@pytest.mark.parametrize(("config", "line", "message"), ERRORS)
def test_a_bad_constructed_source_is_one_located_error(tmp_path: Path, config: str,
                                                       line: int, message: str) -> None:
    code, out, err = _listed(tmp_path, config)
    assert (code, out) == (2, "")
    assert err.startswith(f"fleetcheck: error: {tmp_path}/02-constructed.yml:{line}: ")
    assert message in err and err.count("\n") == 1


def test_an_unknown_option_is_ignored_with_a_warning(tmp_path: Path) -> None:
    code, out, err = _listed(tmp_path, "cache: true\ncompose:\n  m: n + 1\n")
    assert code == 0 and json.loads(out)["_meta"]["hostvars"]["web1"]["m"] == 4
    assert "02-constructed.yml:2: constructed: unknown option 'cache' is ignored" in err
    res = run_cli(["inventory", "--strict-inventory", "-i", str(tmp_path), "--list"],
                  cwd=tmp_path)
    assert res.code == 2 and "unknown option 'cache' is ignored" in res.err


@pytest.mark.parametrize("configured", [
    ("ANSIBLE_INVENTORY_USE_EXTRA_VARS", "yes"),
    ("ansible.cfg", "[inventory_plugins]\nuse_extra_vars = true\n"),
])
def test_use_extra_vars_defaults_to_ansible_configuration(tmp_path: Path,
                                                          configured: tuple[str, str]) -> None:
    (tmp_path / "inv").mkdir()
    inv = _inventory(tmp_path / "inv", "compose:\n  where: dc\nkeyed_groups:\n  - key: dc\n")
    environ: dict[str, str] = {}
    name, value = configured
    if name == "ansible.cfg":
        (tmp_path / name).write_text(value)
    else:
        environ[name] = value
    argv = ["inventory", "-i", str(inv), "--list", "-e", "dc=fra"]
    listing = json.loads(run_cli(argv, cwd=tmp_path, environ=environ).out)
    assert listing["_fra"] == {"hosts": ["web1", "db1"]}
    assert listing["_meta"]["hostvars"]["db1"]["where"] == "fra"  # -e text stays trusted
    (inv / "02-constructed.yml").write_text("plugin: constructed\nuse_extra_vars: false\n"
                                            "keyed_groups:\n  - key: dc\n")
    res = run_cli(argv, cwd=tmp_path, environ=environ)  # the source's own word wins
    assert res.code == 0 and "_fra" not in json.loads(res.out)
    unset = run_cli(argv, cwd=tmp_path / "inv")  # neither set: no extra variables
    assert unset.code == 0 and "_fra" not in json.loads(unset.out)


def test_a_scan_plans_the_groups_its_extra_vars_make(tmp_path: Path) -> None:
    inv = _inventory(tmp_path, "use_extra_vars: true\nkeyed_groups:\n  - key: dc\n"
                               "    prefix: dc\n")
    res = run_cli(["scan", "-i", str(inv), "-e", "dc=fra", "--limit", "dc_fra",
                   "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.out.split()) == (0, ["web1", "db1"]), res.err
    res = run_cli(["scan", "-i", str(inv), "--limit", "dc_fra", "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.err) == (2, "fleetcheck: warning: could not match supplied host "
                                      "pattern, ignoring: dc_fra\n"
                                      "fleetcheck: error: no hosts match the limit 'dc_fra'\n")


def test_what_fails_on_a_host_is_skipped_without_strict(tmp_path: Path) -> None:
    config = ("compose:\n  plus: nosuch + 1\n  twice: n * 2\ngroups:\n  g: \"'yes'\"\n"
              "  linux: os == 'linux'\n  broken: 'os =='\n  badre: os is search('(')\n"
              "keyed_groups:\n  - key: os\n"
              "    prefix: os\n")
    code, out, _ = _listed(tmp_path, config)
    assert code == 0
    listing = json.loads(out)
    assert "g" not in listing and "broken" not in listing and "badre" not in listing
    assert listing["linux"] == {"hosts": ["web1"]} and listing["os_linux"] == {"hosts": ["web1"]}
    hostvars = listing["_meta"]["hostvars"]
    assert hostvars["web1"]["twice"] == 6 and "plus" not in hostvars["web1"]


def test_composed_connection_variables_are_the_hosts_own(tmp_path: Path) -> None:
    config = "compose:\n  ansible_host: \"'127.0.0.' ~ n\"\n  ansible_port: n + 2200\n"
    res = run_cli(["inventory", "-i", str(_inventory(tmp_path, config)), "--host", "db1"],
                  cwd=tmp_path)
    assert res.code == 0 and '"ansible_port": 2201' in res.out
    assert '"ansible_host": "127.0.0.1"' in res.out


@pytest.mark.parametrize(("name", "safe"), [("web", "web"), ("b-c", "b_c"), ("x y.z", "x_y_z"),
                                            ("1st", "_st"), ("_ok9", "_ok9"), ("é-1", "é_1")])
def test_group_names_are_made_safe_as_ansible_makes_them(name: str, safe: str) -> None:
    from ansible.inventory.group import to_safe_group_name

    assert safe_group_name(name) == safe == to_safe_group_name(name, force=True, silent=True)


TEXT = st.text(st.sampled_from("ab1.-_ \n"), max_size=12)
PATTERN = st.sampled_from(["a", "b+", "^a", "[.]", "(a)(b)?", "", "\\d", "a|b", "$"])


@settings(max_examples=300, deadline=None)
@given(value=st.one_of(TEXT, st.integers(-2, 2), st.booleans(), st.none(),
                       st.sampled_from(["yes", "On", "TRUE", "1", "no", "y"])),
       pattern=PATTERN, text=TEXT, flags=st.booleans())
def test_the_ansible_filters_and_tests_agree_with_ansible_core(value: object, pattern: str,
                                                                text: str, flags: bool) -> None:
    from ansible.plugins.filter import core
    from ansible.plugins.test import core as tests

    assert ansible_filters.to_bool(value) == core.to_bool(value)
    assert ansible_filters.ternary(value, "t", "f") == core.ternary(value, "t", "f")
    assert ansible_filters.ternary(value, "t", "f", "n") == core.ternary(value, "t", "f", "n")
    assert ansible_filters.regex_replace(text, pattern, "<\\g<0>>", ignorecase=flags) == \
        core.regex_replace(text, pattern, "<\\g<0>>", ignorecase=flags)
    assert ansible_filters.regex_search(text, pattern, multiline=flags) == \
        core.regex_search(text, pattern, multiline=flags)
    if pattern.count("(") == 2:
        assert ansible_filters.regex_search(text, pattern, "\\2", "\\1") == \
            core.regex_search(text, pattern, "\\2", "\\1")
    for ours, theirs in ((ansible_filters.match, tests.match),
                         (ansible_filters.search, tests.search)):
        assert ours(text, pattern, ignorecase=flags) == theirs(text, pattern, ignorecase=flags)


def test_an_undefined_value_inside_a_composed_value_fails_it(tmp_path: Path) -> None:
    code, out, _ = _listed(tmp_path, "compose:\n  pair: '[os, nosuch]'\n  map: \"{'k': nosuch}\"\n"
                                     "  fine: '[os, n]'\n")
    hostvars = json.loads(out)["_meta"]["hostvars"]["web1"]
    assert code == 0 and "pair" not in hostvars and "map" not in hostvars
    assert hostvars["fine"] == ["linux", 3]


def test_vaulted_unsafe_and_templated_values_read_as_ansible_reads_them(tmp_path: Path) -> None:
    """Decrypted vault text, `!unsafe` text and a rendered template are new text to
    ansible-core (shown `__ansible_unsafe`), wherever an expression passes them."""
    require_ansible()
    oracle = Oracle(tmp_path / "o")
    (tmp_path / "pw").write_text("vault-pw\n")
    made = oracle.run("ansible-vault", ["encrypt_string", "--vault-password-file",
                                        str(tmp_path / "pw"), "secret-val", "--name", "sec"])
    assert made.code == 0, made.err
    inv = tmp_path / "inv"
    inv.mkdir()
    vaulted = "".join(f"      {line}\n" for line in made.out.splitlines())
    (inv / "01.yml").write_text("all:\n  hosts:\n    h1:\n" + vaulted +
                                "      u: !unsafe '{{ y }}'\n"
                                "      t: '{{ inventory_hostname }}-x'\n      n: 7\n")
    (inv / "02.yml").write_text("plugin: constructed\ncompose:\n  s2: sec\n  s3: sec ~ '!'\n"
                                "  u2: u\n  t2: t\n  n2: n\n  all3: '[u, t, sec, n]'\n"
                                "keyed_groups:\n  - key: sec\n    prefix: s\n")
    args = ["-i", str(inv), "--vault-password-file", str(tmp_path / "pw"), "--list"]
    theirs = oracle.run("ansible-inventory", args)
    assert theirs.code == 0, theirs.err
    ours = run_cli(["inventory", *args], cwd=tmp_path)
    assert ours.code == 0, ours.err
    assert json.loads(ours.out) == json.loads(theirs.out)
    assert json.loads(ours.out)["_meta"]["hostvars"]["h1"]["s2"] == {
        "__ansible_unsafe": "secret-val"}



@pytest.mark.parametrize("command", [["inventory", "--list"], ["scan", "--list-hosts"]])
def test_extra_vars_are_read_once_for_the_inventory_and_the_plan(tmp_path: Path,
                                                                 command: list[str]) -> None:
    """An `-e @FILE` is read once per command, so constructed (use_extra_vars) and the plan
    see the same text. The file is a FIFO fed once: a second read would wait for a writer,
    which the watchdog notices (and lets go) after 3 s."""
    inv = tmp_path / "inv"
    inv.mkdir()
    (inv / "01-hosts.ini").write_text("h1\n")
    (inv / "02-constructed.yml").write_text("plugin: constructed\nuse_extra_vars: true\n"
                                            "keyed_groups:\n  - key: tier\n    prefix: t\n")
    fifo = tmp_path / "extra.yml"
    os.mkfifo(fifo)
    blocked = threading.Event()

    def feed() -> None:
        with fifo.open("w") as f:
            f.write("tier: gold\n")

    def release() -> None:
        try:  # succeeds only while a reader waits on the FIFO: the second read
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return
        blocked.set()

    threading.Thread(target=feed, daemon=True).start()
    watchdog = threading.Timer(3, release)
    watchdog.start()
    try:
        res = run_cli([*command, "-i", str(inv), "-e", f"@{fifo}"], cwd=tmp_path)
    finally:
        watchdog.cancel()
    assert not blocked.is_set(), "-e @FILE was read twice"
    assert res.code == 0, res.err
    if command[0] == "inventory":
        listed = json.loads(res.out)
        assert listed["t_gold"]["hosts"] == ["h1"]
        assert listed["_meta"]["hostvars"]["h1"]["tier"] == "gold"
    else:
        assert res.out.split() == ["h1"]
