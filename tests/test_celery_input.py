"""`scan --engine celery` and `worker` refuse bad broker URLs and secrets that would travel
in one line (exit 2), before any broker or host is contacted, and never quote a password."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli

SECRET = "S3cret-x7"  # noqa: S105 - a test value that must never be printed


@pytest.mark.parametrize(("url", "message"), [
    (f"redis://:{SECRET}@[::1", "--broker redis://:**@[::1: not a valid URL: Invalid IPv6 URL"),
    (f"redis://fc:{SECRET}@h:port/0", "--broker redis://fc:**@h:port/0: not a valid URL: Port"),
    (f"redis://:{SECRET}@127.0.0.1:99999/0",
     "--broker redis://:**@127.0.0.1:99999/0: not a valid URL: Port out of range"),
])
@pytest.mark.parametrize("command", ["scan", "worker"])
def test_a_broker_url_that_does_not_parse_is_one_line(tmp_path: Path, url: str, message: str,
                                                      command: str) -> None:
    inv = tmp_path / "inv.ini"  # unresolvable addresses: any contact would be an error, not 2
    inv.write_text("a ansible_host=a.invalid\n")
    more = ["--engine", "celery", "-o", str(tmp_path / "out")] if command == "scan" else []
    res = run_cli([command, "-i", str(inv), "--broker", url, *more], cwd=tmp_path)
    assert res.code == 2, res.err
    assert res.err.startswith(f"fleetcheck: error: {message}"), res.err
    assert len(res.err.strip().splitlines()) == 1
    assert SECRET not in res.err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", [SECRET, SECRET[:5]])
def test_an_extra_var_a_password_is_made_of_never_travels(tmp_path: Path, value: str) -> None:
    """`-e pw=...` is no secret by its name, but the inventory makes a become password of it:
    it would cross the broker in the shard message, so it is refused like a secret."""
    inv = tmp_path / "inv.yml"
    inv.write_text("all:\n  hosts:\n    a:\n      ansible_host: a.invalid\n"
                   "      ansible_become: true\n"
                   "      ansible_become_password: \"{{ pw }}-{{ suffix }}\"\n")
    res = run_cli(["scan", "-i", str(inv), "--engine", "celery", "--broker",
                   "redis://127.0.0.1:1/0", "-e", f"pw={value}", "-e", "suffix=9",
                   "-o", str(tmp_path / "out")], cwd=tmp_path)
    assert res.code == 2, res.err
    assert res.err == ("fleetcheck: error: -e pw cannot travel to celery workers (a secret, "
                       "part of a host's password, or a vault or unsafe value): put it in the "
                       "workers' inventory\n")
    assert not (tmp_path / "out").exists()


def test_connection_settings_from_configuration_do_not_stop_a_celery_run(
        tmp_path: Path) -> None:
    """ansible.cfg's `timeout` and `private_key_file`, or ANSIBLE_HOST_KEY_CHECKING=False, are
    this machine's configuration, which each worker reads for itself: the run goes on to the
    broker (here: nothing listens, exit 2 naming it), where the same flags are refused."""
    inv = tmp_path / "inv.ini"
    inv.write_text("a ansible_host=a.invalid\n")
    key = tmp_path / "id_test"
    key.write_text("not read by the coordinator\n")
    (tmp_path / "ansible.cfg").write_text(f"[defaults]\ntimeout = 30\nprivate_key_file = {key}\n")
    base = ["scan", "-i", str(inv), "--engine", "celery", "--broker", "redis://127.0.0.1:1/0",
            "-o", str(tmp_path / "out")]
    res = run_cli(base, cwd=tmp_path, environ={"ANSIBLE_HOST_KEY_CHECKING": "False"})
    assert res.code == 2
    assert res.err.startswith("fleetcheck: error: cannot reach the broker at "), res.err
    for flag in (["-T", "5"], ["--private-key", str(key)], ["--host-key-checking", "off"]):
        res = run_cli([*base, *flag], cwd=tmp_path)
        assert res.code == 2 and "does not apply with --engine celery" in res.err, res.err


@pytest.mark.parametrize("option", [["--queue-wait", "5"], ["--shard-size", "3"],
                                    ["--queue-by", "site"]])
def test_a_celery_option_without_the_celery_engine_is_refused(tmp_path: Path,
                                                              option: list[str]) -> None:
    res = run_cli(["scan", "-c", "local", *option, "-o", str(tmp_path / "out")], cwd=tmp_path)
    assert (res.code, res.err) == (2, f"fleetcheck: error: {option[0]} is an option of "
                                      "--engine celery\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("flag", "asked"), [(["-k"], "SSH password"),
                                             (["-K"], "BECOME password"),
                                             (["--ask-key-passphrase"], "Key passphrase")])
def test_a_refused_prompt_is_never_asked(tmp_path: Path, flag: list[str], asked: str) -> None:
    """With --engine celery, -k, -K and --ask-key-passphrase are refused before they prompt:
    nobody types a secret into a run that then stops."""
    res = run_cli(["scan", "-c", "local", "--engine", "celery", "--broker",
                   "redis://127.0.0.1:1/0", *flag, "-o", str(tmp_path / "out")],
                  cwd=tmp_path, stdin="typed\n")
    assert res.code == 2 and f"{flag[0]} does not apply with --engine celery" in res.err
    assert asked not in res.err, res.err
    assert not (tmp_path / "out").exists()

