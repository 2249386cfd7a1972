"""`fleetcheck inventory` options, limits and errors, and the inventory options of scan/validate."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from fleetcheck.errors import InputError
from fleetcheck.inventory import load
from tests import ahead
from tests.conftest import REPO, run_cli
from tests.inventory.oracle import Oracle, Run, require_ansible, unmatched_terms

PATTERNS = REPO / "tests" / "fixtures" / "inventories" / "valid" / "patterns" / "hosts.ini"


def _inventory(*args: str, cwd: Path = REPO) -> tuple[int, str, str]:
    res = run_cli(["inventory", "-i", str(PATTERNS), *args], cwd=cwd)
    return res.code, res.out, res.err


@pytest.mark.parametrize(("args", "message"), [
    (["--list", "--graph"], "argument --graph: not allowed with argument --list"),
    (["--export", "--graph"], "--export goes with --list"),
    (["--list", "--vars"], "--vars goes with --graph"),
    (["--graph", "--limit", "web"], "--limit does not apply to --host or --graph"),
    (["--host", "web*"], "--host needs a pattern matching exactly one host; 'web*' matches 9"),
    (["--graph", "nosuch"], "--graph needs a group name; 'nosuch' is not a group"),
    (["--list-hosts", "--limit", "~web("], "invalid host pattern '~web(': missing ), "
                                           "unterminated subpattern at position 3"),
    (["--list", "--limit", "@missing.txt"], f"{REPO}/missing.txt: limit file not found"),
])
def test_usage_and_limit_errors(args: list[str], message: str) -> None:
    code, out, err = _inventory(*args)
    assert (code, out) == (2, "")
    assert err == f"fleetcheck: error: {message}\n"


@pytest.mark.parametrize(("limit", "hosts", "warnings"), [
    ("web,typo", "web01 web02 web03 web04 web05 web06",
     ["could not match supplied host pattern, ignoring: typo"]),
    ("web:db,app", "web01 web02 web03 web04 web05 web06 db1 db2 db3",
     ["could not match supplied host pattern, ignoring: web:db (a pattern holding ',' is split "
      "on ',' only: write 'a,b' or 'a:b', not both)"]),
    # an address or a name with a port is one term either way: no word about ',' and ':'
    ("db1,2001:db8::99,web9:2222", "db1",
     ["could not match supplied host pattern, ignoring: 2001:db8::99",
      "could not match supplied host pattern, ignoring: web9:2222"]),
    ("web[1-2]", "web02 web03",
     ["use [x:y] inclusive subscripts instead of [x-y] which has been removed (in 'web[1-2]'; "
      "still applied as [1:2])"]),
    ("web[4:2],db", "db1 db2 db3",
     ["host pattern 'web[4:2]' selects no host (the range lies outside the 6 it subscripts; "
      "Ansible ignores it silently)"]),
    ("web:&db", "", ["no hosts matched, nothing to do"]),
    # As `ansible PATTERN --list-hosts`: an index outside the group empties the whole pattern.
    ("web[7],db", "", ["no hosts matched the subscripted pattern 'web[7]': index 7 is out of "
                       "range (6 hosts); no hosts matched, nothing to do"]),
])
def test_limits_ansible_accepts_are_warnings(limit: str, hosts: str, warnings: list[str]) -> None:
    code, out, err = _inventory("--list-hosts", "--limit", limit)
    assert (code, out.split()) == (0, hosts.split())
    assert err == "".join(f"fleetcheck: warning: {w}\n" for w in warnings)
    code, out, err = _inventory("--list-hosts", "--limit", limit, "--strict-inventory")
    assert (code, out) == (2, "")
    assert err == f"fleetcheck: error: {warnings[0]} (an error under --strict-inventory)\n"


def test_an_action_is_required() -> None:
    code, _, err = _inventory()
    assert code == 2
    assert "one of the arguments --list --host --graph --list-hosts is required" in err


def test_list_hosts_prints_bare_names_in_ansible_order() -> None:
    code, out, _ = _inventory("--list-hosts", "--limit", "db,web_eu,!eu-web2")
    assert code == 0
    assert out == "db1\ndb2\ndb3\nweb01\nweb02\neu-web1\neu-web3\n"


def test_limit_file_is_relative_to_the_working_directory(tmp_path: Path) -> None:
    (tmp_path / "retry").write_text("web04\nstaging\n")
    code, out, _ = _inventory("--list-hosts", "--limit", "@retry", cwd=tmp_path)
    assert (code, out) == (0, "web04\nweb05\ndb3\n")
    res = run_cli(["validate", "-i", str(PATTERNS), "--limit", "@retry"], cwd=tmp_path)
    assert res.out.startswith("ok: 3 hosts")



def test_a_limit_files_lines_are_one_term_each(tmp_path: Path) -> None:
    """A line of an @file is one term, never split (as in ansible-core): 'web:db' there
    matches nothing, and the hint says why in the file's terms, not about ',' and ':'."""
    (tmp_path / "retry").write_text("web:db\ndb1\n")
    code, out, err = _inventory("--list-hosts", "--limit", "@retry", cwd=tmp_path)
    assert (code, out) == (0, "db1\n")
    assert err == ("fleetcheck: warning: could not match supplied host pattern, ignoring: "
                   "web:db (a limit file's lines are not split: write one term a line)\n")


