"""What exists is documented, and what is documented exists: exit codes, environment
variables, configuration settings and the kinds of host failure.

tests/test_docs_cli.py holds docs/cli.md to the commands and options; this file holds the
README, the man page, docs/configuration.md and docs/ssh.md to the tables in the code.
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import socket
from pathlib import Path

import yaml

from fleetcheck.cli.manpage import environment
from fleetcheck.config.settings import SETTINGS
from fleetcheck.errors import EXIT_MEANINGS, ErrorKind, ExitStatus
from fleetcheck.plan.variables import HONOURED_VARIABLES
from tests.conftest import REPO, run_cli
from tests.inventory.oracle import require_ansible

README = (REPO / "README.md").read_text(encoding="utf-8")
PAGE = (REPO / "docs" / "fleetcheck.1").read_text(encoding="utf-8")
CONFIGURATION = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
SSH = (REPO / "docs" / "ssh.md").read_text(encoding="utf-8")


def _section(text: str, title: str) -> str:
    start = text.index(f"\n{title}\n")
    end = text.find("\n## ", start + len(title) + 2)  # a code block's "# ..." is no heading
    return text[start:end if end != -1 else None]


def test_every_exit_code_is_in_the_readme_and_the_man_page() -> None:
    rows = dict(re.findall(r"^\| (\d+) \| (.+) \|$", _section(README, "## Exit codes"), re.M))
    assert {code: meaning.replace("`", "") for code, meaning in rows.items()} == {
        str(int(code)): meaning for code, meaning in EXIT_MEANINGS.items()}
    assert set(EXIT_MEANINGS) == set(ExitStatus)
    page = PAGE.split(".SH EXIT STATUS", 1)[1].split(".SH", 1)[0]
    assert re.findall(r"\\fB(\d+)\\fR", page) == [str(int(c)) for c in ExitStatus]


def test_every_environment_variable_read_is_in_the_man_page() -> None:
    """A variable named in the code (os.environ, a setting's env) has its line in the page."""
    read: set[str] = set()
    for path in (REPO / "fleetcheck").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        read |= set(re.findall(r'"((?:FLEETCHECK|ANSIBLE)_[A-Z0-9_]+)"', text))
        read |= set(re.findall(r'environ(?:\.get\(|\[)"([A-Z_]+)"', text))
    read -= {"HOME"}  # where ~ and ~/.ssh are, as for every program
    page = PAGE.split(".SH ENVIRONMENT", 1)[1].split(".SH", 1)[0]
    listed = re.findall(r"^\\fB(.+?)\\fR$", page, re.M)
    assert listed == [name.replace("-", "\\-") for name, _ in environment()]
    assert sorted(read - set(listed)) == []


def test_every_setting_is_in_docs_configuration() -> None:
    """Each setting's environment variables and ansible.cfg keys are in the Ansible table;
    fleetcheck's own settings are exactly the rows of the fleetcheck.yml table."""
    ansible = _section(CONFIGURATION, "## Ansible setting → fleetcheck")
    project = _section(CONFIGURATION, "## fleetcheck.yml")
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", project, re.M))
    assert rows == {s.name for s in SETTINGS if s.project}
    for setting in SETTINGS:
        table = project if setting.project else ansible
        for var in setting.env:
            assert f"`{var}`" in table, (setting.name, var)
        for section, key in setting.ini:
            assert re.search(rf"`\[{section}\]`?[^|]*?`?{key}`", table), (setting.name, key)


def test_every_failure_kind_is_in_the_outcomes_table() -> None:
    """docs/ssh.md's table names every kind a host can fail with, and no other."""
    table = _section(SSH, "## Outcomes")
    documented = set(re.findall(r"`([a-z_]+)`", " ".join(
        line.split("|")[1] for line in table.splitlines() if line.startswith("| `"))))
    # `interrupted` is a kind no host is given (an interrupted host is `not_run`); it stays
    # in the enum so that runs written with it still read
    assert documented == {k.value for k in ErrorKind} - {ErrorKind.INTERRUPTED.value}


INVENTORY = (REPO / "docs" / "inventory.md").read_text(encoding="utf-8")


def _plugin_variables(plugin: str) -> set[str]:
    """The inventory variables ansible-core's plugin `plugin` (`connection.ssh`) reads."""
    spec = importlib.util.find_spec(f"ansible.plugins.{plugin}")
    assert spec is not None and spec.origin is not None
    source = Path(spec.origin).read_text(encoding="utf-8")
    match = re.search(r'DOCUMENTATION = (?:r?""")(.*?)"""', source, re.S)
    assert match, plugin
    options = yaml.safe_load(match.group(1))["options"]
    return {v["name"] for o in options.values() for v in o.get("vars", ())
            if re.fullmatch(r"ansible_\w+", v["name"])}


def test_every_connection_variable_is_honoured_or_said_to_be_ignored() -> None:
    """docs/inventory.md names every variable of ansible-core's ssh and paramiko_ssh
    connections and sudo and su become plugins: those fleetcheck honours in its table, the
    others among those read by nobody."""
    require_ansible()
    table = _section(INVENTORY, "## Variables fleetcheck honours")
    rows = "\n".join(line.split("|")[1] for line in table.splitlines() if line.startswith("| `"))
    honoured = set(HONOURED_VARIABLES)
    assert honoured - set(re.findall(r"`(\w+)`", rows)) == set()
    ignored = table.split("read by nobody", 1)[1].split("\n\n", 1)[0]
    plugins = ("connection.ssh", "connection.paramiko_ssh", "become.sudo", "become.su")
    unread = set().union(*map(_plugin_variables, plugins)) - honoured
    named = re.findall(r"`(ansible_[\w*]+)`", ignored)  # `ansible_scp_*` names a family
    assert sorted(v for v in unread if not any(fnmatch.fnmatchcase(v, n) for n in named)) == []


CLI = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")
REPORTS = (REPO / "docs" / "reports.md").read_text(encoding="utf-8")


def test_every_list_of_the_formats_printed_on_stdout_is_whole() -> None:
    """Each sentence 'exactly one of `json`, ... is asked for' names every format a scan
    prints on stdout when it is the only one asked for, and no other."""
    from fleetcheck.render import PIPEABLE

    lists = [re.findall(r"`([a-z-]+)`", m) for text in (CLI, REPORTS)
             for m in re.findall(r"exactly one of ((?:`[a-z-]+`,?\s*(?:or\s+|and\s+)?)+)", text)]
    assert len(lists) == 3
    for listed in lists:
        assert sorted(listed) == sorted(PIPEABLE), listed


def test_the_readme_quotes_the_owner_sentence_as_reports_write_it() -> None:
    from fleetcheck.render.rows import OWNER_UNSEEN

    flat = " ".join(README.split())
    assert f'("{OWNER_UNSEEN}")' in flat



def test_every_field_docs_reports_lists_is_in_a_real_run(tmp_path: Path) -> None:
    """The fields block of docs/reports.md against a real scan of this machine (two sockets
    this test holds: one forbidden below --fail-on, one forbidden and waived) and of a host
    that refuses the connection: each record has every field named, with the documented
    status, error, waived and below_threshold values, and the exit code is the summary's."""
    block = REPORTS.split("```text\nrun:", 1)[1].split("```", 1)[0]
    fields = {name: words.split() for name, words in
              (line.split(":", 1) for line in ("run:" + block).strip().splitlines())}
    held = [socket.create_server(("0.0.0.0", 0)) for _ in range(2)]
    low, waived = (s.getsockname()[1] for s in held)
    closed = socket.create_server(("127.0.0.1", 0))
    refused = closed.getsockname()[1]
    closed.close()
    (tmp_path / "hosts.ini").write_text(
        f"localhost ansible_connection=local\ndown ansible_host=127.0.0.1 ansible_port={refused}"
        " ansible_connection=ssh\n")
    (tmp_path / "policy.yml").write_text(
        f"name: p\ndefault: allow\nforbid:\n  - {{id: low, proto: tcp, port: {low}, "
        f"severity: low}}\n  - {{id: crit, proto: tcp, port: {waived}, severity: critical}}\n")
    (tmp_path / "waivers.yml").write_text(
        f"waivers:\n  - {{id: W-1, hosts: all, port: {waived}, reason: test, owner: a, "
        "approved_by: b, created: 2026-01-01, expires: 2099-12-31}\n")
    try:
        res = run_cli(["scan", "-i", "hosts.ini", "-p", "policy.yml", "-w", "waivers.yml",
                       "--today", "2026-06-01", "--fail-on", "medium", "--format", "json",
                       "-o", "out", "--no-history", "-T", "3"], cwd=tmp_path,
                      environ={"HOME": str(tmp_path)})
    finally:
        for s in held:
            s.close()
    run = json.loads(next((tmp_path / "out").glob("fleetcheck-2*.json")).read_text())
    assert res.code == run["summary"]["exit_code"] == 3, res.err
    assert set(fields["run"]) <= set(run) and set(fields["summary"]) <= set(run["summary"])
    assert all(set(fields["input"]) <= set(f) for files in run["inputs"].values() for f in files)
    hosts = {h["name"]: h for h in run["hosts"]}
    for host in hosts.values():
        assert set(fields["host"]) <= set(host), host["name"]
        assert all(set(fields["listener"]) <= set(li) for li in host["listeners"])
        assert all(set(fields["finding"]) <= set(f) for f in host["findings"])
    down, local = hosts["down"], hosts["localhost"]
    assert (down["status"], set(down["error"]), down["listeners"]) == \
        ("unreachable", set(fields["error"]), [])
    assert (down["os"], down["collector"]) == (None, None)
    assert (local["status"], local["error"]) == ("compliant", None)
    found = {f["port"]: (f["waived"], f["waiver"], f["below_threshold"]) for f in local["findings"]}
    assert found == {low: (False, None, True), waived: (True, "W-1", False)}