def test_list_with_limit_keeps_all_order_and_groups_of_kept_hosts() -> None:
    code, out, _ = _inventory("--list", "--limit", "staging")
    document = json.loads(out)
    assert code == 0
    assert document["staging"] == {"hosts": ["web05", "db3"]}
    assert "web_eu" not in document  # no kept host there, so left out, as Ansible does
    assert document["app"] == {"children": ["web", "db"]}


def test_implicit_localhost(tmp_path: Path) -> None:
    (tmp_path / "hosts").write_text("[web]\nweb1\n")
    code, out, _ = _inventory_at(tmp_path / "hosts", "--list-hosts", "--limit", "localhost")
    assert (code, out) == (0, "localhost\n")
    code, out, _ = _inventory_at(tmp_path / "hosts", "--list-hosts")
    assert out == "web1\n"  # never part of `all`
    inventory = load([str(tmp_path / "hosts")])
    local = inventory.select("localhost")[0]
    assert local.implicit and local.vars["ansible_connection"] == "local"


def _inventory_at(path: Path, *args: str) -> tuple[int, str, str]:
    res = run_cli(["inventory", "-i", str(path), *args], cwd=path.parent)
    return res.code, res.out, res.err


def test_without_inventory_the_local_machine_is_the_inventory(tmp_path: Path) -> None:
    res = run_cli(["inventory", "--list-hosts"], cwd=tmp_path)
    assert (res.code, res.out) == (0, "localhost\n")
    res = run_cli(["inventory", "--graph"], cwd=tmp_path)
    assert res.out == "@all:\n  |--@ungrouped:\n  |  |--localhost\n"
    res = run_cli(["inventory", "--list"], cwd=tmp_path)
    assert json.loads(res.out)["_meta"]["hostvars"] == {
        "localhost": {"ansible_connection": "local"}}


def test_missing_source_and_relative_paths(tmp_path: Path) -> None:
    res = run_cli(["inventory", "-i", "nope.ini", "--list"], cwd=tmp_path)
    assert res.err == f"fleetcheck: error: {tmp_path / 'nope.ini'}: inventory source not found\n"
    (tmp_path / "hosts.ini").write_text("[web]\nw1\n")
    res = run_cli(["inventory", "-i", "hosts.ini", "-i", "extra1,extra2", "--list-hosts"],
                  cwd=tmp_path)
    assert res.out == "extra1\nextra2\nw1\n"  # `all` order: ungrouped first, as Ansible


def test_sources_record_every_file_read_for_the_audit_trail() -> None:
    inventory = load([str(REPO / "inventories" / "fleet")])
    read = {str(Path(p).relative_to(REPO / "inventories" / "fleet")) for p in inventory.sources}
    assert {"10-fra.ini", "20-iad.yml", "30-edge.ini", "group_vars/all.yml",
            "group_vars/databases/listeners.yml", "host_vars/db-fra-04.example.net.yml"} <= read
    assert "README.md" not in read


def test_scan_and_validate_take_the_inventory_options(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("unused\n")
    res = run_cli(["validate", "-i", str(PATTERNS), "-l", "app[0:2]", "--vault-password-file",
                   "pw"], cwd=tmp_path)
    assert res.code == 0 and res.out.startswith("ok: 3 hosts, 1 policy, 4 rules"), res.out


def test_policy_patterns_ignore_terms_an_inventory_lacks() -> None:
    inventory = load([str(PATTERNS)])
    assert [h.name for h in inventory.select("db,nosuch", quiet=True)] == ["db1", "db2", "db3"]
    assert inventory.select("nosuch", quiet=True) == []
    assert not inventory.warnings
    assert [h.name for h in inventory.select("db,nosuch")] == ["db1", "db2", "db3"]
    assert [str(w) for w in inventory.warnings] == [
        "could not match supplied host pattern, ignoring: nosuch"]
    strict = load([str(PATTERNS)], strict=True)
    with pytest.raises(InputError, match="could not match supplied host pattern, ignoring: "
                                         r"nosuch \(an error under --strict-inventory\)"):
        strict.select("db,nosuch")


def test_an_index_outside_its_group_stops_a_scan_before_any_host() -> None:
    """Where the pattern picks the hosts to check, as Ansible's --limit, it is an error."""
    res = run_cli(["scan", "-i", str(PATTERNS), "--limit", "web[7]", "--list-hosts"], cwd=REPO)
    assert (res.code, res.out) == (2, "")
    assert res.err == ("fleetcheck: error: no hosts matched the subscripted pattern 'web[7]': "
                       "index 7 is out of range (6 hosts)\n")


LONE = ["web,!", "&", "db:&", "!::1 db", "web,!,nosuch"]


def ask_ahead(root: Path) -> Callable[[], list[Run]]:
    """Ansible's --list-hosts of each LONE pattern, started in the background
    (tests/ahead.py)."""
    pending = Oracle(root).start([("ansible", [p, "-i", str(PATTERNS), "--list-hosts"])
                                  for p in LONE], [], background=True)
    return lambda: pending.result()[0]


@pytest.fixture(scope="module")
def lone_oracle(tmp_path_factory: pytest.TempPathFactory) -> list[Run]:
    require_ansible()
    runs: list[Run] = ahead.take(__name__, tmp_path_factory, ask_ahead)
    return runs


@pytest.mark.parametrize("n", range(len(LONE)))
def test_a_term_that_is_only_a_prefix_is_bad_input(lone_oracle: list[Run], n: int) -> None:
    """ansible-core fails on it (an internal error); fleetcheck names it, exit 2, after the
    warnings of the terms before it."""
    theirs = lone_oracle[n]
    assert theirs.code != 0 and "string index out of range" in theirs.err
    for command in ("inventory", "scan"):
        res = run_cli([command, "-i", str(PATTERNS), "--limit", LONE[n], "--list-hosts"],
                      cwd=REPO)
        prefix = "&" if "&" in LONE[n] else "!"
        assert (res.code, res.out) == (2, ""), command
        assert res.err.endswith(f"fleetcheck: error: host pattern term '{prefix}' names nothing "
                                f"('{prefix}' goes right before a host, group or pattern, as in "
                                f"'{prefix}web'; a pattern without ',' is split on ':')\n")
        assert unmatched_terms(res.err) == unmatched_terms(theirs.err), command


def test_a_scan_stopped_by_its_limit_says_what_matched_nothing_first() -> None:
    """As `ansible all --limit 'nosuch,web[7]'`: the warning, then the error."""
    for limit, error in [("nosuch,web[7]", "no hosts matched the subscripted pattern 'web[7]': "
                                           "index 7 is out of range (6 hosts)"),
                         ("nosuch,~(", "invalid host pattern '~(': missing ), unterminated "
                                       "subpattern at position 0"),
                         ("nosuch,web:&db", "no hosts match the limit 'nosuch,web:&db'")]:
        res = run_cli(["scan", "-i", str(PATTERNS), "--limit", limit, "--list-hosts"], cwd=REPO)
        assert (res.code, res.out) == (2, "")
        assert res.err.startswith("fleetcheck: warning: could not match supplied host pattern, "
                                  "ignoring: nosuch\n"), res.err
        assert res.err.endswith(f"fleetcheck: error: {error}\n"), res.err


def test_a_reserved_name_written_on_every_host_is_said_once(tmp_path: Path) -> None:
    """`port=` on a thousand host lines: one warning, where first written, with the count."""
    inv = tmp_path / "hosts"
    inv.write_text("[web]\n" + "".join(f"web{i:04d} port={2000 + i}\n" for i in range(1000)))
    res = run_cli(["inventory", "-i", str(inv), "--list"], cwd=tmp_path)
    assert res.code == 0
    assert res.err == (f"fleetcheck: warning: {inv}:2: found variable using reserved name "
                       "'port' (and in 999 more places)\n")


def test_graph_vars_with_keys_of_several_types(tmp_path: Path) -> None:
    """`1:` beside `b:` in group_vars: ansible-inventory --graph --vars crashes sorting them;
    fleetcheck lists them (numbers in order where all are numbers, else by their text)."""
    (tmp_path / "group_vars").mkdir()
    (tmp_path / "hosts.ini").write_text("[web]\nh1\n")
    (tmp_path / "group_vars" / "web.yml").write_text("1: a\nb: c\nnull: d\n")
    res = run_cli(["inventory", "-i", "hosts.ini", "--graph", "--vars"], cwd=tmp_path)
    assert res.code == 0, res.err
    assert "|  |  |--{1 = a}\n  |  |  |--{None = d}\n  |  |  |--{b = c}\n" in res.out
    (tmp_path / "group_vars" / "web.yml").write_text("10: a\n2: c\n")
    res = run_cli(["inventory", "-i", "hosts.ini", "--graph", "--vars"], cwd=tmp_path)
    assert "|--{2 = c}\n  |  |  |--{10 = a}\n" in res.out, res.out
